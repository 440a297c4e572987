"""The commissioner's dashboard: the nightly reports, read from their snapshots when the period
is one the night computed, and computed on the spot (the same SQL) for any other period."""

import csv
import hashlib
from datetime import date, timedelta

from django import forms
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from accounts.models import Role
from accounts.permissions import role_required
from commissioning import remit
from commissioning.models import Place
from core.widgets import DateInput
from referrals.models import ReportKind, ReportRun, ReportSnapshot
from referrals.reports.snapshots import report_compute, snapshot_report
from referrals.reports.split import SECTORS, period_bounds
from referrals.reports.tables import BREACH_HEADINGS, breach_table, concerns_by_addressee
from referrals.selectors import referrals_visible_to

STALE_AFTER = timedelta(hours=36)
# Until the next night's snapshots replace the key anyway; a bound on memory, not on freshness.
SECTIONS_CACHE_SECONDS = 26 * 3600


class DashboardForm(forms.Form):
    date_from = forms.DateField(label="From", widget=DateInput())
    date_to = forms.DateField(label="To", widget=DateInput())
    place = forms.ModelChoiceField(
        queryset=Place.objects.order_by("name"), required=False, empty_label="Every place"
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The period ends before it starts.")
        return cleaned


def _default_period() -> tuple[date, date]:
    yesterday = timezone.localdate() - timedelta(days=1)
    return yesterday.replace(month=1, day=1), yesterday


def _reports(date_from: date, date_to: date, place) -> tuple[dict, dict, ReportSnapshot | None]:
    """Every report for the period: from the nightly snapshots when the night computed this
    period for every place, else computed now (the same SQL). One query finds the period's
    snapshots and the newest snapshot of all, which says whether the nights are running."""
    newest = ReportSnapshot.objects.order_by("-generated_at").values("pk")[:1]
    wanted = Q(pk__in=newest)
    if place is None:
        wanted |= Q(date_from=date_from, date_to=date_to)
    snapshots = list(ReportSnapshot.objects.filter(wanted).defer("referral_ids"))
    latest = max(snapshots, key=lambda snapshot: snapshot.generated_at, default=None)
    stored = {
        snapshot.kind: snapshot
        for snapshot in snapshots
        if place is None and (snapshot.date_from, snapshot.date_to) == (date_from, date_to)
    }
    reports = {
        kind: stored[kind].data
        if kind in stored
        else report_compute(kind=kind, date_from=date_from, date_to=date_to, place=place)
        for kind in ReportKind.values
    }
    return reports, stored, latest


def _report(kind: str, date_from: date, date_to: date, place) -> dict:
    """One report for the CSV downloads and drill-downs: its snapshot, else computed now."""
    if place is None:
        snapshot = ReportSnapshot.objects.filter(
            kind=kind, date_from=date_from, date_to=date_to
        ).first()
        if snapshot:
            return snapshot_report(snapshot)
    return report_compute(kind=kind, date_from=date_from, date_to=date_to, place=place)


def _period(request) -> tuple[DashboardForm, date | None, date | None, Place | None]:
    start, end = _default_period()
    data = request.GET or {"date_from": start, "date_to": end}
    form = DashboardForm(data)
    if not form.is_valid():
        return form, None, None, None
    return (
        form,
        form.cleaned_data["date_from"],
        form.cleaned_data["date_to"],
        form.cleaned_data["place"],
    )


@role_required(Role.COMMISSIONER)
def dashboard(request):
    form, date_from, date_to, place = _period(request)
    context = {"form": form}
    if date_from:
        reports, stored, latest = _reports(date_from, date_to, place)
        last_run = ReportRun.objects.exclude(outcome=ReportRun.Outcome.RUNNING).first()
        key = _sections_key(stored, request.GET.urlencode())
        sections = cache.get(key) if key else None
        if sections is None:
            sections = render_to_string(
                "referrals/_dashboard_sections.html", _sections_context(request, reports)
            )
            if key:
                cache.set(key, sections, SECTIONS_CACHE_SECONDS)
        context.update(
            split=reports[ReportKind.REFERRAL_SPLIT],
            sections=mark_safe(sections),  # rendered by the template engine, escaped there
            snapshot=stored.get(ReportKind.REFERRAL_SPLIT),
            latest=latest,
            stale=latest is None or timezone.now() - latest.generated_at > STALE_AFTER,
            failed_run=last_run
            if last_run and last_run.outcome == ReportRun.Outcome.FAILED
            else None,
        )
    return render(request, "referrals/dashboard.html", context)


def _sections_key(stored: dict, query: str) -> str | None:
    """The report sections of a page served wholly from the nightly snapshots change only when
    a snapshot does, so each process keeps them rendered, keyed by the snapshots and the query
    (the links carry it): hundreds of table rows are then rendered once a night, not on every
    request. Figures computed on the spot are always rendered afresh."""
    if set(stored) != set(ReportKind.values):
        return None
    versions = [f"{s.pk}@{s.generated_at.isoformat()}" for _, s in sorted(stored.items())]
    digest = hashlib.sha256("|".join([*versions, query]).encode()).hexdigest()
    return f"dashboard-sections:{digest}"


def _sections_context(request, reports: dict) -> dict:
    split = reports[ReportKind.REFERRAL_SPLIT]
    activity = reports[ReportKind.SERVICE_ACTIVITY]
    capacity = [row for row in activity["services"] if row["capacity_commissioned"]]
    query = request.GET.urlencode()
    return {
        "split": split,
        "breaches": reports[ReportKind.REMIT_BREACHES],
        "breach_table": breach_table(
            reports[ReportKind.REMIT_BREACHES], drill_down=reverse("breach_referrals"), query=query
        ),
        "breach_headings": BREACH_HEADINGS,
        "concerns": concerns_by_addressee(activity["concerns"]),
        # Only what each chart draws; every figure is also in the table beside it.
        "charts": {
            "split-by-month": _chart(split["by_month"], "month", *SECTORS),
            "split-by-place": _chart(split["by_place"], "place", *SECTORS),
            "capacity-data": _chart(capacity, "service", "capacity_used", "capacity_commissioned"),
            "teams-data": _chart(activity["teams"], "team", "voluntary_services"),
        },
        "activity": activity,
        "capacity": capacity,
        "overrides": [row for row in activity["services"] if row["overrides"]],
        "single_service_teams": sum(
            1 for team in activity["teams"] if team["voluntary_services"] == 1
        ),
        "query": query,
    }


def _chart(rows: list[dict], *fields: str) -> list[dict]:
    return [{field: row[field] for field in fields} for row in rows]


def _split_rows(section: str, key: str):
    def rows(report: dict) -> list[dict]:
        return [
            {key: row[key], **row, **{f"percent_{s}": row["percent"][s] for s in SECTORS}}
            for row in report[section]
        ]

    columns = (key, "total", *SECTORS, *(f"percent_{s}" for s in SECTORS))
    return ReportKind.REFERRAL_SPLIT, rows, columns


def _activity_rows(section: str, columns: tuple[str, ...], keep=None):
    def rows(report: dict) -> list[dict]:
        return [row for row in report[section] if keep is None or keep(row)]

    return ReportKind.SERVICE_ACTIVITY, rows, columns


def _breach_rows(report: dict) -> list[dict]:
    return [
        {**row, "referral_ids": " ".join(map(str, row["referral_ids"])),
         "overridden": len(row["overridden_ids"])}
        for row in report["by_service"]
    ]  # fmt: skip


SERVICE_COLUMNS = (
    "organisation", "service", "received", "accepted", "declined", "withdrawn", "contacted",
    "median_hours_to_contact", "response_target_hours", "contacted_within_target",
    "overrides", "marked_at_limit",
)  # fmt: skip
# Every table on the dashboard, downloadable: (report, its rows, the columns written).
CSV_SECTIONS = {
    "by_month": _split_rows("by_month", "month"),
    "by_place": _split_rows("by_place", "place"),
    "by_team": _split_rows("by_team", "team"),
    "by_source": _split_rows("by_source", "source"),
    "services": _activity_rows("services", SERVICE_COLUMNS),
    "capacity": _activity_rows(
        "services",
        (
            "organisation",
            "service",
            "capacity_used",
            "capacity_commissioned",
            "months_over_capacity",
            "capacity_used_without_limit",
        ),
        keep=lambda row: row["capacity_commissioned"],
    ),
    "overrides": _activity_rows(
        "services",
        ("organisation", "service", "received", "overrides"),
        keep=lambda row: row["overrides"],
    ),
    "teams": _activity_rows(
        "teams",
        (
            "team",
            "referrals",
            "voluntary_referrals",
            "voluntary_services",
            "voluntary_organisations",
        ),
    ),
    "off_the_radar": _activity_rows(
        "off_the_radar", ("organisation", "service", "kind", "last_verified_on")
    ),
    "concerns": _activity_rows(
        "concerns",
        (
            "addressed_to",
            "raised_by",
            "open",
            "awaiting_acknowledgement",
            "past_deadline",
            "serious",
            "oldest_raised_on",
        ),
    ),
    "breaches": (
        ReportKind.REMIT_BREACHES,
        _breach_rows,
        ("organisation", "service", "rule", "count", "overridden", "referral_ids"),
    ),
}


@role_required(Role.COMMISSIONER)
def dashboard_csv(request, section):
    if section not in CSV_SECTIONS:
        raise Http404
    _, date_from, date_to, place = _period(request)
    if not date_from:
        raise Http404
    kind, rows, columns = CSV_SECTIONS[section]
    report = _report(kind, date_from, date_to, place)
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = (
        f'attachment; filename="{section.replace("_", "-")}-{date_from}-{date_to}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(columns)
    for row in rows(report):
        writer.writerow([row[column] for column in columns])
    return response


def _referral_page(request, *, heading: str, summary: str, referrals, date_from, date_to):
    back = request.GET.copy()
    for key in ("organisation", "service", "rule", "page"):
        back.pop(key, None)
    return render(
        request,
        "referrals/dashboard_referrals.html",
        {
            "heading": heading,
            "summary": summary,
            # A year's capacity breaches can be thousands of referrals.
            "page": Paginator(referrals.order_by("referred_at", "pk"), 50).get_page(
                request.GET.get("page")
            ),
            "date_from": date_from,
            "date_to": date_to,
            "back_query": back.urlencode(),
        },
    )


@role_required(Role.COMMISSIONER)
def breach_referrals(request):
    """Drill-down: the referrals behind one count of the remit-breaches table, or behind the
    referrals a VSO marked at the limit of its remit."""
    _, date_from, date_to, place = _period(request)
    if not date_from:
        raise Http404
    breaches = _report(ReportKind.REMIT_BREACHES, date_from, date_to, place)
    wanted = tuple(request.GET.get(key, "") for key in ("organisation", "service", "rule"))
    row = next(
        (r for r in (*breaches["by_service"], *breaches.get("marked_at_limit", []))
         if (r["organisation"], r["service"], r["rule"]) == wanted),
        None,
    )  # fmt: skip
    if row is None:
        raise Http404("No such breach in this period")
    rule = remit.rule_name(row["rule"])
    return _referral_page(
        request,
        heading=f"{row['service']}: {rule.lower()}",
        summary=row["organisation"],
        referrals=referrals_visible_to(request.user).filter(pk__in=row["referral_ids"]),
        date_from=date_from,
        date_to=date_to,
    )


@role_required(Role.COMMISSIONER)
def override_referrals(request):
    """Drill-down: the referrals sent to one service with an override reason in the period."""
    _, date_from, date_to, place = _period(request)
    try:
        service_id = int(request.GET.get("service", ""))
    except ValueError:
        raise Http404 from None
    if not date_from:
        raise Http404
    start, end = period_bounds(date_from, date_to)
    referrals = (
        referrals_visible_to(request.user)
        .filter(service_id=service_id, referred_at__gte=start, referred_at__lt=end)
        .exclude(override_reason="")
    )
    if place is not None:
        referrals = referrals.filter(place=place)
    first = referrals.first()
    if first is None:
        raise Http404("No overrides for this service in this period")
    return _referral_page(
        request,
        heading=f"{first.service.name}: sent with an override reason",
        summary=first.organisation.name,
        referrals=referrals,
        date_from=date_from,
        date_to=date_to,
    )
