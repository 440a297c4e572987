"""Statutory waits have limits (#12 point 4): a referral to health or social care still without
first contact after its urgency's time (emergency 4 hours, urgent 2 days, soon 7 days, routine
28 days, each settable) is flagged on the waiting list, the referrer's and the commissioner's
home pages, and on the voluntary referral covering it."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from referrals.selectors import statutory_waits_past_limit, waiting_on_statutory
from tests.factories import ReferralFactory

pytestmark = pytest.mark.django_db

REFERRED = datetime.datetime(2026, 11, 2, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture
def waits(icc, social_care):
    """One referral of each urgency, made at the same moment, none contacted yet."""
    return {
        urgency: ReferralFactory(
            referrer=icc, organisation=social_care, service=None,
            destination_sector="social_care", urgency=urgency, referred_at=REFERRED,
        )
        for urgency in ("emergency", "urgent", "soon", "routine")
    }  # fmt: skip


def past(icc, at):
    with time_machine.travel(at, tick=False):
        return {referral.urgency for referral in statutory_waits_past_limit(icc)}


def test_each_urgency_has_its_limit(icc, waits):
    hour = datetime.timedelta(hours=1)
    minute = datetime.timedelta(minutes=1)

    assert past(icc, REFERRED + 4 * hour - minute) == set()
    assert past(icc, REFERRED + 4 * hour + minute) == {"emergency"}
    assert past(icc, REFERRED + 48 * hour + minute) == {"emergency", "urgent"}
    assert past(icc, REFERRED + datetime.timedelta(days=7, minutes=1)) == {
        "emergency", "urgent", "soon",
    }  # fmt: skip
    assert past(icc, REFERRED + datetime.timedelta(days=28, minutes=1)) == set(waits)


def test_first_contact_ends_the_wait_and_the_limit_is_settable(icc, waits, settings):
    waits["emergency"].first_contact_at = REFERRED + datetime.timedelta(hours=1)
    waits["emergency"].save()
    settings.STATUTORY_WAIT_LIMITS = {
        **settings.STATUTORY_WAIT_LIMITS,
        "urgent": datetime.timedelta(hours=1),
    }

    assert past(icc, REFERRED + datetime.timedelta(hours=5)) == {"urgent"}


def test_the_waiting_list_marks_waits_past_their_limit_in_one_query(
    client, icc, waits, django_assert_max_num_queries
):
    client.force_login(icc)
    with time_machine.travel(REFERRED + datetime.timedelta(days=3), tick=False):
        client.get(reverse("referral_waiting"))  # the session and the user, loaded once
        with django_assert_max_num_queries(8):
            page = client.get(reverse("referral_waiting")).content.decode()

    assert page.count('data-testid="past-limit"') == 2  # emergency and urgent
    assert "4 hours (emergency), 2 days (urgent), 7 days (soon), 28 days (routine)" in page


def test_the_referrer_and_the_commissioner_see_how_many_are_past_their_limit(
    client, icc, commissioner, waits
):
    with time_machine.travel(REFERRED + datetime.timedelta(days=8), tick=False):
        client.force_login(icc)
        icc_home = client.get(reverse("icc_home")).content.decode()
        client.force_login(commissioner)
        commissioner_home = client.get(reverse("commissioner_home")).content.decode()

    assert "3 past the time allowed for first contact" in icc_home
    assert "3 referrals to health or social care</a> have waited longer" in commissioner_home


def test_another_organisation_sees_none_of_the_waits(client, other_lead, western_people, waits):
    with time_machine.travel(REFERRED + datetime.timedelta(days=30), tick=False):
        for person in (other_lead, *western_people.values()):
            assert not waiting_on_statutory(person).exists()


def test_the_voluntary_referral_covering_a_wait_shows_it(client, icc, waits, home_from_hospital):
    cover = ReferralFactory(
        referrer=icc, service=home_from_hospital, interim_cover_for=waits["urgent"],
        referred_at=REFERRED + datetime.timedelta(hours=2),
    )  # fmt: skip
    client.force_login(icc)

    with time_machine.travel(REFERRED + datetime.timedelta(days=1), tick=False):
        client.force_login(icc)
        before = client.get(reverse("referral_detail", args=[cover.pk])).content.decode()
    with time_machine.travel(REFERRED + datetime.timedelta(days=3), tick=False):
        client.force_login(icc)
        after = client.get(reverse("referral_detail", args=[cover.pk])).content.decode()

    assert "first contact due 4 Nov 2026 09:00" in before
    assert "covered-past-limit" not in before
    assert "covered-past-limit" in after
