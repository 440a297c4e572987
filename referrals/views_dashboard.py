"""The commissioner's dashboard: the reports, read from their snapshots. A period the nights did
not compute is computed by a Celery task; until it is there the page says it is being prepared
and polls for it (see referrals.reports.loading.reports_prepare)."""

from urllib.parse import urlencode

from django import forms
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.permissions import role_required
from commissioning import remit
from commissioning.models import Place
from commissioning.selectors import places_visible_to, system_for
from core.forms import PeriodForm
from core.replica import reads_from_replica
from core.spreadsheets import SpreadsheetWriter
from referrals.models import ReportKind
from referrals.reports import loading
from referrals.reports.downloads import CSV_SECTIONS
from referrals.reports.loading import Period
from referrals.reports.split import SECTORS, period_bounds
from referrals.reports.tables import (
    BREACH_HEADINGS,
    breach_table,
    concerns_by_addressee,
    gaps_between_services,
)
from referrals.selectors import referrals_visible_to


class DashboardForm(PeriodForm):
    place = forms.ModelChoiceField(
        queryset=Place.objects.none(), required=False, empty_label="Every place"
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["place"].queryset = places_visible_to(user)


def _period(request) -> tuple[DashboardForm, Period | None]:
    """The period asked for, a date left out of the query being the default period's."""
    form = DashboardForm(loading.with_default_period(request.GET), user=request.user)
    if not form.is_valid():
        return form, None
    system = system_for(request.user)
    if system is None:
        return form, None
    data = form.cleaned_data
    return form, Period(system, data["date_from"], data["date_to"], data["place"])


def _period_query(period: Period) -> str:
    """The period spelt out in full, for every link the dashboard makes: a link then means the
    same figures whatever the default period is when it is followed."""
    query = {"date_from": period.date_from.isoformat(), "date_to": period.date_to.isoformat()}
    if period.place is not None:
        query["place"] = str(period.place.pk)
    return urlencode(query)


@reads_from_replica
@role_required(Role.COMMISSIONER)
def dashboard(request):
    form, period = _period(request)
    context = {"form": form}
    if period:
        loaded = loading.dashboard_reports(period=period)
        query = _period_query(period)
        context.update(
            query=query,
            latest=loaded.latest,
            stale=loaded.stale,
            failed_run=loading.last_failed_run(system=period.system),
        )
        if loaded.missing:
            context["preparing"] = loading.reports_prepare(period=period, kinds=loaded.missing)
            context["place"] = period.place
            return render(request, "referrals/dashboard.html", context)
        sections = loading.sections_rendered(
            loaded=loaded,
            query=query,
            render=lambda: render_to_string(
                "referrals/_dashboard_sections.html", _sections_context(loaded.reports, query)
            ),
        )
        context.update(
            split=loaded.reports[ReportKind.REFERRAL_SPLIT],
            sections=mark_safe(sections),  # rendered by the template engine, escaped there
            snapshot=loaded.stored[ReportKind.REFERRAL_SPLIT],
            old_figures=timezone.now() - loaded.stored[ReportKind.REFERRAL_SPLIT].generated_at
            > loading.STALE_AFTER,
        )
    return render(request, "referrals/dashboard.html", context)


@reads_from_replica
@role_required(Role.COMMISSIONER)
def dashboard_preparing(request):
    """What the "being prepared" panel polls: the panel again while a report is being computed
    (or has failed), and once every report is there a full reload (HX-Refresh), which draws the
    page, charts and all, from the snapshots as any other visit would."""
    _, period = _period(request)
    if not period:
        raise Http404
    loaded = loading.dashboard_reports(period=period)
    if not loaded.missing:
        response = HttpResponse("The reports are ready.")
        response["HX-Refresh"] = "true"
        return response
    return render(
        request,
        "referrals/_report_preparing.html",
        {
            "preparing": loading.reports_prepare(period=period, kinds=loaded.missing),
            "query": _period_query(period),
            "place": period.place,
        },
    )


@require_POST
@role_required(Role.COMMISSIONER)
def dashboard_prepare(request):
    """Ask again for the reports of a period whose computing failed."""
    _, period = _period(request)
    if not period:
        raise Http404
    loading.reports_prepare(
        period=period, kinds=loading.dashboard_reports(period=period).missing, again=True
    )
    return redirect(f"{reverse('dashboard')}?{_period_query(period)}")


def _being_prepared(request, *, period: Period, kind: str) -> HttpResponse:
    """A download or drill-down of a period with no snapshot: ask for it, and say so (202, the
    request accepted and not yet done) rather than compute it here."""
    return render(
        request,
        "referrals/report_being_prepared.html",
        {
            "preparing": loading.reports_prepare(period=period, kinds=[kind]),
            "query": _period_query(period),
            "place": period.place,
            "date_from": period.date_from,
            "date_to": period.date_to,
        },
        status=202,
    )


def _sections_context(reports: dict, query: str) -> dict:
    split = reports[ReportKind.REFERRAL_SPLIT]
    activity = reports[ReportKind.SERVICE_ACTIVITY]
    capacity = [row for row in activity["services"] if row["capacity_commissioned"]]
    gaps = gaps_between_services(split)
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
            "gaps-data": _chart(gaps.by_statutory_organisation, "organisation", "total"),
        },
        "gaps": gaps,
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


@reads_from_replica
@role_required(Role.COMMISSIONER)
def dashboard_csv(request, section):
    if section not in CSV_SECTIONS:
        raise Http404
    _, period = _period(request)
    if not period:
        raise Http404
    kind, rows, columns = CSV_SECTIONS[section]
    report = loading.report_for_period(kind=kind, period=period)
    if report is None:
        return _being_prepared(request, period=period, kind=kind)
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = (
        f'attachment; filename="{section.replace("_", "-")}-{period.date_from}-'
        f'{period.date_to}.csv"'
    )
    writer = SpreadsheetWriter(response)
    writer.writerow(columns)
    for row in rows(report):
        writer.writerow([row[column] for column in columns])
    return response


def _referral_page(request, *, heading: str, summary: str, referrals, period: Period):
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
            "date_from": period.date_from,
            "date_to": period.date_to,
            "back_query": back.urlencode(),
        },
    )


@reads_from_replica
@role_required(Role.COMMISSIONER)
def breach_referrals(request):
    """Drill-down: the referrals behind one count of the remit-breaches table, or behind the
    referrals a VSO marked at the limit of its remit."""
    _, period = _period(request)
    if not period:
        raise Http404
    breaches = loading.report_for_period(kind=ReportKind.REMIT_BREACHES, period=period)
    if breaches is None:
        return _being_prepared(request, period=period, kind=ReportKind.REMIT_BREACHES)
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
        period=period,
    )


@reads_from_replica
@role_required(Role.COMMISSIONER)
def override_referrals(request):
    """Drill-down: the referrals sent to one service with an override reason in the period."""
    _, period = _period(request)
    try:
        service_id = int(request.GET.get("service", ""))
    except ValueError:
        raise Http404 from None
    if not period:
        raise Http404
    start, end = period_bounds(period.date_from, period.date_to)
    referrals = (
        referrals_visible_to(request.user)
        .filter(service_id=service_id, referred_at__gte=start, referred_at__lt=end)
        .exclude(override_reason="")
    )
    if period.place is not None:
        referrals = referrals.filter(place=period.place)
    first = referrals.first()
    if first is None:
        raise Http404("No overrides for this service in this period")
    return _referral_page(
        request,
        heading=f"{first.service.name}: sent with an override reason",
        summary=first.organisation.name,
        referrals=referrals,
        period=period,
    )
