"""The new referral page and its live remit check: who, where to (sector first), what for (needs
once, the service asked for some or all of them), then the remit check and Send. Bad input keeps
everything typed."""

import re

import pytest
import time_machine
from django.urls import reverse

from core.nhs import synthetic_nhs_number
from referrals.models import Patient, Referral
from tests.factories import ConsentFactory, ReferralFactory

pytestmark = pytest.mark.django_db

NEW_NUMBER = synthetic_nhs_number(4100)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel("2026-11-23 10:00 +0000", tick=False):
        yield


def known_post(patient, service, **overrides):
    """What the page sends for a known patient when nothing but the essentials is touched."""
    data = {
        "nhs_number": patient.nhs_number, "destination_sector": "voluntary",
        "service": service.pk, "needs": ["shopping"], "urgency": "routine", "source": "icc",
        "lawful_basis": "consent", "consent_method": "",
    }  # fmt: skip
    data.update(overrides)
    return data


def remit_check(client, data) -> str:
    return client.post(reverse("referral_remit_check"), data).content.decode()


def element(page: str, element_id: str) -> str:
    """The opening tag of the element with that id."""
    match = re.search(rf'<[a-z]+[^>]*\bid="{element_id}"[^>]*>', page)
    assert match, f"no #{element_id}"
    return match[0]


# --- Who ----------------------------------------------------------------------------------------


def test_the_patient_found_is_shown_under_the_nhs_number_not_in_the_remit_check(client, icc):
    client.force_login(icc)

    page = client.get(reverse("referral_create")).content.decode()

    lookup = element(page, "patient-lookup")
    # The form sends its changes to the remit check; the lookup must not inherit that target.
    assert 'hx-target="this"' in lookup and 'hx-swap="innerHTML"' in lookup
    assert page.index('id="id_nhs_number"') < page.index('id="patient-lookup"')
    assert page.index('id="patient-lookup"') < page.index('id="id_date_of_birth"')
    assert page.index('id="patient-lookup"') < page.index('id="remit-check"')


def test_the_patient_search_needs_no_inline_script(client, icc, known_patient):
    client.force_login(icc)

    page = client.get(reverse("patient_search"), {"q": "Edna"}).content.decode()

    assert f'data-nhs-number="{known_patient.nhs_number}"' in page
    assert "onclick" not in page


# --- Where to -----------------------------------------------------------------------------------


def test_the_page_asks_for_the_sector_first_with_voluntary_chosen(client, icc):
    client.force_login(icc)

    page = client.get(reverse("referral_create")).content.decode()

    assert re.search(r'name="destination_sector" value="voluntary"[^>]*checked', page)
    sector, service, organisation = (
        page.index('name="destination_sector"'),
        page.index('name="service"'),
        page.index('name="organisation"'),
    )
    assert sector < service < organisation
    assert 'data-sector="voluntary"' in page and 'data-sector="health social_care"' in page


def test_a_voluntary_referral_ignores_the_organisation_field(
    client, icc, home_from_hospital, known_patient
):
    client.force_login(icc)

    response = client.post(
        reverse("referral_create"),
        known_post(known_patient, home_from_hospital, organisation="not a number"),
    )

    assert response.status_code == 302
    assert Referral.objects.latest("pk").organisation == home_from_hospital.organisation


def test_a_health_referral_ignores_the_voluntary_fields(
    client, icc, home_from_hospital, patient, community_trust
):
    """A patient with no consent on record: the consent left chosen by default for a voluntary
    service does not hold up a referral to health, which receives for direct care."""
    client.force_login(icc)

    response = client.post(
        reverse("referral_create"),
        known_post(
            patient, home_from_hospital, destination_sector="health",
            organisation=community_trust.pk, date_of_birth=patient.date_of_birth.isoformat(),
        ),
    )  # fmt: skip

    assert response.status_code == 302
    referral = Referral.objects.latest("pk")
    assert (referral.organisation, referral.service) == (community_trust, None)
    assert referral.lawful_basis == ""
    assert not patient.consents.exists()


def test_a_health_referral_still_needs_its_organisation(client, icc, home_from_hospital, patient):
    client.force_login(icc)

    response = client.post(
        reverse("referral_create"),
        known_post(patient, home_from_hospital, destination_sector="social_care"),
    )

    assert response.context["form"].errors["organisation"] == [
        "Choose the organisation you are referring to."
    ]
    assert "service" not in response.context["form"].errors


