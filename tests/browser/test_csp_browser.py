"""The Content-Security-Policy breaks nothing: the pages that run the most script (htmx on the
intake, Chart.js on the dashboard) draw and work in chromium, and
chromium reports no refused script, style or image."""

import pytest

from core.nhs import synthetic_nhs_number
from tests.factories import TEST_PASSWORD, ReferralFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("starting_codes"),
]


@pytest.fixture
def refused(page):
    """Every policy violation chromium reports, from the console and from the page's own
    securitypolicyviolation events."""
    seen: list[str] = []
    page.on(
        "console",
        lambda message: seen.append(message.text)
        if "Content Security Policy" in message.text
        else None,
    )
    return seen


def sign_in(page, live_server, user, heading):
    page.goto(f"{live_server.url}/sign-in/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name=heading).wait_for()


def test_the_policy_is_sent_and_an_inline_script_does_not_run(page, live_server, refused):
    response = page.goto(f"{live_server.url}/sign-in/")
    assert "script-src 'self'" in response.headers["content-security-policy"]

    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.injected = true'; document.body.appendChild(s); }"
    )

    assert page.evaluate("window.injected === undefined")
    assert any("script" in text for text in refused)


def test_the_intake_and_the_dashboard_work_under_the_policy(
    page, live_server, icc, commissioner, home_from_hospital, refused, eager_tasks
):
    # eager_tasks: the dashboard's reports are prepared in the server's thread as it asks,
    # then its polling fills the page in, the htmx swap under the policy too.
    ReferralFactory.create_batch(2, referrer=icc, service=home_from_hospital)
    sign_in(page, live_server, icc, "Your referrals")
    page.goto(f"{live_server.url}/referrals/new/")
    page.locator("#id_nhs_number").press_sequentially(synthetic_nhs_number(77))
    page.locator("#patient-lookup").get_by_text("date of birth").first.wait_for()
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, live_server, commissioner, "Commissioning overview")
    page.goto(f"{live_server.url}/commissioner/dashboard/?date_from=2026-01-01&date_to=2027-12-31")
    page.get_by_role("heading", name="Referral split: 2 referrals").wait_for()
    assert page.evaluate("Chart.getChart('split-chart').data.datasets.length") == 3

    assert refused == []
