"""Writing a checked file: versions created, updated and retired, in an order the database allows.

Only records that passed every check get here, so each has its service and framework.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from commissioning.codes import SpecificationStatus
from commissioning.models import ServiceSpecification
from commissioning.specification_files.checking import differs
from commissioning.specification_files.format import PUBLISHED, ImportResult
from commissioning.specification_files.reading import Record


@dataclass
class _Update:
    """A draft in the database and the record that changes it."""

    spec: ServiceSpecification
    record: Record


@dataclass
class _Plan:
    """What the file does to each version, sorted before any write: retirements come first."""

    # Active versions that the file itself gives as retired.
    retire: list[ServiceSpecification] = field(default_factory=list)
    update: list[_Update] = field(default_factory=list)
    create: list[Record] = field(default_factory=list)
    unchanged: list[ServiceSpecification] = field(default_factory=list)


def write_records(
    records: list[Record], retiring: list[ServiceSpecification], *, dry_run: bool
) -> ImportResult:
    """Write every record; retiring are the versions in force the file's active ones replace."""
    plan = _plan(records)
    now = timezone.now()
    result = ImportResult(
        dry_run=dry_run,
        updated=[_label(spec) for spec in plan.retire],
        unchanged=[_label(spec) for spec in plan.unchanged],
    )
    # Retire first: the database allows one active version per service at every moment
    # (spec_one_active_per_service), so the old one must go before the new one arrives.
    for spec in [*retiring, *plan.retire]:
        _retire(spec, now=now)
    result.retired.extend(_label(spec) for spec in retiring)
    for update in plan.update:
        _update(update.spec, record=update.record, now=now)
        result.updated.append(_label(update.spec))
    for record in plan.create:
        result.created.append(_label(_create(record, now=now)))
    return result


def _label(spec: ServiceSpecification) -> str:
    return f"{spec.service.organisation.name} / {spec.service.name} v{spec.version}"


def _plan(records: list[Record]) -> _Plan:
    plan = _Plan()
    for record in records:
        existing = record.existing
        if existing is None:
            plan.create.append(record)
        elif existing.status == SpecificationStatus.ACTIVE and record.is_retired:
            plan.retire.append(existing)
        elif existing.status == record.status and not differs(record, existing):
            plan.unchanged.append(existing)
        else:
            # Only a draft gets here: the checks refused every other change.
            plan.update.append(_Update(spec=existing, record=record))
    return plan


def _retire(spec: ServiceSpecification, *, now: datetime) -> None:
    spec.status = SpecificationStatus.RETIRED
    spec.retired_at = now
    # Nobody is signed in to an import: leaving the last editor here would name the wrong
    # person as the one who retired it.
    spec.updated_by = None
    spec.save(update_fields=["status", "retired_at", "updated_at", "updated_by"])


def _update(spec: ServiceSpecification, *, record: Record, now: datetime) -> None:
    for name, value in record.content.items():
        setattr(spec, name, value)
    if record.is_active:
        spec.status = SpecificationStatus.ACTIVE
        spec.published_at = now
    spec.updated_by = None
    spec.save()


def _create(record: Record, *, now: datetime) -> ServiceSpecification:
    # Resolving found it, or the record was refused and nothing is written.
    assert record.service is not None
    return ServiceSpecification.objects.create(
        service=record.service,
        version=record.values["version"],
        status=record.status,
        # The file carries no history, so a published version is dated by its import.
        published_at=now if record.status in PUBLISHED else None,
        retired_at=now if record.is_retired else None,
        **record.content,
    )