# --- What for: the service is asked for the needs, or some of them -------------------------------


def test_the_page_lists_the_needs_once(client, icc):
    client.force_login(icc)

    page = client.get(reverse("referral_create")).content.decode()

    assert page.count('name="needs"') == 17
    assert 'name="activities"' not in page


def test_the_service_is_asked_for_every_need_unless_narrowed(
    client, icc, home_from_hospital, known_patient
):
    client.force_login(icc)

    client.post(
        reverse("referral_create"),
        known_post(known_patient, home_from_hospital, needs=["shopping", "befriending"]),
    )

    assert Referral.objects.latest("pk").activities == ["shopping", "befriending"]


def test_the_service_can_be_asked_for_only_some_of_the_needs(
    client, icc, home_from_hospital, known_patient
):
    client.force_login(icc)

    response = client.post(
        reverse("referral_create"),
        known_post(
            known_patient, home_from_hospital, needs=["shopping", "personal_care"],
            activities=["shopping"], activities_narrowed="True",
        ),
    )  # fmt: skip

    assert response.status_code == 302
    referral = Referral.objects.latest("pk")
    assert (referral.needs, referral.activities) == (["shopping", "personal_care"], ["shopping"])
    assert not referral.out_of_remit


def test_the_service_is_never_asked_for_something_the_patient_does_not_need(
    client, icc, home_from_hospital, known_patient
):
    client.force_login(icc)

    response = client.post(
        reverse("referral_create"),
        known_post(known_patient, home_from_hospital, activities=["befriending"]),
    )

    assert "activities" in response.context["form"].errors
    assert not Referral.objects.filter(patient=known_patient, service=home_from_hospital).exists()


def test_narrowing_to_nothing_says_what_to_do(client, icc, home_from_hospital, known_patient):
    client.force_login(icc)

    response = client.post(
        reverse("referral_create"),
        known_post(
            known_patient, home_from_hospital, needs=["shopping", "personal_care"],
            activities_narrowed="True",
        ),
    )  # fmt: skip

    assert response.context["form"].errors["activities"] == [
        "Choose at least one of the patient's needs to ask the service for."
    ]
    page = response.content.decode()
    # The summary's link goes to the first of the checkboxes, which is on the page.
    assert 'href="#id_activities_0"' in page and 'id="id_activities_0"' in page


# --- The remit check ----------------------------------------------------------------------------


def test_the_remit_check_says_it_waits_for_a_service(client, icc, home_from_hospital):
    client.force_login(icc)

    page = remit_check(client, {"destination_sector": "voluntary", "needs": ["shopping"]})

    assert "Choose the voluntary service and what the patient needs" in page
    assert "remit of" not in page


def test_the_remit_check_does_not_judge_before_a_need_is_chosen(client, icc, home_from_hospital):
    client.force_login(icc)

    page = remit_check(
        client,
        {"destination_sector": "voluntary", "service": home_from_hospital.pk, "urgency": "soon"},
    )

    assert "Choose what the patient needs to check the remit of Home from Hospital." in page
    assert "Within the remit" not in page and "Outside the remit" not in page


def test_the_remit_check_judges_once_it_has_a_service_and_a_need(client, icc, home_from_hospital):
    client.force_login(icc)
    data = {"destination_sector": "voluntary", "service": home_from_hospital.pk,
            "urgency": "soon", "needs": ["home_help"]}  # fmt: skip

    within = remit_check(client, data)
    outside = remit_check(client, {**data, "needs": ["home_help", "personal_care"]})
    narrowed = remit_check(
        client,
        {**data, "needs": ["home_help", "personal_care"], "activities": ["home_help"],
         "activities_narrowed": "True"},
    )  # fmt: skip

    assert "Within the remit of Home from Hospital" in within
    assert "Ask Home from Hospital for" not in within
    assert "Outside the remit of Home from Hospital" in outside
    # Offered: ask the service for only some of the needs, all of them ticked to start with.
    assert "Ask Home from Hospital for" in outside
    assert outside.count("checked") == 2
    assert "Within the remit of Home from Hospital" in narrowed
    assert "Ask Home from Hospital for" in narrowed and narrowed.count("checked") == 1


def test_the_remit_check_has_nothing_to_judge_for_health(client, icc, community_trust):
    client.force_login(icc)

    page = remit_check(
        client,
        {"destination_sector": "health", "organisation": community_trust.pk, "needs": ["shopping"]},
    )

    assert "there is no remit to check" in page


