import datetime
from unittest import mock

import pytest
import time_machine

from referrals.models import ReportKind, ReportRun, ReportSnapshot
from referrals.reports.snapshots import nightly_periods, report_snapshot_refresh
from referrals.tasks import nightly_reports
from tests.factories import ReferralFactory

pytestmark = pytest.mark.django_db

D = datetime.date
SPLIT = ReportKind.REFERRAL_SPLIT


def test_running_a_report_twice_for_a_period_replaces_the_snapshot(icc, home_from_hospital):
    ReferralFactory(referrer=icc, service=home_from_hospital)
    with time_machine.travel("2026-11-23 10:00 +0000"):
        first = report_snapshot_refresh(
            kind=SPLIT, date_from=D(2026, 11, 1), date_to=D(2026, 11, 30)
        )
        ReferralFactory(referrer=icc, service=home_from_hospital)
        second = report_snapshot_refresh(
            kind=SPLIT, date_from=D(2026, 11, 1), date_to=D(2026, 11, 30)
        )

    assert ReportSnapshot.objects.count() == 1
    assert first.pk == second.pk
    assert ReportSnapshot.objects.get().data["total"] == 2
    assert list(ReportRun.objects.values_list("outcome", flat=True)) == ["succeeded", "succeeded"]


def test_a_failed_report_is_recorded_and_leaves_the_old_snapshot_untouched():
    report_snapshot_refresh(kind=SPLIT, date_from=D(2026, 11, 1), date_to=D(2026, 11, 30))
    before = ReportSnapshot.objects.get().data

    with (
        mock.patch.dict(
            "referrals.reports.snapshots.REPORTS",
            {SPLIT: mock.Mock(side_effect=RuntimeError("disk full"))},
        ),
        pytest.raises(RuntimeError),
    ):
        report_snapshot_refresh(kind=SPLIT, date_from=D(2026, 11, 1), date_to=D(2026, 11, 30))

    failed = ReportRun.objects.order_by("-started_at").first()
    assert failed.outcome == ReportRun.Outcome.FAILED and "disk full" in failed.error
    assert ReportSnapshot.objects.get().data == before


def test_the_nightly_periods_are_yesterday_month_to_date_and_year_to_date():
    assert nightly_periods(kind=SPLIT, today=D(2026, 11, 23)) == [
        (D(2026, 11, 22), D(2026, 11, 22)),
        (D(2026, 11, 1), D(2026, 11, 22)),
        (D(2026, 1, 1), D(2026, 11, 22)),
    ]


def test_nights_missed_since_the_last_run_are_caught_up():
    report_snapshot_refresh(kind=SPLIT, date_from=D(2026, 11, 18), date_to=D(2026, 11, 18))

    periods = nightly_periods(kind=SPLIT, today=D(2026, 11, 23))

    missed = [p for p in periods if p[0] == p[1] and p[0] != D(2026, 11, 22)]
    assert missed == [(D(2026, 11, 19),) * 2, (D(2026, 11, 20),) * 2, (D(2026, 11, 21),) * 2]


def test_the_nightly_task_stores_every_report_for_every_period(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from vsocare.celery import app

    app.conf.task_always_eager = True
    try:
        with time_machine.travel("2026-11-23 02:00 +0000"):
            queued = nightly_reports()
    finally:
        app.conf.task_always_eager = False

    assert queued == 9  # three reports, three periods each
    for kind in ReportKind.values:
        assert ReportSnapshot.objects.filter(kind=kind).count() == 3
    assert set(ReportSnapshot.objects.values_list("date_from", flat=True)) == {
        D(2026, 11, 22), D(2026, 11, 1), D(2026, 1, 1),
    }  # fmt: skip


def test_the_nightly_reports_are_scheduled_at_two_in_the_morning(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["nightly-reports"]

    assert entry["task"] == "referrals.nightly_reports"
    assert entry["schedule"].hour == {2} and entry["schedule"].minute == {0}
    assert settings.CELERY_TIMEZONE == "Europe/London"
