"""Reading the nightly reports for a page: from their snapshots when the night computed the
period, otherwise computed on the spot with the same SQL; and keeping the dashboard's rendered
report sections while the snapshots behind them stay the same."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone

from commissioning.models import Place, System
from referrals.models import ReportKind, ReportRun, ReportSnapshot
from referrals.reports.snapshots import report_compute, snapshot_report

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
    reports: dict[str, dict[str, Any]]
    # The snapshots the reports came from, by kind; a kind computed on the spot is absent.
    stored: dict[str, ReportSnapshot]
    # The newest snapshot of any period: says whether the nights are running.
    latest: ReportSnapshot | None

    @property
    def stale(self) -> bool:
        return self.latest is None or timezone.now() - self.latest.generated_at > STALE_AFTER


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


def dashboard_reports(*, period: Period) -> DashboardReports:
    """Every report for the period: from the nightly snapshots when the night computed this
    period for every place, else computed now. One query finds the period's snapshots and the
    newest snapshot of all."""
    own = ReportSnapshot.objects.filter(system=period.system)
    newest = own.order_by("-generated_at").values("pk")[:1]
    wanted = Q(pk__in=newest)
    if period.place is None:
        wanted |= Q(date_from=period.date_from, date_to=period.date_to)
    snapshots = list(own.filter(wanted).defer("referral_ids"))
    latest = max(snapshots, key=lambda snapshot: snapshot.generated_at, default=None)
    stored = {
        snapshot.kind: snapshot
        for snapshot in snapshots
        if period.place is None
        and (snapshot.date_from, snapshot.date_to) == (period.date_from, period.date_to)
    }
    reports = {
        kind: stored[kind].data if kind in stored else _compute(kind, period)
        for kind in ReportKind.values
    }
    return DashboardReports(reports=reports, stored=stored, latest=latest)


def report_for_period(*, kind: str, period: Period) -> dict[str, Any]:
    """One whole report, with the referral ids behind its counts, for the CSV downloads and the
    drill-downs: its snapshot, else computed now."""
    if period.place is None:
        snapshot = ReportSnapshot.objects.filter(
            system=period.system, kind=kind, date_from=period.date_from, date_to=period.date_to
        ).first()
        if snapshot:
            return snapshot_report(snapshot)
    return _compute(kind, period)


def last_failed_run(*, system: System) -> ReportRun | None:
    """The system's last finished report run, if it failed: the dashboard says so."""
    run = ReportRun.objects.filter(system=system).exclude(outcome=ReportRun.Outcome.RUNNING).first()
    return run if run and run.outcome == ReportRun.Outcome.FAILED else None


def sections_rendered(*, loaded: DashboardReports, query: str, render: Callable[[], str]) -> str:
    """The report sections of a page served wholly from the nightly snapshots change only when
    a snapshot does, so each process keeps them rendered, keyed by the snapshots and the query
    (the links carry it): hundreds of table rows are then rendered once a night, not on every
    request. Figures computed on the spot are always rendered afresh."""
    if set(loaded.stored) != set(ReportKind.values):
        return render()
    versions = [f"{s.pk}@{s.generated_at.isoformat()}" for _, s in sorted(loaded.stored.items())]
    digest = hashlib.sha256("|".join([*versions, query]).encode()).hexdigest()
    key = f"dashboard-sections:{digest}"
    sections = cache.get(key)
    if sections is None:
        sections = render()
        cache.set(key, sections, SECTIONS_CACHE_SECONDS)
    return str(sections)


def _compute(kind: str, period: Period) -> dict[str, Any]:
    return report_compute(
        kind=kind,
        system=period.system,
        date_from=period.date_from,
        date_to=period.date_to,
        place=period.place,
    )
