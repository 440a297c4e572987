"""Issue 17, point 3, in chromium: after a form is sent with mistakes, focus is on the error
summary; each of its links takes the keyboard to its field; the page passes axe."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.factories import TEST_PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("starting_codes"),
]


def sign_in(page, base, user):
    page.goto(f"{base}/sign-in/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def assert_accessible(page):
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def focused(page, what: str):
    return page.evaluate(f"document.activeElement.{what}")


def test_an_empty_concern_puts_focus_on_the_summary_and_its_links_on_the_fields(
    page, live_server, red_cross_worker, cover
):
    sign_in(page, live_server.url, red_cross_worker)
    page.goto(f"{live_server.url}/referrals/{cover.pk}/")
    page.get_by_text("Raise a concern", exact=True).click()
    page.get_by_label("What is the concern?").fill("She fell last night.")
    page.get_by_role("button", name="Raise the concern").click()
    page.wait_for_load_state()

    assert page.title().startswith(f"Error: {cover.reference}")
    assert page.evaluate("document.activeElement.hasAttribute('data-error-summary')")
    summary = page.locator("[data-error-summary]")
    assert summary.get_by_role("heading").inner_text() == "There is a problem"
    # Still on the referral's page, with what was typed.
    assert page.get_by_role("heading", level=1).inner_text() == f"Referral {cover.reference}"
    assert page.get_by_label("What is the concern?").input_value() == "She fell last night."

    summary.get_by_role("link", name="Choose the organisation that must answer it.").click()
    assert focused(page, "id") == "id_addressed_to"
    summary.get_by_role("link", name="Choose how serious the concern is.").click()
    assert focused(page, "id") == "id_severity"
    assert_accessible(page)


def test_a_summary_link_opens_a_folded_form_and_goes_to_the_first_radio(
    page, live_server, icc, cover
):
    sign_in(page, live_server.url, icc)
    page.goto(f"{live_server.url}/referrals/{cover.pk}/")
    page.get_by_text("Record a new decision by the patient").click()
    page.get_by_role("button", name="Record the decision").click()
    page.wait_for_load_state()

    assert page.evaluate("document.activeElement.hasAttribute('data-error-summary')")
    # Folded again by hand: the link must open it to reach the field.
    page.evaluate("document.querySelector('#consent details').open = false")
    page.get_by_role("link", name="Choose whether the patient gave or withdrew consent.").click()
    assert focused(page, "id") == "id_decision_0"
    assert page.get_by_role("radio").first.is_visible()
    assert_accessible(page)


def test_declining_without_a_reason_focuses_the_summary_and_then_the_reason(
    page, live_server, red_cross_lead, cover
):
    sign_in(page, live_server.url, red_cross_lead)
    page.goto(f"{live_server.url}/referrals/{cover.pk}/")
    page.get_by_role("button", name="Decline").click()
    page.wait_for_url(re.compile(r"/decline/$"))

    assert page.title().startswith("Error: ")
    assert page.evaluate("document.activeElement.hasAttribute('data-error-summary')")
    page.get_by_role("link", name="Say why the referral is declined; the referrer sees it.").click()
    assert focused(page, "id") == "decline-reason"
    assert_accessible(page)
