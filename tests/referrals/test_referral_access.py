import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from referrals.selectors import get_referral_for_user, referrals_visible_to
from tests.factories import OrganisationFactory, ReferralFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def to_red_cross(home_from_hospital, patient, icc):
    return ReferralFactory(service=home_from_hospital, patient=patient, referrer=icc)


def test_the_referrer_and_their_team_see_the_referral(icc, to_red_cross, community_trust):
    teammate = UserFactory(role="icc", organisation=community_trust)

    assert list(referrals_visible_to(icc)) == [to_red_cross]
    assert list(referrals_visible_to(teammate)) == [to_red_cross]


def test_a_referrer_from_another_team_gets_a_404(to_red_cross, system):
    elsewhere = UserFactory(role="icc", organisation=OrganisationFactory(system=system))

    with pytest.raises(Http404):
        get_referral_for_user(elsewhere, to_red_cross.pk)


def test_vso_staff_see_referrals_to_their_own_organisation_only(
    to_red_cross, red_cross_lead, red_cross_worker, other_lead
):
    assert list(referrals_visible_to(red_cross_lead)) == [to_red_cross]
    assert list(referrals_visible_to(red_cross_worker)) == [to_red_cross]
    assert list(referrals_visible_to(other_lead)) == []
    with pytest.raises(Http404):
        get_referral_for_user(other_lead, to_red_cross.pk, action="accept")


def test_the_commissioner_sees_the_referral_but_cannot_act_on_it(to_red_cross, commissioner):
    assert get_referral_for_user(commissioner, to_red_cross.pk) == to_red_cross
    with pytest.raises(PermissionDenied):
        get_referral_for_user(commissioner, to_red_cross.pk, action="accept")


def test_administrators_see_no_patients_referrals(to_red_cross, administrator):
    assert list(referrals_visible_to(administrator)) == []


def test_the_vso_accepts_and_the_referrer_withdraws_but_not_the_other_way_round(
    to_red_cross, red_cross_lead, icc
):
    assert get_referral_for_user(red_cross_lead, to_red_cross.pk, action="accept")
    assert get_referral_for_user(icc, to_red_cross.pk, action="withdraw")
    with pytest.raises(PermissionDenied):
        get_referral_for_user(icc, to_red_cross.pk, action="accept")
    with pytest.raises(PermissionDenied):
        get_referral_for_user(red_cross_lead, to_red_cross.pk, action="withdraw")


def test_the_referrer_records_a_statutory_services_decision(icc, patient, social_care):
    to_social_care = ReferralFactory(
        patient=patient, referrer=icc, service=None, organisation=social_care,
        destination_sector="social_care",
    )  # fmt: skip

    assert get_referral_for_user(icc, to_social_care.pk, action="accept") == to_social_care
