import datetime
import importlib
from unittest import mock

import pytest
import time_machine
from django.apps import apps as django_apps

from referrals.models import ReportKind, ReportRun, ReportSnapshot
from referrals.reports.breaches import remit_breaches
from referrals.reports.snapshots import (
    nightly_periods,
    report_snapshot_refresh,
    snapshot_report,
)
from referrals.tasks import nightly_reports
from tests.factories import ReferralFactory, SystemFactory

pytestmark = pytest.mark.django_db

D = datetime.date
SPLIT = ReportKind.REFERRAL_SPLIT


def test_running_a_report_twice_for_a_period_replaces_the_snapshot(icc, home_from_hospital):
    with time_machine.travel("2026-11-23 10:00 +0000"):
        # Made in the period, whatever day the suite runs.
        ReferralFactory(referrer=icc, service=home_from_hospital)
        first = report_snapshot_refresh(
            system_id=SystemFactory().pk,
            kind=SPLIT,
            date_from=D(2026, 11, 1),
            date_to=D(2026, 11, 30),
        )
        ReferralFactory(referrer=icc, service=home_from_hospital)
        second = report_snapshot_refresh(
            system_id=SystemFactory().pk,
            kind=SPLIT,
            date_from=D(2026, 11, 1),
            date_to=D(2026, 11, 30),
        )

    assert ReportSnapshot.objects.count() == 1
    assert first.pk == second.pk
    assert ReportSnapshot.objects.get().data["total"] == 2
    assert list(ReportRun.objects.values_list("outcome", flat=True)) == ["succeeded", "succeeded"]


def test_a_failed_report_is_recorded_and_leaves_the_old_snapshot_untouched():
    report_snapshot_refresh(
        system_id=SystemFactory().pk, kind=SPLIT, date_from=D(2026, 11, 1), date_to=D(2026, 11, 30)
    )
    before = ReportSnapshot.objects.get().data

    with (
        mock.patch.dict(
            "referrals.reports.snapshots.REPORTS",
            {SPLIT: mock.Mock(side_effect=RuntimeError("disk full"))},
        ),
        pytest.raises(RuntimeError),
    ):
        report_snapshot_refresh(
            system_id=SystemFactory().pk,
            kind=SPLIT,
            date_from=D(2026, 11, 1),
            date_to=D(2026, 11, 30),
        )

    failed = ReportRun.objects.order_by("-started_at").first()
    assert failed.outcome == ReportRun.Outcome.FAILED and "disk full" in failed.error
    assert ReportSnapshot.objects.get().data == before


def test_the_nightly_periods_are_yesterday_month_to_date_and_year_to_date():
    assert nightly_periods(system_id=SystemFactory().pk, kind=SPLIT, today=D(2026, 11, 23)) == [
        (D(2026, 11, 22), D(2026, 11, 22)),
        (D(2026, 11, 1), D(2026, 11, 22)),
        (D(2026, 1, 1), D(2026, 11, 22)),
    ]


def test_nights_missed_since_the_last_run_are_caught_up():
    report_snapshot_refresh(
        system_id=SystemFactory().pk, kind=SPLIT, date_from=D(2026, 11, 18), date_to=D(2026, 11, 18)
    )

    periods = nightly_periods(system_id=SystemFactory().pk, kind=SPLIT, today=D(2026, 11, 23))

    missed = [p for p in periods if p[0] == p[1] and p[0] != D(2026, 11, 22)]
    assert missed == [(D(2026, 11, 19),) * 2, (D(2026, 11, 20),) * 2, (D(2026, 11, 21),) * 2]


def test_the_nightly_task_stores_every_report_for_every_period(settings, system):
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


def test_a_breaches_snapshot_keeps_its_referral_ids_apart_from_its_figures(icc, home_from_hospital):
    referral = ReferralFactory(
        referrer=icc, service=home_from_hospital, urgency="emergency", override_reason="Agreed",
        referred_at=datetime.datetime(2026, 11, 10, 10, tzinfo=datetime.UTC),
    )  # fmt: skip
    computed = remit_breaches(
        system=SystemFactory(), date_from=D(2026, 11, 1), date_to=D(2026, 11, 22)
    )

    snapshot = report_snapshot_refresh(
        system_id=SystemFactory().pk,
        kind=ReportKind.REMIT_BREACHES,
        date_from=D(2026, 11, 1),
        date_to=D(2026, 11, 22),
    )

    snapshot.refresh_from_db()
    (row,) = snapshot.data["by_service"]
    assert "referral_ids" not in row and "overridden_ids" not in row
    assert (row["rule"], row["count"], row["overridden"]) == ("urgency", 1, 1)
    assert snapshot.referral_ids == {
        "by_service": [{"referral_ids": [referral.pk], "overridden_ids": [referral.pk]}]
    }
    assert snapshot_report(snapshot) == computed


def test_the_migration_moves_the_ids_of_earlier_snapshots_apart_and_back(icc, home_from_hospital):
    ReferralFactory(
        referrer=icc, service=home_from_hospital, urgency="emergency",
        referred_at=datetime.datetime(2026, 11, 10, 10, tzinfo=datetime.UTC),
    )  # fmt: skip
    whole = remit_breaches(
        system=SystemFactory(), date_from=D(2026, 11, 1), date_to=D(2026, 11, 22)
    )
    # As a snapshot was stored before the ids moved: everything in data, no overridden count.
    old = [{k: v for k, v in row.items() if k != "overridden"} for row in whole["by_service"]]
    snapshot = ReportSnapshot.objects.create(
        system=SystemFactory(),
        kind=ReportKind.REMIT_BREACHES, date_from=D(2026, 11, 1), date_to=D(2026, 11, 22),
        generated_at=datetime.datetime(2026, 11, 23, 2, tzinfo=datetime.UTC),
        data={**whole, "by_service": old},
    )  # fmt: skip
    migration = importlib.import_module("referrals.migrations.0004_report_snapshot_referral_ids")

    migration.move_ids_apart(django_apps, None)

    snapshot.refresh_from_db()
    assert snapshot_report(snapshot) == whole
    assert "referral_ids" not in snapshot.data["by_service"][0]

    migration.put_ids_back(django_apps, None)

    snapshot.refresh_from_db()
    assert snapshot.data["by_service"][0]["referral_ids"] == whole["by_service"][0]["referral_ids"]
