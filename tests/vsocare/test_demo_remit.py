import datetime
from zoneinfo import ZoneInfo

import pytest

from referrals.models import RemitLimitMark
from referrals.reports.breaches import remit_breaches
from tests.factories import SystemFactory
from vsocare.demo import seed_demo
from vsocare.demo_remit import seed_demo_remit_marks

pytestmark = pytest.mark.django_db

TODAY = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("Europe/London"))


def test_the_demo_lead_marks_a_handful_of_breaching_referrals_once(time_machine):
    time_machine.move_to(TODAY, tick=False)
    seed_demo()
    seed_demo_remit_marks()  # whether or not seed_demo calls it

    marks = list(RemitLimitMark.objects.select_related("marked_by", "referral"))
    report = remit_breaches(
        system=SystemFactory(), date_from=datetime.date(2025, 1, 1), date_to=TODAY.date()
    )
    breaching = {pk for row in report["by_service"] for pk in row["referral_ids"]}

    assert 3 <= len(marks) <= 6
    assert {mark.marked_by.email for mark in marks} == {"lead@redcross.example"}
    assert all(mark.referral_id in breaching and mark.clause_text for mark in marks)
    assert len({mark.clause for mark in marks}) > 1
    assert seed_demo_remit_marks() == 0
    assert RemitLimitMark.objects.count() == len(marks)
