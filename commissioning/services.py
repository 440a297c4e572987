from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import User
from accounts.selectors import system_id_of
from commissioning.codes import SpecificationStatus
from commissioning.models import (
    SPECIFICATION_FIELDS,
    CommissioningFramework,
    Organisation,
    Place,
    Service,
    ServiceSpecification,
)
from commissioning.selectors import COMMISSIONING_ROLES, organisation_listing_editable_by
from commissioning.validation import specification_errors
from core.conflicts import EditConflict
from core.models import AuditedModel

# What a VSO lead may change in their own organisation's listing: its public description and
# the dates that show it is safe to refer to. Never its sector, its kind or its specification.
LISTING_FIELDS = (
    "description",
    "website",
    "email",
    "phone",
    "safeguarding_lead",
    "dbs_checks_expire_on",
    "insurance_expires_on",
    "safeguarding_policy_review_on",
)


def _check_fresh(instance: AuditedModel, expected_updated_at: datetime) -> None:
    """The caller holds the row locked (select_for_update), so nobody saves in between."""
    if instance.updated_at != expected_updated_at:
        raise EditConflict(
            f"{instance} was changed by someone else while you were editing it. "
            "Your changes have not been saved: reload it and make them again."
        )


def _require(allowed: bool) -> None:
    """The services check who may act, whatever calls them; the views' access helpers apply
    the same rules earlier, to answer 404 or 403 before a form is shown."""
    if not allowed:
        raise PermissionDenied


def _commissioner(user: User, *, system_id: int | None) -> None:
    """A commissioner or administrator of the system the record belongs to."""
    mine = system_id_of(user)
    _require(user.has_role(*COMMISSIONING_ROLES) and mine is not None and system_id == mine)


def _raise_if_invalid(data: dict[str, Any], *, star_version_required: bool = True) -> None:
    errors = specification_errors(data, star_version_required=star_version_required)
    if errors:
        raise ValidationError(errors)


def specification_create_draft(
    *, service: Service, user: User, **fields: Any
) -> ServiceSpecification:
    return _create_draft(service=service, user=user, fields=fields)


@transaction.atomic
def _create_draft(
    *, service: Service, user: User, fields: dict[str, Any], star_version_required: bool = True
) -> ServiceSpecification:
    _commissioner(user, system_id=service.organisation.system_id)
    if not service.organisation.is_voluntary:
        raise ValidationError("Specifications are for voluntary sector services only.")
    _raise_if_invalid(fields, star_version_required=star_version_required)
    # Lock the service so two commissioners starting a draft at once cannot take one number.
    Service.objects.select_for_update().get(pk=service.pk)
    latest = service.specifications.aggregate(n=Max("version"))["n"] or 0
    return ServiceSpecification.objects.create(
        service=service,
        version=latest + 1,
        status=SpecificationStatus.DRAFT,
        created_by=user,
        updated_by=user,
        **{field: fields[field] for field in SPECIFICATION_FIELDS if field in fields},
    )


@transaction.atomic
def specification_update_draft(
    *,
    specification: ServiceSpecification,
    user: User,
    expected_updated_at: datetime,
    **fields: Any,
) -> ServiceSpecification:
    _commissioner(user, system_id=specification.service.organisation.system_id)
    specification = ServiceSpecification.objects.select_for_update().get(pk=specification.pk)
    if not specification.is_draft:
        raise ValidationError(
            "A published version cannot be changed; start a new version from it instead."
        )
    _check_fresh(specification, expected_updated_at)
    merged = {field: getattr(specification, field) for field in SPECIFICATION_FIELDS}
    merged.update((field, fields[field]) for field in SPECIFICATION_FIELDS if field in fields)
    _raise_if_invalid(merged)
    for field, value in merged.items():
        setattr(specification, field, value)
    specification.updated_by = user
    specification.save()
    return specification


def specification_copy_as_draft(
    *, specification: ServiceSpecification, user: User
) -> ServiceSpecification:
    """A new draft version that starts as a copy of this one."""
    _commissioner(user, system_id=specification.service.organisation.system_id)
    # A version published before specifications named their Outcomes Star version is still
    # copied; the draft's form then asks for the version, and publishing needs it.
    return _create_draft(
        service=specification.service,
        user=user,
        fields={field: getattr(specification, field) for field in SPECIFICATION_FIELDS},
        star_version_required=False,
    )


