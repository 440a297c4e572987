"""Gap referrals are counted (#12 point 5): the split report says how many voluntary referrals
were made after a statutory service declined or disputed the work, by whom and why, and how many
statutory waits passed their limit in the period."""

import datetime
import json
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from referrals.reports.split import referral_split
from tests.factories import OrganisationFactory, ReferralFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 23, 10, tzinfo=datetime.UTC)
NOVEMBER = {"date_from": datetime.date(2026, 11, 1), "date_to": datetime.date(2026, 11, 30)}


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def gap(icc, service, declined_by, reason, day=10):
    return ReferralFactory(
        referrer=icc, service=service, statutory_declined_by=declined_by,
        statutory_decline_reason=reason,
        referred_at=datetime.datetime(2026, 11, day, 9, tzinfo=datetime.UTC),
    )  # fmt: skip


def test_gap_referrals_are_counted_by_who_declined_and_why(
    system, icc, home_from_hospital, social_care, community_trust, western_people
):
    gap(icc, home_from_hospital, social_care, "Not social care: it's health")
    gap(icc, home_from_hospital, social_care, "  not social care: it's health ")
    gap(icc, home_from_hospital, social_care, "No capacity this month")
    gap(icc, home_from_hospital, community_trust, "Not a nursing need")
    gap(icc, home_from_hospital, community_trust, "Not a nursing need", day=2)
    ReferralFactory(referrer=icc, service=home_from_hospital)  # no statutory decline: no gap
    earlier = gap(icc, home_from_hospital, social_care, "Before the period")
    earlier.referred_at = datetime.datetime(2026, 10, 30, tzinfo=datetime.UTC)
    earlier.save()

    report = referral_split(system=system, **NOVEMBER)

    assert report["gap_referrals"] == {
        "total": 5,
        "by_statutory_organisation": [
            {"organisation": community_trust.name, "total": 2,
             "reasons": [{"reason": "Not a nursing need", "count": 2}]},
            {"organisation": social_care.name, "total": 3,
             "reasons": [{"reason": "Not social care: it's health", "count": 2},
                         {"reason": "No capacity this month", "count": 1}]},
        ],
    }  # fmt: skip


def test_another_systems_gaps_are_not_counted(system, western, icc, home_from_hospital):
    western_trust = OrganisationFactory(system=western, name="Western Trust")
    gap(icc, home_from_hospital, western_trust, "Theirs")

    assert referral_split(system=western, **NOVEMBER)["gap_referrals"]["total"] == 0


def test_statutory_waits_past_their_limit_in_the_period_are_counted(system, icc, social_care):
    def wait(urgency, day, contact_after=None, status="received"):
        referred = datetime.datetime(2026, 11, day, 9, tzinfo=datetime.UTC)
        return ReferralFactory(
            referrer=icc, organisation=social_care, service=None,
            destination_sector="social_care", urgency=urgency, referred_at=referred,
            status=status, decline_reason="Full." if status == "declined" else "",
            first_contact_at=referred + contact_after if contact_after else None,
        )  # fmt: skip

    wait("urgent", 3)  # still no contact after 20 days: past
    wait("urgent", 3, contact_after=datetime.timedelta(days=3))  # contacted late: past
    wait("urgent", 3, contact_after=datetime.timedelta(days=1))  # in time
    wait("routine", 20)  # 3 days into its 28: not yet
    wait("urgent", 3, status="declined")  # declined: no longer a wait

    report = referral_split(system=system, **NOVEMBER)

    assert report["statutory_waits_past_limit"] == 2


def test_the_report_command_prints_the_gap_referrals_in_its_json(
    system, icc, home_from_hospital, social_care
):
    gap(icc, home_from_hospital, social_care, "Not social care")
    out = StringIO()

    call_command(
        "report", "referral-split", "--from", "2026-11-01", "--to", "2026-11-30",
        "--system", system.name, stdout=out,
    )  # fmt: skip

    printed = json.loads(out.getvalue())
    assert printed["gap_referrals"]["total"] == 1
    assert printed["gap_referrals"]["by_statutory_organisation"][0]["reasons"] == [
        {"reason": "Not social care", "count": 1}
    ]
