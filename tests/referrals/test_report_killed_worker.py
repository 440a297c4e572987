"""Reports survive a killed worker (#14 point 5): a run left "running" past the time limit is
marked failed, the dashboard says so, and its period is run again; a report stopped in the
middle of writing leaves no snapshot behind."""

import datetime
from unittest import mock

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from referrals.models import ReportKind, ReportRun, ReportSnapshot
from referrals.reports.snapshots import (
    ABANDONED_ERROR,
    report_runs_abandoned_fail,
    report_snapshot_refresh,
)
from referrals.tasks import recover_report_runs, refresh_report_snapshot

pytestmark = pytest.mark.django_db

D = datetime.date
NOW = datetime.datetime(2026, 11, 23, 3, 0, tzinfo=datetime.UTC)
LIMIT = datetime.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)


def run(system, *, started, kind=ReportKind.REFERRAL_SPLIT, outcome=ReportRun.Outcome.RUNNING):
    return ReportRun.objects.create(
        system=system, kind=kind, date_from=D(2026, 11, 1), date_to=D(2026, 11, 22),
        started_at=started, outcome=outcome,
    )  # fmt: skip


class WorkerKilled(BaseException):
    """What the process sees of a kill, as near as a test can come: not an Exception, so
    nothing catches it, and the open transaction is rolled back as Postgres rolls back a
    connection that dies."""


def test_a_run_left_running_past_the_time_limit_is_marked_failed_once(system):
    stuck = run(system, started=NOW - LIMIT - datetime.timedelta(minutes=6))
    busy = run(system, started=NOW - LIMIT + datetime.timedelta(minutes=1))

    first = report_runs_abandoned_fail(now=NOW)
    second = report_runs_abandoned_fail(now=NOW)

    assert first == [(system.pk, ReportKind.REFERRAL_SPLIT, D(2026, 11, 1), D(2026, 11, 22))]
    assert second == []
    stuck.refresh_from_db()
    busy.refresh_from_db()
    assert (stuck.outcome, stuck.finished_at, stuck.error) == ("failed", NOW, ABANDONED_ERROR)
    assert busy.outcome == "running"


def test_the_recovery_task_runs_each_abandoned_period_again_once(system):
    for minutes in (40, 50):  # the same period, abandoned twice
        run(system, started=NOW - LIMIT - datetime.timedelta(minutes=minutes))

    with (
        time_machine.travel(NOW, tick=False),
        mock.patch.object(refresh_report_snapshot, "delay") as delay,
    ):
        assert recover_report_runs() == 1

    delay.assert_called_once_with(ReportKind.REFERRAL_SPLIT, system.pk, "2026-11-01", "2026-11-22")


def test_the_dashboard_says_a_killed_run_failed_and_will_be_retried(client, commissioner, system):
    run(system, started=NOW - LIMIT - datetime.timedelta(minutes=6))
    report_runs_abandoned_fail(now=NOW)
    client.force_login(commissioner)

    page = client.get(reverse("dashboard")).content.decode()

    assert "failed at" in page and "will be retried" in page
    assert ABANDONED_ERROR in page


def test_a_report_killed_while_writing_leaves_no_snapshot_and_a_run_to_recover(system):
    real = ReportSnapshot.objects.update_or_create

    def write_then_die(*args, **kwargs):
        real(*args, **kwargs)
        assert ReportSnapshot.objects.exists()  # written, not yet committed
        raise WorkerKilled

    with (
        time_machine.travel(NOW - LIMIT - datetime.timedelta(minutes=10), tick=False),
        mock.patch.object(ReportSnapshot.objects, "update_or_create", write_then_die),
        pytest.raises(WorkerKilled),
    ):
        report_snapshot_refresh(
            kind=ReportKind.REFERRAL_SPLIT, system_id=system.pk,
            date_from=D(2026, 11, 1), date_to=D(2026, 11, 22),
        )  # fmt: skip

    assert not ReportSnapshot.objects.exists()
    assert ReportRun.objects.get().outcome == "running"  # nobody left to say otherwise
    assert len(report_runs_abandoned_fail(now=timezone.now())) == 1


def test_the_recovery_is_scheduled_and_the_broker_outlasts_every_task():
    entry = settings.CELERY_BEAT_SCHEDULE["recover-report-runs"]

    assert entry["task"] == "referrals.recover_report_runs"
    assert entry["schedule"] == datetime.timedelta(minutes=15)
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert visibility > settings.CELERY_TASK_TIME_LIMIT
