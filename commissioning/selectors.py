from dataclasses import dataclass, field
from datetime import date, timedelta

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import Role
from commissioning import remit
from commissioning.capacity import capacity_used
from commissioning.codes import ServiceStatus, SpecificationStatus, Urgency
from commissioning.models import (
    SPECIFICATION_FIELDS,
    CommissioningFramework,
    Need,
    Organisation,
    OutcomeMeasure,
    Place,
    Sector,
    Service,
    ServiceSpecification,
    System,
)

COMMISSIONING_ROLES = (Role.COMMISSIONER, Role.ADMINISTRATOR)
# A listing nobody has confirmed for this long may describe a service that no longer exists.
STALE_AFTER = timedelta(days=183)


# --- Organisations -------------------------------------------------------------------------


def organisations_visible_to(user) -> QuerySet[Organisation]:
    """Every signed-in role may look organisations up: the directory holds no patient data."""
    if not user.is_authenticated:
        return Organisation.objects.none()
    return Organisation.objects.select_related("place").order_by("name")


def get_organisation_for_user(user, pk: int, *, write: bool = False) -> Organisation:
    organisation = organisations_visible_to(user).filter(pk=pk).first()
    if organisation is None:
        raise Http404("No such organisation")
    if write and not organisation_listing_editable_by(user, organisation):
        raise PermissionDenied
    return organisation


def organisation_listing_editable_by(user, organisation: Organisation) -> bool:
    if user.has_role(*COMMISSIONING_ROLES):
        return True
    return user.has_role(Role.VSO_LEAD) and user.organisation_id == organisation.pk


def _active_in(sector: str, prefix: str = "") -> Count:
    return Count(
        f"{prefix}id",
        filter=Q(**{f"{prefix}sector": sector, f"{prefix}active": True}),
    )


def organisation_counts_by_place() -> list[dict]:
    """Active organisations per place and sector, with a row for system-wide organisations."""
    rows = list(
        Place.objects.order_by("name")
        .annotate(
            health=_active_in(Sector.HEALTH, "organisations__"),
            social_care=_active_in(Sector.SOCIAL_CARE, "organisations__"),
            voluntary=_active_in(Sector.VOLUNTARY, "organisations__"),
        )
        .values("name", "health", "social_care", "voluntary")
    )
    system_wide = Organisation.objects.filter(place__isnull=True).aggregate(
        health=_active_in(Sector.HEALTH),
        social_care=_active_in(Sector.SOCIAL_CARE),
        voluntary=_active_in(Sector.VOLUNTARY),
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


def services_visible_to(user) -> QuerySet[Service]:
    if not user.is_authenticated:
        return Service.objects.none()
    return Service.objects.select_related("organisation", "organisation__place")


def get_service_for_user(user, pk: int, *, write: bool = False) -> Service:
    service = services_visible_to(user).filter(pk=pk).first()
    if service is None:
        raise Http404("No such service")
    if write and not organisation_listing_editable_by(user, service.organisation):
        raise PermissionDenied
    return service


def directory_search(
    *,
    user,
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
        services = services.filter(Q(places=place) | Q(places__isnull=True)).distinct()
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
    return services.prefetch_related("places").order_by("organisation__name", "name")


def active_specifications_for(services) -> dict[int, ServiceSpecification]:
    """The active version of each service, in one query, for pages that list many services."""
    specs = ServiceSpecification.objects.filter(
        service__in=services, status=SpecificationStatus.ACTIVE
    ).select_related("framework")
    return {spec.service_id: spec for spec in specs}


def need_labels() -> dict[str, str]:
    return dict(Need.objects.values_list("code", "label"))


# --- Frameworks and specifications ---------------------------------------------------------


def frameworks_visible_to(user) -> QuerySet[CommissioningFramework]:
    if not user.is_authenticated:
        return CommissioningFramework.objects.none()
    return CommissioningFramework.objects.select_related("system").annotate(
        specification_count=Count("specifications")
    )


def get_framework_for_user(user, pk: int, *, write: bool = False) -> CommissioningFramework:
    framework = CommissioningFramework.objects.filter(pk=pk).first()
    if framework is None or not user.is_authenticated:
        raise Http404("No such framework")
    if write and not user.has_role(*COMMISSIONING_ROLES):
        raise PermissionDenied
    return framework


def specifications_visible_to(user) -> QuerySet[ServiceSpecification]:
    """Specifications are published remits: every signed-in role may read them, except drafts,
    which only commissioners and the service's own VSO staff see."""
    if not user.is_authenticated:
        return ServiceSpecification.objects.none()
    specs = ServiceSpecification.objects.select_related(
        "service", "service__organisation", "framework"
    )
    if user.has_role(*COMMISSIONING_ROLES):
        return specs
    own = Q(service__organisation_id=user.organisation_id) if user.organisation_id else Q()
    return specs.filter(~Q(status=SpecificationStatus.DRAFT) | own)


def get_specification_for_user(user, pk: int, *, write: bool = False) -> ServiceSpecification:
    specification = specifications_visible_to(user).filter(pk=pk).first()
    if specification is None:
        raise Http404("No such specification")
    if write and not user.has_role(*COMMISSIONING_ROLES):
        raise PermissionDenied
    return specification


def funding_visible_to(user, specification: ServiceSpecification) -> bool:
    if user.has_role(*COMMISSIONING_ROLES):
        return True
    return user.organisation_id == specification.service.organisation_id


def specification_in_force(*, service: Service, on_date: date) -> ServiceSpecification | None:
    """The newest non-draft version whose contract dates cover the date.

    Not simply the active one: a referral made last spring is judged by last spring's words,
    even if a version published since has retired them.
    """
    return (
        service.specifications.exclude(status=SpecificationStatus.DRAFT)
        .filter(starts_on__lte=on_date)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=on_date))
        .select_related("framework")
        .order_by("-version")
        .first()
    )


