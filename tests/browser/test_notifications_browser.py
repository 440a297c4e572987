"""The bell, the notification list and the e-mail settings in chromium; axe finds nothing."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from accounts.services_notifications import notify
from tests.factories import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def assert_accessible(page):
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def test_the_bell_leads_to_the_list_and_the_settings_and_all_are_accessible(page, live_server, icc):
    for n in (1, 2):
        notify(
            recipients=[icc], kind="referral_declined", event_key=f"referral:{n}:declined",
            title=f"R-00000{n} was declined by Eastern Red Cross", link="/notifications/",
        )  # fmt: skip
    page.goto(f"{live_server.url}/sign-in/")
    page.get_by_label("Email address").fill(icc.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Your referrals").wait_for()

    page.get_by_role("link", name="2 unread notifications").click()
    page.get_by_role("heading", name="Notifications").wait_for()
    assert_accessible(page)

    page.get_by_role("link", name="R-000001 was declined by Eastern Red Cross").click()
    page.get_by_role("link", name="1 unread notification").wait_for()
    page.get_by_role("button", name="Mark all as read").click()
    page.get_by_role("link", name="No unread notifications").wait_for()

    page.get_by_role("link", name="E-mail settings").click()
    assert page.get_by_label("An escalation").is_disabled()
    page.get_by_label("A referral declined").uncheck()
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Your e-mail choices are saved.").wait_for()
    assert not page.get_by_label("A referral declined").is_checked()
    assert_accessible(page)
