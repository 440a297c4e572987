"""The directory as people read it: each service's remit in plain words, from the specification
in force today, with the reasons to think twice before referring."""

from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from commissioning.capacity import capacity_used
from commissioning.codes import ServiceStatus, Urgency
from commissioning.in_force import specifications_in_force
from commissioning.models import (
    Service,
    ServiceSpecification,
)
from commissioning.selectors import need_labels, organisation_warnings


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
    areas: list[str]
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


def _areas(service: Service) -> list[str]:
    """The places it serves, by name: read with the service by the directory's search
    (`area_names`), else here. None listed means the whole system."""
    names = getattr(service, "area_names", None)
    if names is None:
        names = [place.name for place in service.places.order_by("name")]
    return names


def directory_entries(*, services: list[Service], today: date) -> list[DirectoryEntry]:
    """Remit and warnings for a page of services, in a fixed number of queries."""
    specs = specifications_in_force(services=services, on_date=today)
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
                areas=_areas(service),
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