@dataclass(frozen=True)
class RemitReason:
    rule: str
    message: str
    clause: str


@dataclass
class RemitCheck:
    service: Service
    specification: ServiceSpecification | None
    reasons: list[RemitReason] = field(default_factory=list)

    @property
    def in_remit(self) -> bool:
        return not self.reasons


def _clause(spec: ServiceSpecification, field: str, words: str) -> str:
    """The words of the specification a reason rests on, headed by the field's own name."""
    heading = ServiceSpecification._meta.get_field(field).verbose_name
    return f"Specification v{spec.version} ({spec.framework.name}), {heading}: {words}"


def service_remit_check(
    *,
    service: Service,
    urgency: str,
    activities: list[str],
    patient_age: int | None,
    on_date: date | None = None,
) -> RemitCheck:
    """Would this referral be within what the service is commissioned to do, and if not, why?

    Every reason is returned, not just the first, each with the words of the specification,
    so that a VSO lead can push back quoting the clause and an ICC can see all of it at once.
    """
    on_date = on_date or timezone.localdate()
    spec = specification_in_force(service=service, on_date=on_date)
    check = RemitCheck(service=service, specification=spec)
    reasons = check.reasons
    if service.status != ServiceStatus.ACTIVE:
        reasons.append(
            RemitReason(
                remit.SERVICE_STATUS.code,
                f"The service is {service.get_status_display().lower()}.",
                f"Directory listing: {service.get_status_display()}",
            )
        )
    if spec is None:
        reasons.append(
            RemitReason(
                remit.NOT_COMMISSIONED.code,
                f"No specification covers {on_date:%-d %B %Y}: the service is not commissioned "
                "for this date.",
                "No specification in force",
            )
        )
        return check

    labels = need_labels()

    def named(codes) -> str:
        return ", ".join(labels.get(code, code) for code in codes)

    if Urgency.rank(urgency) > Urgency.rank(spec.max_urgency):
        reasons.append(
            RemitReason(
                remit.URGENCY.code,
                f"{Urgency(urgency).label} is above the highest urgency accepted "
                f"({spec.get_max_urgency_display().lower()}).",
                _clause(spec, "max_urgency", spec.get_max_urgency_display()),
            )
        )
    excluded = [code for code in activities if code in spec.activities_excluded]
    if excluded:
        reasons.append(
            RemitReason(
                remit.EXCLUDED_ACTIVITY.code,
                f"Excluded from this service: {named(excluded)}.",
                _clause(spec, "activities_excluded", named(spec.activities_excluded)),
            )
        )
    if spec.activities_in_remit:
        outside = [
            code
            for code in activities
            if code not in spec.activities_in_remit and code not in spec.activities_excluded
        ]
        if outside:
            reasons.append(
                RemitReason(
                    remit.ACTIVITY_NOT_IN_REMIT.code,
                    f"Not among the activities commissioned: {named(outside)}.",
                    _clause(spec, "activities_in_remit", named(spec.activities_in_remit)),
                )
            )
    if spec.monthly_capacity is not None:
        used = capacity_used(service_ids=[service.pk], on_date=on_date).get(service.pk, 0)
        if used >= spec.monthly_capacity:
            reasons.append(
                RemitReason(
                    remit.CAPACITY.code,
                    f"The service has already had {used} referrals in {on_date:%B %Y}; it is "
                    f"commissioned for {spec.monthly_capacity} a month.",
                    _clause(spec, "monthly_capacity", str(spec.monthly_capacity)),
                )
            )
    if patient_age is not None:
        if spec.min_age is not None and patient_age < spec.min_age:
            reasons.append(
                RemitReason(
                    remit.AGE.code,
                    f"The patient is {patient_age}; the service is for people aged "
                    f"{spec.min_age} or over.",
                    _clause(spec, "min_age", str(spec.min_age)),
                )
            )
        if spec.max_age is not None and patient_age > spec.max_age:
            reasons.append(
                RemitReason(
                    remit.AGE.code,
                    f"The patient is {patient_age}; the service is for people aged up to "
                    f"{spec.max_age}.",
                    _clause(spec, "max_age", str(spec.max_age)),
                )
            )
    return check


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
    if name == "funding_gbp" and value is not None:
        return f"£{value:,.2f}"
    if name == "max_urgency":
        return spec.get_max_urgency_display()
    if name == "framework":
        return value.name
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
            label = ServiceSpecification._meta.get_field(name).verbose_name
            differences.append(Difference(label[:1].upper() + label[1:], before, after))
    return differences


