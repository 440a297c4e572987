import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from commissioning.codes import Urgency
from referrals.models import Referral, ReferralSource
from referrals.services import referral_create
from tests.factories import ConsentFactory

pytestmark = pytest.mark.django_db

NOW = "2026-11-23 10:00 +0000"


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def consented(patient):
    return ConsentFactory(patient=patient)


def to_voluntary(patient, icc, service, **overrides):
    fields = {
        "patient": patient,
        "referrer": icc,
        "source": ReferralSource.ICC,
        "destination_sector": "voluntary",
        "organisation": service.organisation,
        "service": service,
        "needs": ["shopping"],
        "activities": ["shopping"],
        "urgency": Urgency.SOON,
        "reason": "Lives alone, just home from hospital, no food in.",
        "lawful_basis": "consent",
    }
    fields.update(overrides)
    return referral_create(**fields)


def test_a_referral_within_remit_is_logged_as_received(patient, icc, home_from_hospital):
    referral = to_voluntary(patient, icc, home_from_hospital)

    assert referral.status == "received"
    assert referral.referrer_organisation == icc.organisation
    assert referral.referred_at == timezone.now()
    assert not referral.out_of_remit and referral.remit_reasons == []


def test_an_out_of_remit_referral_needs_a_written_override_reason(patient, icc, home_from_hospital):
    with pytest.raises(ValidationError) as error:
        to_voluntary(patient, icc, home_from_hospital, activities=["personal_care"])

    assert "override_reason" in error.value.message_dict
    assert not Referral.objects.exists()


def test_an_override_is_recorded_with_the_reasons_at_the_time(patient, icc, home_from_hospital):
    referral = to_voluntary(
        patient,
        icc,
        home_from_hospital,
        activities=["personal_care"],
        urgency=Urgency.EMERGENCY,
        override_reason="Social care cannot visit for five days and she cannot wash.",
    )

    assert referral.out_of_remit
    assert [r["rule"] for r in referral.remit_reasons] == ["urgency", "excluded_activity"]
    assert "activities excluded" in referral.remit_reasons[1]["clause"]
    assert referral.override_reason.startswith("Social care cannot visit")


def test_a_voluntary_referral_without_a_service_is_refused(patient, icc, red_cross):
    with pytest.raises(ValidationError) as error:
        referral_create(
            patient=patient,
            referrer=icc,
            source=ReferralSource.GP,
            destination_sector="voluntary",
            organisation=red_cross,
            service=None,
            needs=["shopping"],
            activities=[],
            urgency=Urgency.ROUTINE,
        )

    assert "service" in error.value.message_dict


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"needs": ["astrology"]}, "needs"),
        ({"needs": []}, "needs"),
        ({"referred_at": timezone.make_aware(datetime.datetime(2027, 1, 1))}, "referred_at"),
        ({"referred_at": timezone.make_aware(datetime.datetime(1930, 1, 1))}, "referred_at"),
    ],
)
def test_bad_input_is_refused_at_the_field_and_nothing_is_saved(
    patient, icc, home_from_hospital, overrides, field
):
    with pytest.raises(ValidationError) as error:
        to_voluntary(patient, icc, home_from_hospital, **overrides)

    assert field in error.value.message_dict
    assert not Referral.objects.exists()


def test_a_declined_first_gap_referral_records_who_declined_and_why(
    patient, icc, home_from_hospital, social_care
):
    referral = to_voluntary(
        patient,
        icc,
        home_from_hospital,
        statutory_declined_by=social_care,
        statutory_decline_reason="Not eligible: needs are not substantial.",
    )

    assert referral.statutory_declined_by == social_care
    assert referral.statutory_decline_reason == "Not eligible: needs are not substantial."


def test_a_voluntary_referral_can_cover_for_a_waiting_statutory_one(
    patient, icc, home_from_hospital, social_care
):
    waiting = referral_create(
        patient=patient,
        referrer=icc,
        source=ReferralSource.ICC,
        destination_sector="social_care",
        organisation=social_care,
        service=None,
        needs=["home_help"],
        activities=[],
        urgency=Urgency.URGENT,
    )

    cover = to_voluntary(patient, icc, home_from_hospital, interim_cover_for=waiting)

    assert cover.interim_cover_for == waiting
    assert list(waiting.interim_cover.all()) == [cover]


def test_interim_cover_must_be_for_the_same_patients_open_statutory_referral(
    patient, icc, home_from_hospital, social_care
):
    from tests.factories import PatientFactory, ReferralFactory

    someone_else = ReferralFactory(
        patient=PatientFactory(), service=None, organisation=social_care,
        destination_sector="social_care",
    )  # fmt: skip

    with pytest.raises(ValidationError) as error:
        to_voluntary(patient, icc, home_from_hospital, interim_cover_for=someone_else)

    assert "is for another patient" in " ".join(error.value.message_dict["interim_cover_for"])
