"""Reading the reports for a page: only ever from their snapshots. A period the nights did not
compute (any other dates, or one place) is asked of a Celery task (reports_prepare), and the page
says it is being prepared until the snapshot is there: a year computed on the spot would hold a
web worker for 5 to 20 seconds. Also keeps the dashboard's rendered report sections while the
snapshots behind them stay the same."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from commissioning.models import Place, System
from referrals.models import ReportKind, ReportRun, ReportSnapshot
from referrals.reports.snapshots import report_runs_request, snapshot_report
from referrals.tasks import prepare_report

# The nights run at 02:00; a newest snapshot older than this means they have stopped.
STALE_AFTER = timedelta(hours=36)
# Until the next night's snapshots replace the key anyway; a bound on memory, not on freshness.
SECTIONS_CACHE_SECONDS = 26 * 3600


@dataclass(frozen=True)
class Period:
    """Whole days in UK time, from and to inclusive, in one system, for one place of it or
    (None) every place."""

    system: System
    date_from: date
    date_to: date
    place: Place | None = None


@dataclass(frozen=True)
class DashboardReports:
    # The reports of the period that have a snapshot, by kind.
    reports: dict[str, dict[str, Any]]
    # The snapshots they came from, by kind.
    stored: dict[str, ReportSnapshot]
    # The newest snapshot the nights made, of any period: says whether they are running.
    latest: ReportSnapshot | None

    @property
    def stale(self) -> bool:
        return self.latest is None or timezone.now() - self.latest.generated_at > STALE_AFTER

    @property
    def missing(self) -> list[str]:
        return [kind for kind in ReportKind.values if kind not in self.stored]


@dataclass(frozen=True)
class Preparing:
    """The reports of a period still to come: being computed, or failed (and not asked again)."""

    running: list[str] = field(default_factory=list)
    failed: list[ReportRun] = field(default_factory=list)


def default_period() -> tuple[date, date]:
    """The period a report page opens on: this year to yesterday, the last day the nights have
    reported on (in January, last year)."""
    yesterday = timezone.localdate() - timedelta(days=1)
    return yesterday.replace(month=1, day=1), yesterday


def with_default_period(query: QueryDict) -> QueryDict:
    """The query with a date left out filled in from the default period, so that a page and
    every link it makes agree however it was reached. A date sent empty stays an error."""
    data = query.copy()
    for key, default in zip(("date_from", "date_to"), default_period(), strict=True):
        if key not in data:
            data[key] = default.isoformat()
    return data


def _nightly(system: System) -> QuerySet[ReportSnapshot]:
    """The system's whole-system snapshots the nights made: those of a period no page asked
    for (a period asked for just now would hide nights that stopped)."""
    asked_for = ReportRun.objects.filter(
        requested=True,
        system=OuterRef("system"),
        kind=OuterRef("kind"),
        date_from=OuterRef("date_from"),
        date_to=OuterRef("date_to"),
        place__isnull=True,
    )
    return ReportSnapshot.objects.filter(system=system, place__isnull=True).exclude(
        Exists(asked_for)
    )


def _current(snapshot: ReportSnapshot, latest: ReportSnapshot | None) -> bool:
    """Whether a snapshot is as fresh as the last night: made that night's day or since. An
    older one (a period asked for last week, say) is prepared again rather than shown as if
    current, since referrals made or changed since would be missing from it; when the nights
    have stopped, the last figures are shown, with the warning."""
    if latest is None:
        return True
    return timezone.localdate(snapshot.generated_at) >= timezone.localdate(latest.generated_at)


def dashboard_reports(*, period: Period) -> DashboardReports:
    """Every report of the period that has a current snapshot, the nights' or one a page asked
    for. One query finds the period's snapshots and the newest nightly snapshot of all."""
    newest = _nightly(period.system).order_by("-generated_at").values("pk")[:1]
    this_period = Q(date_from=period.date_from, date_to=period.date_to, place=period.place)
    snapshots = list(
        ReportSnapshot.objects.filter(system=period.system)
        .filter(Q(pk__in=newest) | this_period)
        .annotate(is_newest=Q(pk__in=newest))
        .defer("referral_ids")
    )
    latest = next((snapshot for snapshot in snapshots if snapshot.is_newest), None)
    stored: dict[str, ReportSnapshot] = {
        snapshot.kind: snapshot
        for snapshot in snapshots
        if (snapshot.date_from, snapshot.date_to, snapshot.place_id)
        == (period.date_from, period.date_to, period.place.pk if period.place else None)
        and _current(snapshot, latest)
    }
    reports = {kind: snapshot.data for kind, snapshot in stored.items()}
    return DashboardReports(reports=reports, stored=stored, latest=latest)


