"""The "Added value" pages: what wellbeing co-ordination achieved, from the outcomes report.

Commissioners see their whole system, with small numbers suppressed as in published NHS
statistics: theirs is a secondary use, and a table of four people in a small place can name
them. A VSO lead sees their own organisation's clients, whom they care for, in full on the page;
every CSV leaves the app, so every CSV is suppressed.
"""

import json
from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpResponse
from django.shortcuts import render

from accounts.models import Role
from accounts.permissions import role_required
from commissioning.codes import NeedGroup
from commissioning.instruments import Measure
from commissioning.models import Organisation
from commissioning.selectors import system_for
from core.replica import reads_from_replica
from core.spreadsheets import SpreadsheetWriter
from referrals.forms_added_value import AddedValueForm
from referrals.reports.loading import with_default_period
from referrals.reports.outcomes import CSV_COLUMNS, csv_rows, outcomes_report
from referrals.reports.suppression import suppressed

# The measures as the tables show them, in this order.
MEASURES = [(measure.value, measure.label) for measure in Measure]
NEED_GROUPS = [(group.value, group.label) for group in NeedGroup if group != NeedGroup.STATUTORY]


def _scoped(request) -> tuple[AddedValueForm, dict[str, Any] | None, str]:
    """The form, the report for the period and scope it asks for (None while it has errors),
    and the query that names them in full for the page's links."""
    form = AddedValueForm(with_default_period(request.GET), user=request.user)
    system = system_for(request.user)
    if not form.is_valid() or system is None:
        return form, None, ""
    data = form.cleaned_data
    organisation = data.get("organisation")
    if request.user.role != Role.COMMISSIONER:
        organisation = Organisation.objects.filter(pk=request.user.organisation_id).first()
        if organisation is None:
            raise Http404
    report = outcomes_report(
        system=system,
        date_from=data["date_from"],
        date_to=data["date_to"],
        organisation=organisation,
        service=data.get("service"),
        place=data.get("place"),
    )
    if organisation is not None and request.user.role != Role.COMMISSIONER:
        # Other organisations' funding is the commissioners' to compare, not a competitor's.
        report["parity"] = {
            "by_service": [
                row
                for row in report["parity"]["by_service"]
                if row["organisation"] == organisation.name
            ],
            "by_place": [],
        }
    query = {"date_from": data["date_from"].isoformat(), "date_to": data["date_to"].isoformat()}
    for key in ("place", "organisation", "service"):
        if data.get(key) is not None:
            query[key] = str(data[key].pk)
    return form, report, urlencode(query)


def _number(value: Any) -> Any:
    """A chart draws numbers; a suppressed figure ('<5', 'withheld') is a gap in it."""
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _shown(report: dict[str, Any]) -> dict[str, Any]:
    """The report laid out for the tables and charts of the page and the dashboard section."""
    overall = report["overall"]
    # A measure nobody in the cohort has both scores of (SWEMWBS where the full WEMWBS is used)
    # would be a column of dashes; while none has any, all are shown, saying so.
    taken = [
        (key, label)
        for key, label in MEASURES
        if overall["measures"].get(key, {}).get("people") not in (None, 0)
    ] or MEASURES
    measures = [{"name": label, **overall["measures"][key]} for key, label in taken]
    groups = [
        {
            **group,
            "overall": group is overall,
            "label": "Everyone" if group is overall else group["label"],
            "measures": [group["measures"].get(key, {}) for key, _ in taken],
        }
        for group in (*report["by_group"], overall)
    ]
    return {
        "report": report,
        "measures": measures,
        "measure_names": [label for _, label in taken],
        "groups": groups,
        "mix": [
            {
                "label": label,
                "issues": overall["issues_mix"].get(key),
                "inputs": overall["inputs_mix"].get(key),
            }
            for key, label in NEED_GROUPS
        ],
        "parity": report["parity"],
        # In the canvases' data-rows: htmx inserts no <script>, so no json_script either.
        "chart_rows": {
            "measures": json.dumps(
                [
                    {
                        "name": m["name"],
                        "before": _number(m["before"]),
                        "after": _number(m["after"]),
                    }
                    for m in measures
                ]
            ),
            "parity": json.dumps(
                [
                    {
                        "service": row["service"],
                        "referral_share_percent": _number(row["referral_share_percent"]),
                        "funding_share_percent": _number(row["funding_share_percent"]),
                    }
                    for row in report["parity"]["by_service"]
                ]
            ),
        },
    }


def _page(request, *, heading: str, csv_url_name: str, suppress: bool):
    form, report, query = _scoped(request)
    context: dict[str, Any] = {"form": form, "heading": heading, "csv_url_name": csv_url_name}
    if report is not None:
        context |= _shown(suppressed(report) if suppress else report)
        context |= {"query": query, "suppressed_view": suppress}
    return render(request, "referrals/added_value.html", context)


def _csv(request, *, name: str) -> HttpResponse:
    _, report, _ = _scoped(request)
    if report is None:
        raise Http404("Choose a period first")
    response = HttpResponse(content_type="text/csv")
    period = report["period"]
    response["Content-Disposition"] = (
        f'attachment; filename="{name}-{period["from"]}-{period["to"]}.csv"'
    )
    writer = SpreadsheetWriter(response)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_rows(suppressed(report)))
    return response


@reads_from_replica
@role_required(Role.COMMISSIONER)
def added_value(request):
    return _page(
        request,
        heading="Added value of wellbeing co-ordination",
        csv_url_name="added_value_csv",
        suppress=True,
    )


@reads_from_replica
@role_required(Role.COMMISSIONER)
def added_value_section(request):
    """The dashboard's "Added value" section, which the dashboard fetches once it has shown
    the nightly reports: the outcomes report is computed now, and need not hold them up."""
    _, report, query = _scoped(request)
    if report is None:
        raise Http404("Choose a period first")
    context = _shown(suppressed(report)) | {"query": query, "suppressed_view": True}
    return render(request, "referrals/_added_value_section.html", context)


@reads_from_replica
@role_required(Role.COMMISSIONER)
def added_value_csv(request):
    return _csv(request, name="added-value")


@reads_from_replica
@role_required(Role.VSO_LEAD)
def our_outcomes(request):
    return _page(request, heading="Our outcomes", csv_url_name="our_outcomes_csv", suppress=False)


@reads_from_replica
@role_required(Role.VSO_LEAD)
def our_outcomes_csv(request):
    return _csv(request, name="our-outcomes")
