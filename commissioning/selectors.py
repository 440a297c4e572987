from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, Field, OuterRef, Q, QuerySet
from django.http import Http404

from accounts.models import Role, User
from accounts.selectors import system_id_of
from commissioning.codes import ServiceStatus, SpecificationStatus
from commissioning.models import (
    SPECIFICATION_FIELDS,
    CommissioningFramework,
    Organisation,
    OutcomeMeasure,
    Place,
    Sector,
    Service,
    ServiceSpecification,
    System,
)
from commissioning.need_cache import need_rows

COMMISSIONING_ROLES = (Role.COMMISSIONER, Role.ADMINISTRATOR)
# A listing nobody has confirmed for this long may describe a service that no longer exists.
STALE_AFTER = timedelta(days=183)


# --- Organisations -------------------------------------------------------------------------


def organisations_visible_to(user: User) -> QuerySet[Organisation]:
    """Every signed-in role may look up the organisations of their own system: the directory
    holds no patient data."""
    system_id = system_id_of(user)
    if system_id is None:
        return Organisation.objects.none()
    return Organisation.objects.filter(system_id=system_id).select_related("place").order_by("name")


def get_organisation_for_user(user: User, pk: int, *, write: bool = False) -> Organisation:
    organisation = organisations_visible_to(user).filter(pk=pk).first()
    if organisation is None:
        raise Http404("No such organisation")
    if write and not organisation_listing_editable_by(user, organisation):
        raise PermissionDenied
    return organisation


def organisation_listing_editable_by(user: User, organisation: Organisation) -> bool:
    """Commissioners and administrators of its system, and the organisation's own VSO lead."""
    if user.has_role(*COMMISSIONING_ROLES):
        return organisation.system_id == system_id_of(user)
    return user.has_role(Role.VSO_LEAD) and user.organisation_id == organisation.pk


def _active_in(sector: str, prefix: str = "") -> Count:
    return Count(
        f"{prefix}id",
        filter=Q(**{f"{prefix}sector": sector, f"{prefix}active": True}),
    )


def places_visible_to(user: User) -> QuerySet[Place]:
    system_id = system_id_of(user)
    if system_id is None:
        return Place.objects.none()
    return Place.objects.filter(system_id=system_id).order_by("name")


def organisation_counts_by_place(user: User) -> list[dict[str, Any]]:
    """Active organisations per place and sector of the person's system, with a row for its
    system-wide organisations."""
    rows: list[dict[str, Any]] = [
        dict(row)
        for row in places_visible_to(user)
        .annotate(
            health=_active_in(Sector.HEALTH, "organisations__"),
            social_care=_active_in(Sector.SOCIAL_CARE, "organisations__"),
            voluntary=_active_in(Sector.VOLUNTARY, "organisations__"),
        )
        .values("name", "health", "social_care", "voluntary")
    ]
    system_wide = (
        organisations_visible_to(user)
        .filter(place__isnull=True)
        .aggregate(
            health=_active_in(Sector.HEALTH),
            social_care=_active_in(Sector.SOCIAL_CARE),
            voluntary=_active_in(Sector.VOLUNTARY),
        )
    )
    rows.append({"name": "System-wide", **system_wide})
    return rows


def organisation_warnings(organisation: Organisation, *, today: date) -> list[str]:
    """Reasons to think twice before referring: lapsed checks, or a listing gone stale."""
    warnings = []
    lapsed = [
        (organisation.dbs_checks_expire_on, "DBS checks expired on"),
        (organisation.insurance_expires_on, "Insurance expired on"),
        (organisation.safeguarding_policy_review_on, "Safeguarding policy review was due on"),
    ]
    for when, what in lapsed:
        if when and when < today:
            warnings.append(f"{what} {when:%-d %B %Y}.")
    if organisation.sector == Sector.VOLUNTARY and not organisation.safeguarding_lead:
        warnings.append("No safeguarding lead is named.")
    verified = organisation.last_verified_on
    if verified is None or verified < today - STALE_AFTER:
        warnings.append(
            "This listing has not been verified in the last 6 months"
            + (f" (last verified {verified:%-d %B %Y})." if verified else " (never verified).")
        )
    return warnings


# --- Services and the directory ------------------------------------------------------------


def services_visible_to(user: User) -> QuerySet[Service]:
    system_id = system_id_of(user)
    if system_id is None:
        return Service.objects.none()
    return Service.objects.filter(organisation__system_id=system_id).select_related(
        "organisation", "organisation__place"
    )


def get_service_for_user(user: User, pk: int, *, write: bool = False) -> Service:
    service = services_visible_to(user).filter(pk=pk).first()
    if service is None:
        raise Http404("No such service")
    if write and not organisation_listing_editable_by(user, service.organisation):
        raise PermissionDenied
    return service


