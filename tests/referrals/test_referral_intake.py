"""referral_intake: the intake form's one step, finding or registering the patient and logging
the referral in one transaction, with errors that name the form's fields."""

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError

from commissioning.codes import Urgency
from core.nhs import synthetic_nhs_number
from referrals.models import Patient, Referral, ReferralSource
from referrals.services import NewPatientDetails, referral_intake
from tests.factories import ReferralFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW_NUMBER = synthetic_nhs_number(4242)
EDNA = NewPatientDetails(
    given_name="Edna",
    family_name="Marsh",
    date_of_birth=datetime.date(1938, 5, 17),
    postcode="NB1 2AB",
)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel("2026-11-23 10:00 +0000", tick=False):
        yield


def intake(icc, service, **overrides):
    fields = {
        "user": icc,
        "nhs_number": NEW_NUMBER,
        "details": EDNA,
        "interim_cover_for_pk": None,
        "source": ReferralSource.ICC,
        "destination_sector": "voluntary",
        "organisation": service.organisation,
        "service": service,
        "needs": ["shopping"],
        "activities": ["shopping"],
        "urgency": Urgency.SOON,
        "lawful_basis": "consent",
        "consent_method": "in_person",
    }
    fields.update(overrides)
    return referral_intake(**fields)


def test_a_new_patient_is_registered_and_referred_in_one_step(icc, home_from_hospital):
    referral = intake(icc, home_from_hospital)

    patient = Patient.objects.get(nhs_number=NEW_NUMBER)
    assert referral.patient == patient
    assert (patient.given_name, patient.postcode) == ("Edna", "NB1 2AB")
    consent = patient.consents.get()
    assert (consent.decision, consent.method, consent.recorded_by) == ("given", "in_person", icc)


def test_a_known_patient_is_never_renamed_by_a_referral(icc, home_from_hospital, patient):
    referral = intake(
        icc,
        home_from_hospital,
        nhs_number=patient.nhs_number,
        details=NewPatientDetails(given_name="Typo", date_of_birth=patient.date_of_birth),
    )

    patient.refresh_from_db()
    assert referral.patient == patient
    assert patient.given_name == "Edna"


def test_a_new_patient_needs_a_name_date_of_birth_and_postcode(icc, home_from_hospital):
    with pytest.raises(ValidationError) as error:
        intake(icc, home_from_hospital, details=NewPatientDetails(given_name="Edna"))

    assert set(error.value.message_dict) == {"family_name", "date_of_birth", "postcode"}
    assert error.value.message_dict["postcode"] == [
        "Enter the patient's postcode: VSO Care does not know them yet."
    ]
    assert not Patient.objects.exists()


def test_interim_cover_for_a_referral_the_referrer_cannot_see_is_refused(
    icc, home_from_hospital, community_trust
):
    elsewhere = ReferralFactory(referrer=UserFactory(organisation=community_trust, role="icc"))
    elsewhere.referrer_organisation = home_from_hospital.organisation
    elsewhere.referrer = UserFactory(organisation=home_from_hospital.organisation, role="vso_lead")
    elsewhere.save()

    with pytest.raises(ValidationError) as error:
        intake(icc, home_from_hospital, interim_cover_for_pk=elsewhere.pk)

    assert "interim_cover_for" in error.value.message_dict
    assert not Patient.objects.filter(nhs_number=NEW_NUMBER).exists()


def test_a_refused_referral_registers_no_patient(icc, home_from_hospital):
    with pytest.raises(ValidationError) as error:
        intake(icc, home_from_hospital, activities=["personal_care"])  # outside the remit

    assert "override_reason" in error.value.message_dict
    assert not Patient.objects.filter(nhs_number=NEW_NUMBER).exists()
    assert not Referral.objects.exists()
