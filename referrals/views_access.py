"""An administrator's "who has looked at this patient", for a subject access request
(docs/security.md, "Access log"). Administrators see who looked and when, never the referral."""

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Role
from accounts.permissions import role_required
from core.spreadsheets import SpreadsheetWriter
from referrals.forms_access import AccessLogSearchForm
from referrals.models import AccessKind
from referrals.selectors_access import access_records_for_patient
from referrals.services_access import access_record_by_number

CSV_COLUMNS = ("When (UK time)", "Who", "Email", "Organisation", "What", "Referral", "Detail")


def _page(request, form: AccessLogSearchForm, *, status: int = 200):
    return render(request, "referrals/access_log.html", {"form": form}, status=status)


@role_required(Role.ADMINISTRATOR)
@require_http_methods(["GET", "POST"])
def access_log(request):
    form = AccessLogSearchForm(request.POST if request.method == "POST" else None)
    if not form.is_valid():
        return _page(request, form)
    nhs_number = form.cleaned_data["nhs_number"]
    # Searching the log is itself a look at the patient's record.
    access_record_by_number(
        user=request.user, kind=AccessKind.LOOKUP, nhs_number=nhs_number, detail="access log"
    )
    records = access_records_for_patient(user=request.user, nhs_number=nhs_number)
    page = Paginator(records, 50).get_page(form.cleaned_data["page"])
    return render(
        request,
        "referrals/access_log.html",
        {"form": form, "page": page, "nhs_number": nhs_number},
    )


@role_required(Role.ADMINISTRATOR)
@require_POST
def access_log_csv(request):
    form = AccessLogSearchForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    nhs_number = form.cleaned_data["nhs_number"]
    access_record_by_number(
        user=request.user,
        kind=AccessKind.EXPORT,
        nhs_number=nhs_number,
        detail="subject access request",
    )
    records = access_records_for_patient(user=request.user, nhs_number=nhs_number)
    response = HttpResponse(content_type="text/csv")
    # Named by the day, never by the patient: file names end up in download folders and mail.
    response["Content-Disposition"] = (
        f'attachment; filename="access-log-{timezone.localdate():%Y-%m-%d}.csv"'
    )
    writer = SpreadsheetWriter(response)
    writer.writerow(CSV_COLUMNS)
    for record in records.iterator(chunk_size=2000):
        writer.writerow(
            (
                f"{timezone.localtime(record.at):%Y-%m-%d %H:%M:%S}",
                record.user.full_name,
                record.user.email,
                record.organisation.name if record.organisation else "",
                record.get_kind_display(),
                record.referral.reference if record.referral else "",
                record.detail,
            )
        )
    return response
