"""Each role signs in through the real login page in chromium; axe finds nothing to fix."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from accounts.models import Role
from tests.factories import TEST_PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("starting_codes"),
]

HEADINGS = {
    Role.ICC: "Your referrals",
    Role.COMMISSIONER: "Commissioning overview",
    Role.VSO_LEAD: "Your organisation",
    Role.VSO_WORKER: "Your work",
    Role.ADMINISTRATOR: "Administration",
}


def assert_accessible(page):
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def test_the_sign_in_page_has_no_accessibility_violations(page, live_server):
    page.goto(f"{live_server.url}/sign-in/")

    assert page.get_by_role("heading", level=1).inner_text() == "Sign in to VSO Care"
    # The NHS blue theme and Bootstrap really loaded, so axe judges the page people see.
    header = "getComputedStyle(document.querySelector('.vso-header')).backgroundColor"
    assert page.evaluate(header) == "rgb(0, 94, 184)"
    assert page.evaluate("typeof bootstrap") == "object"
    assert page.evaluate("typeof htmx") == "object"
    assert_accessible(page)


def test_a_wrong_password_is_shown_without_saying_whether_the_email_exists(page, live_server, icc):
    page.goto(f"{live_server.url}/sign-in/")
    page.get_by_label("Email address").fill(icc.email)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()

    # In the error summary (issue 17) as well as above the form: the same words either way.
    summary = page.get_by_test_id("error-summary")
    assert summary.get_by_text("The email address or password is not right").is_visible()
    assert_accessible(page)


@pytest.mark.parametrize("role", list(HEADINGS))
def test_each_role_signs_in_from_the_keyboard_and_sees_its_home(
    page, live_server, user_for_role, role
):
    user = user_for_role(role)
    page.goto(f"{live_server.url}/sign-in/")

    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.keyboard.press("Enter")

    heading = page.get_by_role("heading", level=1)
    heading.wait_for()
    assert heading.inner_text() == HEADINGS[role]
    header = page.get_by_test_id("signed-in-as").inner_text()
    assert user.full_name in header and user.get_role_display() in header
    assert_accessible(page)

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in to VSO Care").wait_for()


def test_the_skip_link_is_the_first_thing_the_keyboard_reaches(page, live_server, icc):
    page.goto(f"{live_server.url}/sign-in/")
    page.get_by_label("Email address").fill(icc.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name=HEADINGS[Role.ICC]).wait_for()

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").strip() == "Skip to main content"
    page.keyboard.press("Enter")

    assert page.evaluate("document.activeElement.id") == "main-content"


def test_the_directory_and_a_specification_have_no_accessibility_violations(
    page, live_server, icc, red_cross, system
):
    from tests.factories import FrameworkFactory, ServiceFactory, SpecificationFactory

    service = ServiceFactory(organisation=red_cross, name="Home from Hospital")
    spec = SpecificationFactory(service=service, framework=FrameworkFactory(system=system))
    page.goto(f"{live_server.url}/sign-in/")
    page.get_by_label("Email address").fill(icc.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name=HEADINGS[Role.ICC]).wait_for()

    page.goto(f"{live_server.url}/directory/?need=home_help")
    assert page.get_by_role("heading", name="Home from Hospital").is_visible()
    assert_accessible(page)

    page.goto(f"{live_server.url}/commissioning/specifications/{spec.pk}/")
    assert page.get_by_text("Accepts urgent referrals and below").is_visible()
    assert_accessible(page)