def report_for_period(*, kind: str, period: Period) -> dict[str, Any] | None:
    """One whole report, with the referral ids behind its counts, for the CSV downloads and the
    drill-downs: its current snapshot, or None while it has none (reports_prepare asks for
    one)."""
    snapshot = ReportSnapshot.objects.filter(
        system=period.system,
        kind=kind,
        date_from=period.date_from,
        date_to=period.date_to,
        place=period.place,
    ).first()
    if snapshot is None:
        return None
    latest = _nightly(period.system).order_by("-generated_at").defer("data", "referral_ids").first()
    return snapshot_report(snapshot) if _current(snapshot, latest) else None


def reports_prepare(*, period: Period, kinds: list[str], again: bool = False) -> Preparing:
    """Have a Celery task compute each of the kinds (which have no snapshot) for the period.

    A kind already being computed for it is joined, not started again, whoever asked; one whose
    last run failed is shown as failed, not run again on every poll, until someone asks `again`.
    The tasks are queued once the request's transaction commits, so a worker never looks for a
    run not yet written. Two queries, and one INSERT when something is to start."""
    if not kinds:
        return Preparing()
    last = {
        run.kind: run
        for run in ReportRun.objects.filter(
            system=period.system,
            date_from=period.date_from,
            date_to=period.date_to,
            place=period.place,
            requested=True,
            kind__in=kinds,
        ).order_by("kind", "-started_at").distinct("kind")
    }  # fmt: skip
    running = [k for k in kinds if k in last and last[k].outcome == ReportRun.Outcome.RUNNING]
    failed = [] if again else [
        last[k] for k in kinds if k in last and last[k].outcome == ReportRun.Outcome.FAILED
    ]  # fmt: skip
    failed_kinds = {run.kind for run in failed}
    wanted = [k for k in kinds if k not in running and k not in failed_kinds]
    started = report_runs_request(
        system=period.system,
        kinds=wanted,
        date_from=period.date_from,
        date_to=period.date_to,
        place=period.place,
    )
    for run_id in started:
        _queue_after_commit(run_id)
    # A kind that found another request's run "running" as it inserted is being computed too.
    return Preparing(running=[*running, *wanted], failed=failed)


def _queue_after_commit(run_id: int) -> None:
    transaction.on_commit(partial(prepare_report.delay, run_id))


def last_failed_run(*, system: System) -> ReportRun | None:
    """The system's last finished nightly report run, if it failed: the dashboard says so. (A
    run a page asked for shows its failure with that period, see reports_prepare.)"""
    run = (
        ReportRun.objects.filter(system=system, requested=False)
        .exclude(outcome=ReportRun.Outcome.RUNNING)
        .first()
    )
    return run if run and run.outcome == ReportRun.Outcome.FAILED else None


def sections_rendered(*, loaded: DashboardReports, query: str, render: Callable[[], str]) -> str:
    """The report sections of a page change only when a snapshot does, so the cache, shared by
    every process, keeps them rendered, keyed by the snapshots and the query (the links carry
    it): hundreds of table rows are then rendered once a night, not on every request."""
    versions = [f"{s.pk}@{s.generated_at.isoformat()}" for _, s in sorted(loaded.stored.items())]
    digest = hashlib.sha256("|".join([*versions, query]).encode()).hexdigest()
    key = f"dashboard-sections:{digest}"
    sections = cache.get(key)
    if sections is None:
        sections = render()
        cache.set(key, sections, SECTIONS_CACHE_SECONDS)
    return str(sections)
