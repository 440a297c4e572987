"""The new referral form in chromium, in the order an ICC thinks: who, where to, what for, then
the remit check and Send (issue #17 point 2)."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from referrals.models import Referral
from tests.factories import TEST_PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("starting_codes"),
]

HOME_FROM_HOSPITAL = "Home from Hospital (Eastern Red Cross Home from Hospital)"
REASON = "Home from hospital, no food in."


def assert_accessible(page):
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def sign_in(page, live_server, user):
    page.goto(f"{live_server.url}/sign-in/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Your referrals").wait_for()


def tab_to(page, selector: str, *, limit: int = 80) -> None:
    """Press Tab until the element has focus: moving, not an interaction with the form."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement === document.querySelector(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


def test_an_icc_refers_a_known_patient_to_a_voluntary_service_in_at_most_five_keyboard_steps(
    page, live_server, icc, home_from_hospital, known_patient
):
    sign_in(page, live_server, icc)
    page.goto(f"{live_server.url}/referrals/new/")
    # An interaction: typing into one field, choosing one option, or one key that submits.
    interactions = 0

    tab_to(page, "#id_nhs_number")
    page.keyboard.type(known_patient.nhs_number)
    interactions += 1
    lookup = page.locator("#patient-lookup")
    lookup.get_by_text("Known to your team: Edna Marsh").wait_for()

    tab_to(page, "#id_service")  # the voluntary sector is chosen already
    page.keyboard.press("h")  # "Home from Hospital (…)"
    interactions += 1
    tab_to(page, "input[name=needs][value=shopping]")
    page.keyboard.press("Space")
    interactions += 1
    page.locator("#remit-check").get_by_text("Within the remit of Home from Hospital").wait_for()
    # The remit check's changes never overwrite the patient confirmed under the number.
    assert lookup.get_by_text("Known to your team").is_visible()
    assert "Known to your team" not in page.locator("#remit-check").inner_text()

    tab_to(page, "#send-referral")  # urgency, consent on record and the rest keep their defaults
    page.keyboard.press("Enter")
    interactions += 1

    page.get_by_role("heading", name="Referral R-").wait_for()
    assert interactions <= 5
    referral = Referral.objects.latest("pk")
    assert (referral.patient, referral.service) == (known_patient, home_from_hospital)
    assert (referral.needs, referral.activities) == (["shopping"], ["shopping"])
    assert (referral.urgency, referral.lawful_basis) == ("routine", "consent")


def test_the_patient_found_shows_under_the_nhs_number(
    page, live_server, icc, home_from_hospital, known_patient
):
    sign_in(page, live_server, icc)
    page.goto(f"{live_server.url}/referrals/new/")

    page.locator("#id_nhs_number").press_sequentially(known_patient.nhs_number)
    page.get_by_text("Known to your team").wait_for()
    page.get_by_label("Voluntary service").select_option(label=HOME_FROM_HOSPITAL)
    page.get_by_text("Choose what the patient needs to check the remit").wait_for()

    field = page.locator("#id_nhs_number").bounding_box()
    found = page.get_by_test_id("patient-known").bounding_box()
    assert field and found
    assert found["y"] >= field["y"] + field["height"]
    assert found["x"] < field["x"] + field["width"]  # the same column, not the remit panel
    assert page.get_by_test_id("patient-known").is_visible()


def test_the_sector_comes_first_and_shows_only_its_own_fields(
    page, live_server, icc, home_from_hospital, community_trust
):
    sign_in(page, live_server, icc)
    page.goto(f"{live_server.url}/referrals/new/")

    assert page.get_by_label("Voluntary sector").is_checked()
    assert page.get_by_label("Voluntary service").is_visible()
    assert not page.get_by_label("Health or social care organisation").is_visible()
    waiting = page.get_by_test_id("remit-waiting")
    assert "Choose the voluntary service and what the patient needs" in waiting.inner_text()

    page.get_by_label("Health", exact=True).check()
    page.get_by_text("there is no remit to check").wait_for()
    assert page.get_by_label("Health or social care organisation").is_visible()
    assert not page.get_by_label("Voluntary service").is_visible()
    assert not page.get_by_label("The patient's consent to share their details").is_visible()
    assert_accessible(page)


