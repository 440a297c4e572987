"""Commissioning frameworks and versioned service specifications."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.permissions import role_required
from commissioning import selectors, selectors_directory, services
from commissioning.codes import SpecificationStatus
from commissioning.forms import FrameworkForm, SpecificationForm
from commissioning.models import SPECIFICATION_FIELDS, CommissioningFramework
from commissioning.selectors import COMMISSIONING_ROLES
from commissioning.selectors_history import commissioning_record_history
from core.conflicts import EditConflict
from core.forms import add_service_errors


@login_required
def framework_list(request):
    frameworks = selectors.frameworks_visible_to(request.user)
    return render(request, "commissioning/framework_list.html", {"frameworks": frameworks})


@login_required
def framework_detail(request, pk):
    framework = selectors.get_framework_for_user(request.user, pk)
    specifications = selectors.specifications_visible_to(request.user).filter(framework=framework)
    return render(
        request,
        "commissioning/framework_detail.html",
        {
            "framework": framework,
            "specifications": specifications,
            "history": commissioning_record_history(record=framework),
        },
    )


@role_required(*COMMISSIONING_ROLES)
def framework_edit(request, pk=None):
    if pk is None:
        framework = CommissioningFramework(system=selectors.system_for(request.user))
    else:
        framework = selectors.get_framework_for_user(request.user, pk, write=True)
    form = FrameworkForm(request.POST or None, instance=framework)
    if request.method == "POST" and form.is_valid():
        try:
            if pk is None:
                framework = services.framework_create(
                    framework=form.save(commit=False), user=request.user
                )
            else:
                framework = services.framework_update(
                    framework=form.save(commit=False),
                    user=request.user,
                    expected_updated_at=form.cleaned_data["updated_at"],
                )
        except ValidationError as error:
            add_service_errors(form, error)
        except EditConflict as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"{framework.name} has been saved.")
            return redirect("framework_detail", pk=framework.pk)
    return render(request, "commissioning/framework_form.html", {"form": form})


@login_required
def specification_list(request):
    specifications = selectors.specifications_visible_to(request.user).order_by(
        "service__organisation__name", "service__name", "-version"
    )
    status = request.GET.get("status")
    if status in SpecificationStatus.values:
        specifications = specifications.filter(status=status)
    page = Paginator(specifications, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "commissioning/specification_list.html",
        {"page": page, "status": status, "statuses": SpecificationStatus.choices},
    )


@login_required
def specification_detail(request, pk):
    specification = selectors.get_specification_for_user(request.user, pk)
    show_funding = selectors.funding_visible_to(request.user, specification)
    return render(
        request,
        "commissioning/specification_detail.html",
        {
            "specification": specification,
            "entry": selectors_directory.specification_in_words(specification),
            "versions": selectors.specifications_visible_to(request.user).filter(
                service=specification.service
            ),
            "show_funding": show_funding,
            "can_change": request.user.has_role(*COMMISSIONING_ROLES),
            # Whoever may not see the funding may not see what it was either.
            "history": commissioning_record_history(
                record=specification, hidden=() if show_funding else ("funding_gbp",)
            ),
        },
    )


@role_required(*COMMISSIONING_ROLES)
def specification_create(request, service_pk):
    service = selectors.get_service_for_user(request.user, service_pk)
    if not service.organisation.is_voluntary:
        raise Http404("Specifications are for voluntary sector services")
    form = SpecificationForm(request.POST or None, system=service.organisation.system)
    if request.method == "POST" and form.is_valid():
        data = {field: form.cleaned_data[field] for field in SPECIFICATION_FIELDS}
        try:
            spec = services.specification_create_draft(service=service, user=request.user, **data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Draft version {spec.version} has been created.")
            return redirect("specification_detail", pk=spec.pk)
    return render(
        request, "commissioning/specification_form.html", {"form": form, "service": service}
    )


@role_required(*COMMISSIONING_ROLES)
def specification_edit(request, pk):
    specification = selectors.get_specification_for_user(request.user, pk, write=True)
    if not specification.is_draft:
        messages.error(
            request, "A published version cannot be changed; start a new version from it."
        )
        return redirect("specification_detail", pk=specification.pk)
    form = SpecificationForm(
        request.POST or None,
        instance=specification,
        system=specification.service.organisation.system,
    )
    if request.method == "POST" and form.is_valid():
        data = {field: form.cleaned_data[field] for field in SPECIFICATION_FIELDS}
        try:
            services.specification_update_draft(
                specification=specification,
                user=request.user,
                expected_updated_at=form.cleaned_data["updated_at"],
                **data,
            )
        except (ValidationError, EditConflict) as error:
            form.add_error(None, error if isinstance(error, ValidationError) else str(error))
        else:
            messages.success(request, f"Draft version {specification.version} has been saved.")
            return redirect("specification_detail", pk=specification.pk)
    return render(
        request,
        "commissioning/specification_form.html",
        {"form": form, "service": specification.service, "specification": specification},
    )


@require_POST
@role_required(*COMMISSIONING_ROLES)
def specification_publish(request, pk):
    specification = selectors.get_specification_for_user(request.user, pk, write=True)
    try:
        services.specification_publish(specification=specification, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            f"Version {specification.version} is now active; the version it replaces is retired.",
        )
    return redirect("specification_detail", pk=specification.pk)


@require_POST
@role_required(*COMMISSIONING_ROLES)
def specification_new_version(request, pk):
    specification = selectors.get_specification_for_user(request.user, pk, write=True)
    draft = services.specification_copy_as_draft(specification=specification, user=request.user)
    messages.success(
        request, f"Draft version {draft.version} copies version {specification.version}."
    )
    return redirect("specification_edit", pk=draft.pk)


@require_POST
@role_required(*COMMISSIONING_ROLES)
def specification_retire(request, pk):
    specification = selectors.get_specification_for_user(request.user, pk, write=True)
    try:
        services.specification_retire(specification=specification, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Version {specification.version} is retired.")
    return redirect("specification_detail", pk=specification.pk)


@login_required
def specification_compare(request, pk):
    """What changed from another version of the same service to this one."""
    new = selectors.get_specification_for_user(request.user, pk)
    versions = selectors.specifications_visible_to(request.user).filter(service=new.service)
    chosen = request.GET.get("with", "")
    # The version chosen to compare with, if the query names one; anything else: the one before.
    old = (
        versions.exclude(pk=new.pk).filter(pk=int(chosen)).first()
        if chosen.isascii() and chosen.isdigit() and len(chosen) < 10
        else None
    )
    if old is None:
        old = versions.filter(version__lt=new.version).order_by("-version").first()
    differences = selectors.specification_differences(old=old, new=new) if old else []
    return render(
        request,
        "commissioning/specification_compare.html",
        {
            "old": old,
            "new": new,
            "differences": differences,
            "versions": versions.exclude(pk=new.pk),
        },
    )