def directory_search(
    *,
    user: User,
    need: str | None = None,
    place: Place | None = None,
    age: int | None = None,
    text: str = "",
    sector: str | None = None,
    include_closed: bool = False,
) -> QuerySet[Service]:
    services = services_visible_to(user).filter(organisation__active=True)
    if not include_closed:
        services = services.exclude(status__in=[ServiceStatus.INACTIVE, ServiceStatus.DEFUNCT])
    if need:
        services = services.filter(needs__contains=[need])
    if place is not None:
        # A service with no places listed serves the whole system.
        served = Service.places.through.objects.filter(service_id=OuterRef("pk"))
        services = services.filter(Exists(served.filter(place=place)) | ~Exists(served))
    if age is not None:
        services = services.filter(
            Q(min_age__isnull=True) | Q(min_age__lte=age),
            Q(max_age__isnull=True) | Q(max_age__gte=age),
        )
    if sector:
        services = services.filter(organisation__sector=sector)
    if text.strip():
        vector = SearchVector("name", "description", "eligibility", "organisation__name")
        services = services.annotate(search=vector).filter(
            Q(search=SearchQuery(text, config="english", search_type="websearch"))
            | Q(name__icontains=text.strip())
            | Q(organisation__name__icontains=text.strip())
        )
    # The areas as the directory shows them, in the same query (DirectoryEntry.areas).
    area_names = Place.objects.filter(services=OuterRef("pk")).order_by("name").values("name")
    return services.annotate(area_names=ArraySubquery(area_names)).order_by(
        "organisation__name", "name"
    )


def need_labels() -> dict[str, str]:
    return {code: label for code, label, _ in need_rows()}


# --- Frameworks and specifications ---------------------------------------------------------


def frameworks_visible_to(user: User) -> QuerySet[CommissioningFramework]:
    system_id = system_id_of(user)
    if system_id is None:
        return CommissioningFramework.objects.none()
    return (
        CommissioningFramework.objects.filter(system_id=system_id)
        .select_related("system")
        .annotate(specification_count=Count("specifications"))
    )


def get_framework_for_user(user: User, pk: int, *, write: bool = False) -> CommissioningFramework:
    framework = frameworks_visible_to(user).filter(pk=pk).first()
    if framework is None:
        raise Http404("No such framework")
    if write and not user.has_role(*COMMISSIONING_ROLES):
        raise PermissionDenied
    return framework


def specifications_visible_to(user: User) -> QuerySet[ServiceSpecification]:
    """Specifications are published remits: every signed-in role may read them, except drafts,
    which only commissioners and the service's own VSO staff see."""
    system_id = system_id_of(user)
    if system_id is None:
        return ServiceSpecification.objects.none()
    specs = ServiceSpecification.objects.filter(
        service__organisation__system_id=system_id
    ).select_related("service", "service__organisation", "framework")
    if user.has_role(*COMMISSIONING_ROLES):
        return specs
    own = Q(service__organisation_id=user.organisation_id) if user.organisation_id else Q()
    return specs.filter(~Q(status=SpecificationStatus.DRAFT) | own)


def get_specification_for_user(user: User, pk: int, *, write: bool = False) -> ServiceSpecification:
    specification = specifications_visible_to(user).filter(pk=pk).first()
    if specification is None:
        raise Http404("No such specification")
    if write and not user.has_role(*COMMISSIONING_ROLES):
        raise PermissionDenied
    return specification


def funding_visible_to(user: User, specification: ServiceSpecification) -> bool:
    if user.has_role(*COMMISSIONING_ROLES):
        return True
    return user.organisation_id == specification.service.organisation_id


def specification_column(name: str) -> "Field[Any, Any]":
    column = ServiceSpecification._meta.get_field(name)
    assert isinstance(column, Field)  # a column of the table, not a relation to it
    return column


@dataclass(frozen=True)
class Difference:
    label: str
    old: str
    new: str


def _display(spec: ServiceSpecification, name: str, labels: dict[str, str]) -> str:
    value = getattr(spec, name)
    if name in ("activities_in_remit", "activities_excluded"):
        return ", ".join(labels.get(code, code) for code in value) or "—"
    if name == "outcome_measures":
        return ", ".join(labels.get(code, code) for code in value) or "—"
    if name == "outcomes_star_version":
        return spec.get_outcomes_star_version_display() or "—"
    if name == "funding_gbp" and value is not None:
        return f"£{value:,.2f}"
    if name == "max_urgency":
        return spec.get_max_urgency_display()
    if name == "framework":
        return str(value.name)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, date):
        return f"{value:%-d %B %Y}"
    return "—" if value in (None, "") else str(value)


def specification_differences(
    *, old: ServiceSpecification, new: ServiceSpecification
) -> list[Difference]:
    """What changed between two versions, clause by clause, in the words shown on screen."""
    labels = {**need_labels(), **dict(OutcomeMeasure.objects.values_list("code", "label"))}
    differences = []
    for name in SPECIFICATION_FIELDS:
        before, after = _display(old, name, labels), _display(new, name, labels)
        if before != after:
            label = str(specification_column(name).verbose_name)
            differences.append(Difference(label[:1].upper() + label[1:], before, after))
    return differences


def system_for(user: User) -> System | None:
    """The system a person works in (accounts.selectors.system_id_of), as a row: loaded with
    the signed-in user (accounts.backends)."""
    if not user.is_authenticated or user.organisation is None:
        return None
    return user.organisation.system
