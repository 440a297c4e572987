"""The remit check: would a referral being written be within what the service is commissioned
to do, and if not, why? The rules are named in commissioning/remit.py."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from django.utils import timezone

from commissioning import remit
from commissioning.capacity import capacity_used
from commissioning.codes import ServiceStatus, Urgency
from commissioning.in_force import specification_in_force
from commissioning.models import (
    Service,
    ServiceSpecification,
)
from commissioning.selectors import need_labels, specification_column


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
    # Referrals already counted against the monthly capacity; None when there is no limit.
    capacity_used: int | None = None

    @property
    def in_remit(self) -> bool:
        return not self.reasons

    @property
    def capacity_left(self) -> int | None:
        spec = self.specification
        if spec is None or spec.monthly_capacity is None or self.capacity_used is None:
            return None
        return max(spec.monthly_capacity - self.capacity_used, 0)


def _clause(spec: ServiceSpecification, name: str, words: str) -> str:
    """The words of the specification a reason rests on, headed by the field's own name."""
    heading = specification_column(name).verbose_name
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

    def named(codes: Iterable[str]) -> str:
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
        check.capacity_used = used
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
