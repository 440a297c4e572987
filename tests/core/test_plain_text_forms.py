"""The web forms take the imports' rules (#14 points 3 and 4): plausible dates of birth and
of what happens to a referral, and text without control characters, refused at the field with
a message that says what is wrong and where, changing nothing."""

import pytest
import time_machine
from django.urls import reverse

from commissioning.models import CommissioningFramework
from core.nhs import synthetic_nhs_number
from referrals.models import Concern, Consent, Patient, Referral
from tests.factories import ConsentFactory, ReferralFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("starting_codes")]

NEW_NUMBER = synthetic_nhs_number(4555)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel("2026-11-23 10:00 +0000", tick=False):
        yield


def intake(client, service, **overrides):
    data = {
        "nhs_number": NEW_NUMBER, "date_of_birth": "1938-05-17", "given_name": "Edna",
        "family_name": "Marsh", "postcode": "NB1 2AB", "destination_sector": "voluntary",
        "service": service.pk, "needs": ["shopping"], "urgency": "routine", "source": "icc",
        "lawful_basis": "consent", "consent_method": "in_person",
    }  # fmt: skip
    data.update(overrides)
    return client.post(reverse("referral_create"), data)


def errors_of(response, form="patient_form") -> dict:
    return response.context[form].errors


@pytest.mark.parametrize(
    ("born", "message"),
    [
        ("0001-01-01", "The date of birth cannot be before 1 January 1900; check the year."),
        ("1800-01-01", "The date of birth cannot be before 1 January 1900; check the year."),
        ("1899-12-31", "The date of birth cannot be before 1 January 1900; check the year."),
        ("2026-11-24", "The date of birth cannot be in the future."),
    ],
)
def test_an_implausible_date_of_birth_is_refused_at_the_field(
    client, icc, home_from_hospital, born, message
):
    client.force_login(icc)

    response = intake(client, home_from_hospital, date_of_birth=born)

    assert errors_of(response)["date_of_birth"] == [message]
    assert not Patient.objects.exists() and not Referral.objects.exists()


def test_the_first_day_of_1900_and_today_are_plausible_births(client, icc, home_from_hospital):
    client.force_login(icc)

    intake(client, home_from_hospital, date_of_birth="1900-01-01")

    assert Patient.objects.get().date_of_birth.year == 1900


@pytest.mark.parametrize(
    ("field", "value", "form"),
    [
        ("given_name", "Ed\x07na", "patient_form"),
        ("family_name", "Marsh\x1b[31m", "patient_form"),
        ("reason", "Needs shopping\x00 done", "form"),
    ],
)
def test_a_control_character_is_refused_at_the_field_saying_where(
    client, icc, home_from_hospital, field, value, form
):
    client.force_login(icc)

    response = intake(client, home_from_hospital, **{field: value})

    [message] = errors_of(response, form)[field]
    assert message.startswith("Contains a control character (U+00")
    assert "at position" in message
    assert not Referral.objects.exists()


def test_line_breaks_and_tabs_are_fine_where_the_field_has_lines(client, icc, home_from_hospital):
    client.force_login(icc)

    intake(client, home_from_hospital, reason="Shopping:\n\tmilk\r\n\tbread")

    assert Referral.objects.get().reason.startswith("Shopping:")


def test_a_concern_with_a_control_character_is_refused_and_changes_nothing(
    client, red_cross_worker, cover, social_care
):
    client.force_login(red_cross_worker)

    response = client.post(
        reverse("concern_raise", args=[cover.pk]),
        {"severity": "high", "addressed_to": social_care.pk, "description": "No visit\x08"},
    )

    assert response.status_code == 400
    assert not Concern.objects.exists()


@pytest.mark.parametrize(
    ("day", "message"),
    [("1999-12-31", "The date cannot be before 1 January 2000; check the year."),
     ("2026-11-24", "The date cannot be in the future.")],
)  # fmt: skip
def test_a_consent_decision_on_an_implausible_day_is_refused(
    client, icc, patient, home_from_hospital, day, message
):
    ConsentFactory(patient=patient, recorded_by=icc)
    referral = ReferralFactory(patient=patient, referrer=icc, service=home_from_hospital)
    client.force_login(icc)
    before = Consent.objects.count()

    response = client.post(
        reverse("referral_consent", args=[referral.pk]),
        {"decision": "withdrawn", "method": "phone", "decided_on": day},
    )

    assert response.status_code == 400
    assert message in response.content.decode()
    assert Consent.objects.count() == before


def test_a_commissioning_form_refuses_control_characters_too(client, commissioner, system):
    client.force_login(commissioner)

    response = client.post(
        reverse("framework_create"),
        {"name": "Frailty\x0bFramework", "objectives": "Keep people well.",
         "outcome_measures": ["wemwbs"], "starts_on": "2026-04-01", "ends_on": "2029-03-31"},
    )  # fmt: skip

    assert "Contains a control character (U+000B)" in response.content.decode()
    assert not CommissioningFramework.objects.filter(name__startswith="Frailty").exists()


def test_the_referral_list_refuses_a_period_at_the_end_of_the_calendar(client, icc):
    client.force_login(icc)

    response = client.get(reverse("referral_list"), {"referred_from": "9999-12-31"})

    assert response.status_code == 200
    assert "Referred from cannot be after 31 December 2027; check the year." in (
        response.content.decode()
    )
