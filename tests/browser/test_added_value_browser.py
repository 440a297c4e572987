"""The dashboard's "Added value" section in chromium: fetched by htmx once the dashboard is on
screen, its charts drawn by the static chart script (no inline script under the CSP), its figures
in the tables beside them, and axe finds nothing to fix."""

import datetime

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone

from tests.factories import (
    TEST_PASSWORD,
    EpisodeFactory,
    GoalFactory,
    OutcomeScoreFactory,
    ReferralFactory,
    score_fields,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("starting_codes"),
]


def test_the_dashboard_fills_in_its_added_value_section(
    page, live_server, commissioner, home_from_hospital, eager_tasks
):
    started = timezone.localdate() - datetime.timedelta(days=60)
    for _ in range(5):
        referral = ReferralFactory(
            service=home_from_hospital,
            status="accepted",
            referred_at=timezone.now() - datetime.timedelta(days=61),
        )
        episode = EpisodeFactory(referral=referral, started_on=started)
        for timepoint, value, day in (
            ("baseline", 2, started),
            ("follow_up", 4, started + datetime.timedelta(days=50)),
        ):
            OutcomeScoreFactory(
                episode=episode, measure="wemwbs", timepoint=timepoint, taken_on=day,
                **score_fields("wemwbs", [value] * 14),
            )  # fmt: skip
        GoalFactory(episode=episode, outcome="met", reviewed_on=started)
    # Script errors and refusals by the Content-Security-Policy (the favicon's 404 is neither).
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: errors.append(message.text)
        if "Content Security Policy" in message.text
        else None,
    )
    page.goto(f"{live_server.url}/sign-in/")
    page.get_by_label("Email address").fill(commissioner.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Commissioning overview").wait_for()
    page.goto(f"{live_server.url}/commissioner/dashboard/")
    # The default period has no nightly snapshot here: the page says its reports are being
    # prepared (the task runs in the server's thread), polls, and reloads once they are ready.
    assert "are being prepared" in page.locator("#report-preparing").inner_text()
    assert Axe().run(page).violations_count == 0

    section = page.locator("section[aria-labelledby='added-value-heading']")
    section.get_by_text("Parity of esteem", exact=True).wait_for()
    assert section.locator("canvas[data-drawn='true']").count() == 2
    summary = section.get_by_test_id("added-value-summary")
    assert "5 of 5 (100.0%)" in summary.inner_text()
    assert "28.0 → 56.0" in section.inner_text()
    assert errors == []
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()

    section.get_by_role("link", name="Added value in full, by organisation or service").click()
    page.get_by_role("heading", name="Added value of wellbeing co-ordination").wait_for()
    assert page.locator("canvas[data-drawn='true']").count() == 2
