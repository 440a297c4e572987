from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from commissioning import selectors, selectors_directory, services
from commissioning.filters import OrganisationFilter
from commissioning.forms import DirectorySearchForm, ListingForm, ServiceListingForm
from commissioning.selectors_history import commissioning_record_history
from commissioning.services import LISTING_FIELDS
from core.conflicts import EditConflict
from core.pagination import counted_page


@login_required
def organisation_list(request):
    filterset = OrganisationFilter(
        request.GET, queryset=selectors.organisations_visible_to(request.user), request=request
    )
    page = Paginator(filterset.qs, 25).get_page(request.GET.get("page"))
    return render(
        request, "commissioning/organisation_list.html", {"filter": filterset, "page": page}
    )


@login_required
def organisation_detail(request, pk):
    organisation = selectors.get_organisation_for_user(request.user, pk)
    today = timezone.localdate()
    return render(
        request,
        "commissioning/organisation_detail.html",
        {
            "organisation": organisation,
            "warnings": selectors.organisation_warnings(organisation, today=today),
            "services": organisation.services.order_by("name"),
            "can_edit": selectors.organisation_listing_editable_by(request.user, organisation),
            "history": commissioning_record_history(record=organisation),
        },
    )


@login_required
def organisation_listing_edit(request, pk):
    organisation = selectors.get_organisation_for_user(request.user, pk, write=True)
    form = ListingForm(request.POST or None, instance=organisation)
    if request.method == "POST" and form.is_valid():
        try:
            services.organisation_listing_update(
                organisation=organisation,
                user=request.user,
                expected_updated_at=form.cleaned_data["updated_at"],
                **{field: form.cleaned_data[field] for field in LISTING_FIELDS},
            )
        except EditConflict as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "The listing has been saved.")
            return redirect("organisation_detail", pk=organisation.pk)
    return render(
        request, "commissioning/listing_form.html", {"form": form, "organisation": organisation}
    )


@require_POST
@login_required
def organisation_verify(request, pk):
    organisation = selectors.get_organisation_for_user(request.user, pk, write=True)
    services.organisation_verify(organisation=organisation, user=request.user)
    messages.success(
        request, f"{organisation.name} and its active services are marked as verified today."
    )
    return redirect("organisation_detail", pk=organisation.pk)


@login_required
def directory(request):
    form = DirectorySearchForm(request.GET or None, user=request.user)
    results = page = None
    if form.is_bound and form.is_valid():
        criteria = form.cleaned_data
        results = selectors.directory_search(
            user=request.user,
            need=criteria["need"] or None,
            place=criteria["place"],
            age=criteria["age"],
            text=criteria["text"],
            sector=criteria["sector"] or None,
            include_closed=criteria["include_closed"],
        )
    elif not form.is_bound:
        results = selectors.directory_search(user=request.user)
    entries = []
    if results is not None:
        page = counted_page(results, per_page=20, number=request.GET.get("page"))
        entries = selectors_directory.directory_entries(
            services=list(page), today=timezone.localdate()
        )
    return render(
        request, "commissioning/directory.html", {"form": form, "page": page, "entries": entries}
    )


@login_required
def service_detail(request, pk):
    service = selectors.get_service_for_user(request.user, pk)
    (entry,) = selectors_directory.directory_entries(services=[service], today=timezone.localdate())
    return render(
        request,
        "commissioning/service_detail.html",
        {
            "entry": entry,
            "service": service,
            "specifications": selectors.specifications_visible_to(request.user).filter(
                service=service
            ),
            "can_edit": selectors.organisation_listing_editable_by(
                request.user, service.organisation
            ),
            "history": commissioning_record_history(record=service),
        },
    )


@login_required
def service_listing_edit(request, pk):
    service = selectors.get_service_for_user(request.user, pk, write=True)
    form = ServiceListingForm(request.POST or None, instance=service)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.service_listing_update(
                service=service,
                user=request.user,
                expected_updated_at=data["updated_at"],
                places=data["places"],
                **{field: data[field] for field in services.SERVICE_LISTING_FIELDS},
            )
        except EditConflict as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "The service listing has been saved.")
            return redirect("service_detail", pk=service.pk)
    return render(request, "commissioning/service_form.html", {"form": form, "service": service})