# --- Errors that say what to do, and nothing typed is lost --------------------------------------


def test_an_empty_send_says_what_to_do_at_each_field(client, icc, home_from_hospital):
    client.force_login(icc)

    response = client.post(reverse("referral_create"), {"destination_sector": "voluntary"})

    errors = response.context["form"].errors
    assert errors["nhs_number"] == ["Enter the patient's 10-digit NHS number."]
    assert errors["needs"] == ["Choose at least one thing the patient needs."]
    assert errors["service"] == ["Choose the voluntary service from the directory."]
    page = response.content.decode()
    assert "This field is required." not in page
    for field_id in re.findall(r'<a href="#([^"]+)"', page):
        assert f'id="{field_id}"' in page, field_id


def test_a_new_patient_is_told_which_details_are_missing(client, icc, home_from_hospital):
    client.force_login(icc)

    response = client.post(
        reverse("referral_create"),
        {"nhs_number": NEW_NUMBER, "destination_sector": "voluntary",
         "service": home_from_hospital.pk, "needs": ["shopping"], "urgency": "soon",
         "source": "icc", "lawful_basis": "consent", "consent_method": "in_person",
         "given_name": "Edna"},
    )  # fmt: skip

    errors = response.context["patient_form"].errors
    assert errors["family_name"] == [
        "Enter the patient's family name: VSO Care does not know them yet."
    ]
    assert errors["date_of_birth"] == [
        "Enter the patient's date of birth: VSO Care does not know them yet."
    ]
    assert "given_name" not in errors
    assert not Patient.objects.exists()


def test_a_failed_send_keeps_everything_typed(client, icc, home_from_hospital, social_care):
    client.force_login(icc)

    response = client.post(
        reverse("referral_create"),
        {"nhs_number": NEW_NUMBER, "destination_sector": "voluntary", "needs": ["shopping",
         "befriending"], "urgency": "soon", "source": "icc", "lawful_basis": "safeguarding",
         "given_name": "Edna", "family_name": "Marsh", "postcode": "EH4 2QT",
         "date_of_birth": "1938-05-17", "lives_alone": "on",
         "reason": "No food in.", "statutory_declined_by": social_care.pk},
    )  # fmt: skip

    page = response.content.decode()
    assert response.status_code == 200 and not Referral.objects.exists()
    for name, value in (("given_name", "Edna"), ("family_name", "Marsh"),
                        ("postcode", "EH4 2QT"), ("date_of_birth", "1938-05-17"),
                        ("nhs_number", NEW_NUMBER)):  # fmt: skip
        assert re.search(rf'name="{name}" value="{value}"', page), name
    for need in ("shopping", "befriending"):
        assert re.search(rf'name="needs" value="{need}"[^>]*checked', page), need
    assert "No food in.</textarea>" in page
    # The folded sections holding something typed, or an error, are open.
    assert "open" in element(page, "new-patient")
    assert "open" in element(page, "without-consent")
    assert "open" in element(page, "gaps")


def test_the_folded_sections_start_closed(client, icc):
    client.force_login(icc)

    page = client.get(reverse("referral_create")).content.decode()

    for folded in ("new-patient", "without-consent", "gaps"):
        assert "open" not in element(page, folded)
    assert "hidden" in element(page, "override")


@pytest.mark.parametrize(
    ("decision", "said"),
    [("given", "Their consent to share their details is on record, given"),
     ("withdrawn", "They withdrew consent to share on"),
     (None, "No consent to share is on record")],
)  # fmt: skip
def test_the_lookup_says_whether_consent_to_share_is_on_record(
    client, icc, patient, social_care, decision, said
):
    ReferralFactory(
        patient=patient, referrer=icc, service=None, organisation=social_care,
        destination_sector="social_care", needs=["home_help"],
    )  # fmt: skip
    if decision:
        ConsentFactory(patient=patient, decision=decision)
    client.force_login(icc)

    page = client.get(reverse("patient_lookup"), {"nhs_number": patient.nhs_number})

    assert said in page.content.decode()


def test_the_lookup_says_nothing_of_consent_before_the_patient_is_confirmed(client, icc, patient):
    ConsentFactory(patient=patient)
    client.force_login(icc)

    page = client.get(reverse("patient_lookup"), {"nhs_number": patient.nhs_number})

    assert "consent" not in page.content.decode().lower()
