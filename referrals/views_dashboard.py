"""The commissioner's dashboard: the nightly reports, read from their snapshots when the period
is one the night computed, and computed on the spot (the same SQL) for any other period."""

import csv
from datetime import date, timedelta

from django import forms
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.models import Role
from accounts.permissions import role_required
from commissioning.models import Place
from referrals.models import ReportKind, ReportRun, ReportSnapshot
from referrals.reports.snapshots import report_compute
from referrals.selectors import referrals_visible_to
from vsocare.widgets import DateInput

STALE_AFTER = timedelta(hours=36)
RULE_NAMES = {
    "urgency": "Urgency above the highest accepted",
    "excluded_activity": "Excluded activity",
    "capacity": "Beyond monthly capacity",
    "episode_length": "Episode longer than allowed",
    "interim_cover": "Interim cover for too long",
    "concern_unacknowledged": "Concern not acknowledged in time",
}
CSV_SECTIONS = {"by_month": "month", "by_place": "place", "by_team": "team", "by_source": "source"}


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


def _report(kind: str, date_from: date, date_to: date, place) -> tuple[dict, object]:
    """The snapshot when the night computed this period for every place, else computed now."""
    if place is None:
        snapshot = ReportSnapshot.objects.filter(
            kind=kind, date_from=date_from, date_to=date_to
        ).first()
        if snapshot:
            return snapshot.data, snapshot
    return report_compute(kind=kind, date_from=date_from, date_to=date_to, place=place), None


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
        split, split_snapshot = _report(ReportKind.REFERRAL_SPLIT, date_from, date_to, place)
        breaches, _ = _report(ReportKind.REMIT_BREACHES, date_from, date_to, place)
        latest = ReportSnapshot.objects.order_by("-generated_at").first()
        last_run = ReportRun.objects.exclude(outcome=ReportRun.Outcome.RUNNING).first()
        context.update(
            split=split,
            breaches=breaches,
            snapshot=split_snapshot,
            latest=latest,
            stale=latest is None or timezone.now() - latest.generated_at > STALE_AFTER,
            failed_run=last_run
            if last_run and last_run.outcome == ReportRun.Outcome.FAILED
            else None,
            query=request.GET.urlencode(),
            rule_names=RULE_NAMES,
        )
    return render(request, "referrals/dashboard.html", context)


@role_required(Role.COMMISSIONER)
def dashboard_csv(request, section):
    if section not in CSV_SECTIONS:
        raise Http404
    _, date_from, date_to, place = _period(request)
    if not date_from:
        raise Http404
    split, _ = _report(ReportKind.REFERRAL_SPLIT, date_from, date_to, place)
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = (
        f'attachment; filename="referral-split-{section}-{date_from}-{date_to}.csv"'
    )
    writer = csv.writer(response)
    key = CSV_SECTIONS[section]
    writer.writerow([key, "total", "health", "social_care", "voluntary",
                     "percent_health", "percent_social_care", "percent_voluntary"])  # fmt: skip
    for row in split[section]:
        p = row["percent"]
        counts = [row["total"], row["health"], row["social_care"], row["voluntary"]]
        writer.writerow([row[key], *counts, p["health"], p["social_care"], p["voluntary"]])
    return response


@role_required(Role.COMMISSIONER)
def breach_referrals(request):
    """Drill-down: the referrals behind one count of the remit-breaches table."""
    _, date_from, date_to, place = _period(request)
    if not date_from:
        raise Http404
    breaches, _ = _report(ReportKind.REMIT_BREACHES, date_from, date_to, place)
    wanted = tuple(request.GET.get(key, "") for key in ("organisation", "service", "rule"))
    row = next(
        (r for r in breaches["by_service"]
         if (r["organisation"], r["service"], r["rule"]) == wanted),
        None,
    )  # fmt: skip
    if row is None:
        raise Http404("No such breach in this period")
    referrals = referrals_visible_to(request.user).filter(pk__in=row["referral_ids"])
    return render(
        request,
        "referrals/breach_referrals.html",
        {
            "row": row,
            "referrals": referrals.order_by("referred_at"),
            "overridden": set(row["overridden_ids"]),
            "date_from": date_from,
            "date_to": date_to,
        },
    )
