from datetime import date

from celery import shared_task
from django.utils import timezone

from commissioning.models import System
from referrals.models import ReportKind, ReportRun
from referrals.reports.snapshots import (
    nightly_periods,
    report_run_compute,
    report_runs_abandoned_fail,
    report_snapshot_refresh,
)
from referrals.services_access import access_records_prune
from referrals.services_escalation import escalate_overdue as escalation_pass


@shared_task(
    name="referrals.refresh_report_snapshot",
    autoretry_for=(Exception,),
    retry_backoff=60,
    max_retries=3,
)
def refresh_report_snapshot(kind: str, system_id: int, date_from: str, date_to: str) -> int:
    snapshot = report_snapshot_refresh(
        kind=kind,
        system_id=system_id,
        date_from=date.fromisoformat(date_from),
        date_to=date.fromisoformat(date_to),
    )
    return snapshot.pk


# Not retried by Celery: the page that asked shows the failure and offers to ask again, rather
# than saying "being prepared" through minutes of back-off.
@shared_task(name="referrals.prepare_report")
def prepare_report(run_id: int) -> int | None:
    """Compute a report a page asked for (referrals.reports.loading.reports_prepare). Run twice
    (a worker killed and the task delivered again), the second finds the run still "running"
    and computes it again; a run already finished is left alone."""
    run = (
        ReportRun.objects.select_related("system", "place")
        .filter(pk=run_id, outcome=ReportRun.Outcome.RUNNING)
        .first()
    )
    if run is None:
        return None
    return report_run_compute(run=run).pk


@shared_task(name="referrals.nightly_reports")
def nightly_reports() -> int:
    """Queue each report for each system and period; one failing period is retried on its
    own."""
    queued = 0
    today = timezone.localdate()
    for system_id in System.objects.order_by("pk").values_list("pk", flat=True):
        for kind in ReportKind.values:
            for date_from, date_to in nightly_periods(kind=kind, system_id=system_id, today=today):
                refresh_report_snapshot.delay(
                    kind, system_id, date_from.isoformat(), date_to.isoformat()
                )
                queued += 1
    return queued


@shared_task(name="referrals.recover_report_runs")
def recover_report_runs() -> int:
    """Runs whose worker was killed are marked failed, and their periods run again."""
    abandoned = report_runs_abandoned_fail(now=timezone.now())
    for system_id, kind, date_from, date_to in abandoned:
        refresh_report_snapshot.delay(kind, system_id, date_from.isoformat(), date_to.isoformat())
    return len(abandoned)


@shared_task(name="referrals.prune_access_log")
def prune_access_log() -> int:
    """Delete the access records older than ACCESS_LOG_RETENTION_DAYS."""
    return access_records_prune(now=timezone.now())


@shared_task(name="referrals.escalate_overdue")
def escalate_overdue() -> int:
    """Escalate the concerns past their acknowledgement deadline and the statutory waits past
    their limit; each only once, however many workers run this at the same time or again after
    a restart. Returns how many were escalated in all."""
    return escalation_pass(now=timezone.now()).total
