"""The services check who may act, whatever calls them (a view, a command, a task): the same
rules as the access helpers the views use."""

import pytest
from django.core.exceptions import PermissionDenied

from referrals.models import Referral, ReferralStatus
from referrals.services import referral_accept, referral_withdraw
from referrals.services_concerns import concern_acknowledge, concern_raise
from tests.factories import ReferralFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def referral(icc, home_from_hospital):
    return ReferralFactory(referrer=icc, service=home_from_hospital)


def test_only_the_receiving_organisation_accepts(referral, other_lead, red_cross_lead):
    with pytest.raises(PermissionDenied):
        referral_accept(referral=referral, user=other_lead, expected_version=referral.version)

    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.RECEIVED
    accepted = referral_accept(
        referral=referral, user=red_cross_lead, expected_version=referral.version
    )
    assert accepted.status == ReferralStatus.ACCEPTED


def test_only_the_referrers_team_withdraws(referral, red_cross_lead):
    with pytest.raises(PermissionDenied):
        referral_withdraw(
            referral=referral, user=red_cross_lead, expected_version=1, reason="Not needed."
        )


def test_a_concern_is_raised_only_by_someone_involved(referral, other_lead, icc):
    with pytest.raises(PermissionDenied):
        concern_raise(
            referral=referral,
            user=other_lead,
            addressed_to=icc.organisation,
            severity="high",
            description="Not mine to raise.",
        )


def test_a_concern_is_acknowledged_only_by_those_it_is_addressed_to(
    referral, red_cross_worker, icc
):
    concern = concern_raise(
        referral=referral,
        user=red_cross_worker,
        addressed_to=icc.organisation,
        severity="high",
        description="She has waited 19 days for the social-care visit.",
    )

    with pytest.raises(PermissionDenied):
        concern_acknowledge(concern=concern, user=red_cross_worker, expected_version=1)
    assert concern_acknowledge(concern=concern, user=icc, expected_version=1).acknowledged_by == icc
