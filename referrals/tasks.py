from datetime import date

from celery import shared_task
from django.utils import timezone

from referrals.models import ReportKind
from referrals.reports.snapshots import nightly_periods, report_snapshot_refresh


@shared_task(
    name="referrals.refresh_report_snapshot",
    autoretry_for=(Exception,),
    retry_backoff=60,
    max_retries=3,
)
def refresh_report_snapshot(kind: str, date_from: str, date_to: str) -> int:
    snapshot = report_snapshot_refresh(
        kind=kind, date_from=date.fromisoformat(date_from), date_to=date.fromisoformat(date_to)
    )
    return snapshot.pk


@shared_task(name="referrals.nightly_reports")
def nightly_reports() -> int:
    """Queue each report for each period; one failing period is retried on its own."""
    queued = 0
    for kind in ReportKind.values:
        for date_from, date_to in nightly_periods(kind=kind, today=timezone.localdate()):
            refresh_report_snapshot.delay(kind, date_from.isoformat(), date_to.isoformat())
            queued += 1
    return queued
