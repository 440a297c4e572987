import pytest
from django.core.exceptions import ValidationError

from core.conflicts import EditConflict
from referrals.models import ReferralStatus
from referrals.services import (
    referral_accept,
    referral_close,
    referral_decline,
    referral_record_contact,
    referral_withdraw,
)
from tests.factories import ReferralFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def referral(home_from_hospital, patient, icc):
    return ReferralFactory(service=home_from_hospital, patient=patient, referrer=icc)


def test_a_referral_goes_from_received_to_closed_with_each_step_stamped(
    referral, red_cross_lead, red_cross_worker
):
    accepted = referral_accept(referral=referral, user=red_cross_lead, expected_version=1)
    contacted = referral_record_contact(
        referral=accepted, user=red_cross_worker, expected_version=2
    )
    closed = referral_close(
        referral=contacted, user=red_cross_worker, expected_version=3, outcome="Settled at home."
    )

    assert closed.status == ReferralStatus.CLOSED
    assert (closed.decided_by, closed.first_contact_by, closed.closed_by) == (
        red_cross_lead,
        red_cross_worker,
        red_cross_worker,
    )
    assert closed.decided_at <= closed.first_contact_at <= closed.closed_at
    assert closed.version == 4


def test_a_decline_needs_a_reason_which_is_kept(referral, red_cross_lead):
    with pytest.raises(ValidationError):
        referral_decline(referral=referral, user=red_cross_lead, expected_version=1, reason=" ")

    declined = referral_decline(
        referral=referral, user=red_cross_lead, expected_version=1, reason="Needs personal care."
    )

    assert declined.status == ReferralStatus.DECLINED
    assert declined.decline_reason == "Needs personal care."


def test_an_invalid_transition_is_refused_and_changes_nothing(referral, red_cross_lead):
    with pytest.raises(EditConflict, match="is received, so it cannot be in progress"):
        referral_record_contact(referral=referral, user=red_cross_lead, expected_version=1)

    referral.refresh_from_db()
    assert (referral.status, referral.version) == (ReferralStatus.RECEIVED, 1)


def test_the_second_of_two_people_changing_one_referral_sees_a_clear_message(
    referral, red_cross_lead, red_cross_worker
):
    # Both opened the referral at version 1; the lead accepts first.
    referral_accept(referral=referral, user=red_cross_lead, expected_version=1)

    with pytest.raises(EditConflict) as error:
        referral_decline(
            referral=referral, user=red_cross_worker, expected_version=1, reason="Full this week."
        )

    assert "was changed by Vera Lewis" in str(error.value)
    assert "it is now accepted" in str(error.value)
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.ACCEPTED


def test_the_referrer_withdraws_an_open_referral_with_a_reason(referral, icc):
    withdrawn = referral_withdraw(
        referral=referral, user=icc, expected_version=1, reason="Patient admitted to hospital."
    )

    assert withdrawn.status == ReferralStatus.WITHDRAWN
    assert withdrawn.withdrawn_by == icc


def test_a_closed_referral_cannot_be_withdrawn(referral, red_cross_lead, icc):
    referral_accept(referral=referral, user=red_cross_lead, expected_version=1)
    referral_close(referral=referral, user=red_cross_lead, expected_version=2, outcome="Done.")

    with pytest.raises(EditConflict):
        referral_withdraw(referral=referral, user=icc, expected_version=3, reason="Too late.")


def test_each_transition_is_in_the_history_with_who_made_it(referral, red_cross_lead):
    import pghistory

    with pghistory.context(user=red_cross_lead.pk):
        referral_accept(referral=referral, user=red_cross_lead, expected_version=1)

    statuses = list(referral.events.order_by("pgh_id").values_list("status", flat=True))
    assert statuses == ["received", "accepted"]
