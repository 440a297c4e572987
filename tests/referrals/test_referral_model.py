import pghistory
import pytest
from django.db import IntegrityError

from commissioning.models import Sector
from referrals.models import Referral, ReferralStatus
from tests.factories import PatientFactory, ReferralFactory

pytestmark = pytest.mark.django_db


def test_a_referral_has_a_short_reference_to_read_down_the_phone():
    referral = ReferralFactory()

    assert referral.reference == f"R-{referral.pk:06d}"
    assert Referral.pk_from_reference(f"r-{referral.pk:06d}") == referral.pk
    assert Referral.pk_from_reference("not a reference") is None


def test_the_database_refuses_a_voluntary_referral_without_a_service(red_cross):
    with pytest.raises(IntegrityError):
        ReferralFactory(service=None, organisation=red_cross, destination_sector=Sector.VOLUNTARY)


def test_the_database_refuses_an_out_of_remit_referral_without_a_written_reason():
    with pytest.raises(IntegrityError):
        ReferralFactory(out_of_remit=True, override_reason="")


def test_the_database_refuses_a_decline_without_a_reason():
    with pytest.raises(IntegrityError):
        ReferralFactory(status=ReferralStatus.DECLINED, decline_reason="")


def test_the_database_refuses_an_nhs_number_that_is_not_ten_digits():
    with pytest.raises(IntegrityError):
        PatientFactory(nhs_number="99900A0018")


def test_every_change_to_a_referral_is_recorded_with_who_made_it(icc):
    referral = ReferralFactory()

    with pghistory.context(user=icc.pk):
        Referral.objects.filter(pk=referral.pk).update(status=ReferralStatus.WITHDRAWN)

    events = referral.events.order_by("pgh_id")
    assert [event.status for event in events] == ["received", "withdrawn"]
    assert events.last().pgh_context.metadata["user"] == icc.pk