@dataclass
class DirectoryEntry:
    """A service as the directory shows it: its remit in plain words and reasons for care."""

    service: Service
    specification: ServiceSpecification | None
    does: list[str]
    does_not: list[str]
    urgency_limit: str
    terms: list[str]
    warnings: list[str]
    capacity_left: int | None = None


def _urgency_limit(spec: ServiceSpecification | None) -> str:
    if spec is None:
        return "Not commissioned: no specification in force."
    higher = [label.lower() for value, label in Urgency.choices][Urgency.rank(spec.max_urgency) :]
    accepted = f"Accepts {spec.get_max_urgency_display().lower()} referrals and below"
    return f"{accepted}; not {' or '.join(higher)}." if higher else f"{accepted}."


def _terms(spec: ServiceSpecification | None) -> list[str]:
    if spec is None:
        return []
    terms = []
    if spec.not_eligible_for_social_care:
        terms.append("Only for people who are not eligible for social care.")
    if spec.min_age is not None or spec.max_age is not None:
        if spec.max_age is None:
            terms.append(f"For people aged {spec.min_age} or over.")
        elif spec.min_age is None:
            terms.append(f"For people aged up to {spec.max_age}.")
        else:
            terms.append(f"For people aged {spec.min_age} to {spec.max_age}.")
    if spec.response_target_hours:
        terms.append(f"First contact within {spec.response_target_hours} hours.")
    if spec.max_episode_weeks:
        terms.append(f"Support lasts up to {spec.max_episode_weeks} weeks.")
    if spec.monthly_capacity is not None:
        terms.append(f"Commissioned for {spec.monthly_capacity} referrals a month.")
    if spec.max_interim_cover_days:
        terms.append(
            f"Covers for a waiting statutory service for at most {spec.max_interim_cover_days} "
            "days."
        )
    return terms


def directory_entries(*, services: list[Service], today: date) -> list[DirectoryEntry]:
    """Remit and warnings for a page of services, in a fixed number of queries."""
    specs = active_specifications_for(services)
    labels = need_labels()
    used = capacity_used(service_ids=[service.pk for service in services], on_date=today)
    entries = []
    for service in services:
        spec = specs.get(service.pk)
        does = spec.activities_in_remit if spec and spec.activities_in_remit else service.needs
        warnings = organisation_warnings(service.organisation, today=today)
        if service.status != ServiceStatus.ACTIVE:
            warnings.insert(0, f"This service is {service.get_status_display().lower()}.")
        if service.organisation.is_voluntary and spec is None:
            warnings.append("No specification is in force: this service is not commissioned.")
        capacity_left = None
        if spec and spec.monthly_capacity is not None:
            capacity_left = max(spec.monthly_capacity - used.get(service.pk, 0), 0)
            if capacity_left == 0:
                warnings.append(
                    "No capacity left this month: a referral now would be beyond what the "
                    "service is commissioned for."
                )
        entries.append(
            DirectoryEntry(
                service=service,
                specification=spec,
                does=[labels.get(code, code) for code in does],
                does_not=[
                    labels.get(code, code) for code in (spec.activities_excluded if spec else [])
                ],
                urgency_limit=_urgency_limit(spec) if service.organisation.is_voluntary else "",
                terms=_terms(spec),
                warnings=warnings,
                capacity_left=capacity_left,
            )
        )
    return entries


def specification_in_words(spec: ServiceSpecification) -> DirectoryEntry:
    (entry,) = directory_entries(services=[spec.service], today=timezone.localdate())
    labels = need_labels()
    entry.specification = spec
    entry.does = [labels.get(code, code) for code in spec.activities_in_remit]
    entry.does_not = [labels.get(code, code) for code in spec.activities_excluded]
    entry.urgency_limit = _urgency_limit(spec)
    entry.terms = _terms(spec)
    return entry


def system_for(user):
    """The system a person works in: their organisation's, or the only one there is."""
    if user.organisation_id:
        return user.organisation.system
    return System.objects.order_by("pk").first()
