"""An ICC logs a referral in chromium: live remit check (htmx), override, the referral page."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from core.nhs import synthetic_nhs_number
from referrals.models import Referral
from tests.factories import TEST_PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("starting_codes"),
]


def assert_accessible(page):
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def test_an_icc_sees_the_remit_change_live_and_sends_with_an_override(
    page, live_server, icc, home_from_hospital
):
    page.goto(f"{live_server.url}/sign-in/")
    page.get_by_label("Email address").fill(icc.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Your referrals").wait_for()
    page.goto(f"{live_server.url}/referrals/new/")
    assert_accessible(page)

    # Typed key by key, as the lookup listens for keys.
    page.locator("#id_nhs_number").press_sequentially(synthetic_nhs_number(123))
    # Nobody's details are shown on a number alone: the date of birth is asked for first.
    page.get_by_text("Enter the patient's date of birth to confirm").wait_for()
    page.get_by_label("Date of birth").fill("1938-05-17")
    page.get_by_text("New to VSO Care: enter their date of birth").wait_for()
    # The lookup opened the new patient's details.
    page.get_by_label("Given name").fill("Edna")
    page.get_by_label("Family name").fill("Marsh")
    page.get_by_label("Postcode").fill("EH4 2QT")
    page.get_by_label("The patient's consent to share their details").select_option("in_person")
    # Voluntary is where an ICC refers most: it is chosen already.
    page.get_by_label("Voluntary service").select_option(
        label="Home from Hospital (Eastern Red Cross Home from Hospital)"
    )
    page.get_by_text("Choose what the patient needs to check the remit of Home from").wait_for()
    needs = page.get_by_role("group", name="What the patient needs")
    needs.get_by_label("Shopping").check()
    page.get_by_label("Urgency").select_option("soon")
    page.get_by_text("Within the remit of Home from Hospital").wait_for()

    needs.get_by_label("Personal care").check()
    page.get_by_text("Outside the remit of Home from Hospital").wait_for()
    # What the service is asked for is chosen from the needs, once they go beyond its remit.
    page.get_by_role("group", name="Ask Home from Hospital for").wait_for()
    assert_accessible(page)

    page.get_by_label("Why this referral must go").fill("No carer can come until Friday.")
    page.get_by_role("button", name="Send referral").click()

    page.get_by_role("heading", name="Referral R-").wait_for()
    referral = Referral.objects.get()
    assert referral.out_of_remit
    assert page.get_by_text("Sent outside the service's remit").is_visible()
    assert_accessible(page)


def tab_to(page, selector: str, *, limit: int = 120) -> None:
    """Press Tab until the element has focus, as a keyboard user would reach it."""
    for _ in range(limit):
        if page.evaluate(f"document.activeElement === document.querySelector('{selector}')"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


def test_the_referral_form_works_from_the_keyboard_alone(
    page, live_server, icc, home_from_hospital, patient
):
    from tests.factories import ConsentFactory, ReferralFactory

    ReferralFactory(patient=patient, referrer=icc, service=home_from_hospital)
    ConsentFactory(patient=patient)
    page.goto(f"{live_server.url}/sign-in/")
    page.keyboard.type(icc.email)  # the email field has focus when the page opens
    page.keyboard.press("Tab")
    page.keyboard.type(TEST_PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Your referrals").wait_for()
    page.goto(f"{live_server.url}/referrals/new/")

    # Find the patient by name and pick them with the keyboard.
    tab_to(page, "#patient-search")
    page.keyboard.type("Edna Mar")
    page.get_by_role("button", name="Edna Marsh").wait_for()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.get_by_text("Known to your team").wait_for()

    tab_to(page, "#id_service")  # the voluntary sector is chosen already
    page.keyboard.press("h")  # "Home from Hospital (…)"
    tab_to(page, "#id_urgency")
    page.keyboard.press("s")  # "Soon"
    tab_to(page, "input[name=needs][value=shopping]")
    page.keyboard.press("Space")
    page.get_by_text("Within the remit of Home from Hospital").wait_for()
    tab_to(page, "#send-referral")
    page.keyboard.press("Enter")

    page.get_by_role("heading", name="Referral R-").wait_for()
    referral = Referral.objects.latest("pk")
    assert referral.patient == patient
    assert referral.needs == ["shopping"]
    assert (referral.urgency, referral.service) == ("soon", home_from_hospital)


def test_the_commissioners_dashboard_draws_its_charts_and_is_accessible(
    page, live_server, commissioner, icc, home_from_hospital, eager_tasks
):
    # eager_tasks: the reports are prepared as the page asks; its polling then fills it in.
    from tests.factories import ReferralFactory

    ReferralFactory.create_batch(2, referrer=icc, service=home_from_hospital)
    ReferralFactory(referrer=icc, service=home_from_hospital, urgency="emergency")
    page.goto(f"{live_server.url}/sign-in/")
    page.get_by_label("Email address").fill(commissioner.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Commissioning overview").wait_for()

    page.goto(f"{live_server.url}/commissioner/dashboard/?date_from=2026-01-01&date_to=2027-12-31")

    page.get_by_role("heading", name="Referral split: 3 referrals").wait_for()
    assert page.evaluate("Chart.getChart('split-chart').data.datasets.length") == 3
    for chart, series in (("place-chart", 3), ("capacity-chart", 2), ("reach-chart", 1)):
        assert page.evaluate(f"Chart.getChart('{chart}').data.datasets.length") == series
    assert page.evaluate("Chart.getChart('capacity-chart').data.labels") == ["Home from Hospital"]
    assert_accessible(page)

    # The urgency breach, from its cell in the breaches table to the referral behind it.
    breaches = page.get_by_role("table", name="By organisation, service and rule")
    breaches.get_by_role("row", name="Home from Hospital").get_by_role("link", name="1").click()
    page.get_by_role(
        "heading", name="Home from Hospital: urgency above the highest accepted"
    ).wait_for()
    assert page.get_by_role("table").get_by_role("link", name="R-").count() == 1
    assert_accessible(page)