def test_the_remit_check_waits_for_a_need_before_it_judges(
    page, live_server, icc, home_from_hospital
):
    sign_in(page, live_server, icc)
    page.goto(f"{live_server.url}/referrals/new/")

    page.get_by_label("Voluntary service").select_option(label=HOME_FROM_HOSPITAL)
    page.get_by_text("Choose what the patient needs to check the remit of Home from").wait_for()
    assert page.get_by_test_id("remit-verdict").count() == 0

    needs = page.get_by_role("group", name="What the patient needs")
    needs.get_by_label("Home help").check()
    page.get_by_text("Within the remit of Home from Hospital").wait_for()
    needs.get_by_label("Personal care").check()
    page.get_by_text("Outside the remit of Home from Hospital").wait_for()
    assert page.get_by_label("Why this referral must go").is_visible()

    # Asked only for what is within its remit, the referral is within it again.
    asked_for = page.get_by_role("group", name="Ask Home from Hospital for")
    asked_for.get_by_label("Personal care").uncheck()
    page.get_by_text("Within the remit of Home from Hospital").wait_for()
    assert asked_for.is_visible()
    # The check swapped in around the checkbox keeps the keyboard where it was.
    assert page.evaluate("document.activeElement.id") == "id_activities_1"


def test_a_failed_send_keeps_everything_typed_and_is_accessible(
    page, live_server, icc, home_from_hospital
):
    sign_in(page, live_server, icc)
    page.goto(f"{live_server.url}/referrals/new/")
    assert_accessible(page)

    page.get_by_text("Details of a patient new to VSO Care").click()
    page.get_by_label("Given name").fill("Edna")
    page.get_by_label("Postcode").fill("EH4 2QT")
    page.get_by_role("group", name="What the patient needs").get_by_label("Shopping").check()
    page.get_by_label("Reason for referral").fill(REASON)
    page.get_by_role("button", name="Send referral").click()

    summary = page.get_by_test_id("error-summary")
    summary.wait_for()
    assert page.title().startswith("Error: ")
    assert "Enter the patient's 10-digit NHS number." in summary.inner_text()
    assert "Choose the voluntary service from the directory." in summary.inner_text()
    assert page.get_by_label("Given name").input_value() == "Edna"
    assert page.get_by_label("Given name").is_visible()  # its <details> opened by itself
    assert page.get_by_label("Postcode").input_value() == "EH4 2QT"
    needs = page.get_by_role("group", name="What the patient needs")
    assert needs.get_by_label("Shopping").is_checked()
    assert page.get_by_label("Reason for referral").input_value() == REASON
    assert_accessible(page)

    summary.get_by_role("link", name="Enter the patient's 10-digit NHS number.").click()
    assert page.evaluate("document.activeElement.id") == "id_nhs_number"


def test_the_form_is_short_on_a_phone(page, live_server, icc, home_from_hospital):
    sign_in(page, live_server, icc)
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{live_server.url}/referrals/new/")

    size = page.evaluate(
        "() => ({height: document.documentElement.scrollHeight,"
        " width: document.documentElement.scrollWidth,"
        " controls: [...document.querySelectorAll('main :is(input, select, textarea, button)')]"
        ".filter(c => c.type !== 'hidden' && c.checkVisibility()).length})"
    )
    # Before issue #17: 3,582px tall with 56 controls.
    assert size["width"] <= 375
    # Now: the 17 needs, and 13 others; the rest fold away until needed.
    assert size["controls"] <= 30, size
    assert size["height"] <= 2600, size
