"""Each integrated care system's reports count its own referrals only, are stored as its own
snapshots and are computed each night for every system."""

import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import Role
from commissioning.models import System
from referrals.models import ReportKind, ReportSnapshot
from referrals.reports.breaches import remit_breaches
from referrals.reports.snapshots import report_compute, report_snapshot_refresh
from referrals.reports.split import referral_split
from tests.factories import ReferralFactory, ServiceFactory, SpecificationFactory

pytestmark = pytest.mark.django_db

JUNE = {"date_from": datetime.date(2026, 6, 1), "date_to": datetime.date(2026, 6, 30)}
WHEN = timezone.make_aware(datetime.datetime(2026, 6, 10, 10))


@pytest.fixture
def both(icc, home_from_hospital, western_people, system, western):
    """Two Eastern referrals and one Western, all in June, all beyond a capacity of 0."""
    west_service = ServiceFactory(organisation=western_people[Role.VSO_LEAD].organisation)
    SpecificationFactory(service=west_service, monthly_capacity=0)
    home_from_hospital.specifications.update(monthly_capacity=0)
    for _ in range(2):
        ReferralFactory(referrer=icc, service=home_from_hospital, referred_at=WHEN)
    ReferralFactory(referrer=western_people[Role.ICC], service=west_service, referred_at=WHEN)
    return system, western


def test_the_split_counts_only_the_systems_own_referrals(both):
    eastern, western = both

    assert referral_split(system=eastern, **JUNE)["total"] == 2
    assert referral_split(system=western, **JUNE)["total"] == 1


def test_remit_breaches_count_only_the_systems_own_referrals(both):
    eastern, western = both

    assert remit_breaches(system=eastern, **JUNE)["by_rule"]["capacity"] == 2
    assert remit_breaches(system=western, **JUNE)["by_rule"]["capacity"] == 1


def test_another_systems_place_is_refused(both):
    eastern, western = both
    westbay = western.places.get()

    with pytest.raises(Exception, match="not a place of Eastern Health"):
        report_compute(kind=ReportKind.REFERRAL_SPLIT, system=eastern, place=westbay, **JUNE)


def test_each_system_keeps_its_own_snapshot_of_a_period(both):
    eastern, western = both

    for system in (eastern, western):
        report_snapshot_refresh(kind=ReportKind.REFERRAL_SPLIT, system_id=system.pk, **JUNE)

    totals = dict(ReportSnapshot.objects.values_list("system__name", "data__total"))
    assert totals == {"Eastern Health": 2, "Western Health": 1}


def test_the_nightly_task_queues_every_report_for_every_system(both, monkeypatch):
    from referrals import tasks

    queued = []
    monkeypatch.setattr(tasks.refresh_report_snapshot, "delay", lambda *args: queued.append(args))

    count = tasks.nightly_reports()

    assert count == len(queued) == System.objects.count() * len(ReportKind.values) * 3
    assert {args[1] for args in queued} == set(System.objects.values_list("pk", flat=True))


def test_the_command_asks_which_system_when_there_are_several(both):
    with pytest.raises(CommandError, match="Name the system with --system"):
        call_command("report", "referral-split", "--from", "2026-06-01", "--to", "2026-06-30")

    out = io.StringIO()
    call_command(
        "report", "referral-split", "--from", "2026-06-01", "--to", "2026-06-30",
        "--system", "western health", stdout=out,
    )  # fmt: skip
    assert '"total": 1' in out.getvalue()