@transaction.atomic
def specification_publish(
    *, specification: ServiceSpecification, user: User
) -> ServiceSpecification:
    """Make a draft the active version; the version it replaces is retired, never deleted."""
    _commissioner(user, system_id=specification.service.organisation.system_id)
    Service.objects.select_for_update().get(pk=specification.service_id)
    specification = ServiceSpecification.objects.get(pk=specification.pk)
    if not specification.is_draft:
        raise ValidationError({"status": "Only a draft can be published."})
    _raise_if_invalid({f: getattr(specification, f) for f in SPECIFICATION_FIELDS})
    now = timezone.now()
    ServiceSpecification.objects.filter(
        service_id=specification.service_id, status=SpecificationStatus.ACTIVE
    ).update(status=SpecificationStatus.RETIRED, retired_at=now, updated_at=now, updated_by=user)
    specification.status = SpecificationStatus.ACTIVE
    specification.published_at = now
    specification.updated_by = user
    specification.save()
    return specification


@transaction.atomic
def specification_retire(
    *, specification: ServiceSpecification, user: User
) -> ServiceSpecification:
    _commissioner(user, system_id=specification.service.organisation.system_id)
    specification = ServiceSpecification.objects.select_for_update().get(pk=specification.pk)
    if specification.status != SpecificationStatus.ACTIVE:
        raise ValidationError({"status": "Only the active version can be retired."})
    specification.status = SpecificationStatus.RETIRED
    specification.retired_at = timezone.now()
    specification.updated_by = user
    specification.save()
    return specification


def framework_create(*, framework: CommissioningFramework, user: User) -> CommissioningFramework:
    _commissioner(user, system_id=framework.system_id)
    framework.created_by = user
    return _framework_save(framework=framework, user=user)


def framework_update(
    *, framework: CommissioningFramework, user: User, expected_updated_at: datetime
) -> CommissioningFramework:
    _commissioner(user, system_id=framework.system_id)
    with transaction.atomic():
        current = CommissioningFramework.objects.select_for_update().get(pk=framework.pk)
        _check_fresh(current, expected_updated_at)
        return _framework_save(framework=framework, user=user)


def _framework_save(*, framework: CommissioningFramework, user: User) -> CommissioningFramework:
    framework.updated_by = user
    try:
        with transaction.atomic():
            framework.save()
    except IntegrityError:
        raise ValidationError({"name": "There is already a framework with this name."}) from None
    return framework


@transaction.atomic
def organisation_listing_update(
    *,
    organisation: Organisation,
    user: User,
    expected_updated_at: datetime,
    **fields: Any,
) -> Organisation:
    _require(organisation_listing_editable_by(user, organisation))
    organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
    _check_fresh(organisation, expected_updated_at)
    for field in LISTING_FIELDS:
        if field in fields:
            setattr(organisation, field, fields[field])
    organisation.updated_by = user
    organisation.save()
    return organisation


@transaction.atomic
def organisation_verify(*, organisation: Organisation, user: User) -> Organisation:
    """The lead confirms the listing and every active service in it are still right today."""
    _require(organisation_listing_editable_by(user, organisation))
    today = timezone.localdate()
    organisation.last_verified_on = today
    organisation.updated_by = user
    organisation.save(update_fields=["last_verified_on", "updated_by", "updated_at"])
    organisation.services.filter(status="active").update(
        last_verified_on=today, updated_by=user, updated_at=timezone.now()
    )
    return organisation


SERVICE_LISTING_FIELDS = (
    "name",
    "description",
    "needs",
    "eligibility",
    "min_age",
    "max_age",
    "status",
    "url",
    "email",
    "phone",
)


@transaction.atomic
def service_listing_update(
    *,
    service: Service,
    user: User,
    places: Iterable[Place] | None = None,
    expected_updated_at: datetime,
    **fields: Any,
) -> Service:
    _require(organisation_listing_editable_by(user, service.organisation))
    service = Service.objects.select_for_update().get(pk=service.pk)
    _check_fresh(service, expected_updated_at)
    for field in SERVICE_LISTING_FIELDS:
        if field in fields:
            setattr(service, field, fields[field])
    service.updated_by = user
    service.save()
    if places is not None:
        service.places.set(places)
    return service
