"""The directory as open data (Open Referral UK / HSDS 3.0); see docs/directory-open-data.md."""

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from commissioning.hsds import export


# Public on purpose, like every ORUK feed: it lists services and organisations, never a patient,
# a referral, a person's name or a specification.
@require_GET
def directory_services_json(request):
    try:
        page, per_page = export.page_request_parse(
            page=request.GET.get("page"), per_page=request.GET.get("per_page")
        )
        system_id = export.system_request_parse(system=request.GET.get("system"))
        response = JsonResponse(
            export.directory_export_page(page=page, per_page=per_page, system_id=system_id)
        )
    except export.BadPageRequest as error:
        response = JsonResponse({"error": str(error)}, status=400)
    except export.PageNotFound as error:
        response = JsonResponse({"error": str(error)}, status=404)
    # Open data: let other sites' pages (ORUK tools, local directories) read it from a browser.
    # Safe because the response never depends on who is signed in.
    response["Access-Control-Allow-Origin"] = "*"
    return response
