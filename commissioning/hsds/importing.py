"""The directory file import (`manage.py import_directory`): all or nothing.

reading.py turns the records into plans; here the plans are checked across records and against
the database, and only a file with no problem at all is written, in one transaction.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

from commissioning.hsds.fields import Lookups, Problem, Problems
from commissioning.hsds.reading import (
    DirectoryImportError,
    OrganisationPlan,
    Plans,
    ServicePlan,
    plans_from_records,
)
from commissioning.models import Organisation, Sector, Service, System, VsoKind


@dataclass(frozen=True)
class ImportResult:
    organisations_created: int = 0
    organisations_updated: int = 0
    services_created: int = 0
    services_updated: int = 0


@dataclass(frozen=True)
class Existing:
    """What the database already holds of the organisations and services the file names."""

    organisations: dict[uuid.UUID, Organisation]
    services: dict[uuid.UUID, Service]


def directory_import(
    *, records: Sequence[object], sector: str, kind: str = "", system: System
) -> ImportResult:
    """Create or update organisations and services by HSDS id; all or nothing.

    Raises DirectoryImportError listing every problem in every record, having changed nothing.
    """
    if sector not in Sector.values:
        raise ValueError(f"Unknown sector {sector!r}")
    if (sector == Sector.VOLUNTARY) != (kind in VsoKind.values):
        raise ValueError("A voluntary import needs a VSO kind; any other sector takes none.")

    problems: list[Problem] = []
    plans = plans_from_records(records, lookups=Lookups.for_system(system), sink=problems)
    existing = _existing_load(plans)
    _check_organisations(plans, existing, sector=sector, system=system)
    _check_services(plans.services, existing.services)
    if problems:
        # Stable, so each record's lines stay in the order its fields were read.
        in_record_order = sorted(problems, key=lambda problem: problem.record_number)
        raise DirectoryImportError([problem.line for problem in in_record_order])

    try:
        return _write(plans, existing, sector=sector, kind=kind, system=system)
    except IntegrityError as error:
        # The checks above should leave nothing for the database to refuse; if they missed a
        # case, the file is still refused whole rather than half-loaded.
        raise DirectoryImportError([f"file: the database refused it: {error}"]) from error


def _existing_load(plans: Plans) -> Existing:
    organisation_ids = [plan.organisation_id for plan in plans.services] + list(plans.organisations)
    return Existing(
        organisations={
            organisation.hsds_id: organisation
            for organisation in Organisation.objects.select_related("system").filter(
                hsds_id__in=organisation_ids
            )
        },
        services={
            service.hsds_id: service
            for service in Service.objects.filter(
                hsds_id__in=[plan.hsds_id for plan in plans.services]
            )
        },
    )


# --- Checks across records and against the database ----------------------------------------


def _check_organisations(plans: Plans, existing: Existing, *, sector: str, system: System) -> None:
    for service in plans.services:
        organisation = existing.organisations.get(service.organisation_id)
        if organisation is None and service.organisation_id not in plans.organisations:
            service.problems.add(
                "organization_id",
                f"no organisation {service.organisation_id} is in VSO Care and the file "
                "gives no details of it",
            )
        elif organisation is not None:
            _check_existing_organisation(
                organisation, problems=service.problems, sector=sector, system=system
            )
    for plan in plans.organisations.values():
        if plan.hsds_id not in existing.organisations and not plan.name:
            for problems in plan.problems:
                problems.add("organization.name", "is required for an organisation new to VSO Care")
    _check_organisation_names(plans.organisations, system=system)


def _check_existing_organisation(
    organisation: Organisation, *, problems: Problems, sector: str, system: System
) -> None:
    if organisation.system_id != system.pk:
        problems.add(
            "organization",
            f"{organisation.name} belongs to {organisation.system.name}, not {system.name}",
        )
    if organisation.sector != sector:
        problems.add(
            "organization",
            f"{organisation.name} is a {organisation.get_sector_display().lower()} "
            f"organisation in VSO Care; import it with --sector {organisation.sector}",
        )


def _check_organisation_names(
    plans: Mapping[uuid.UUID, OrganisationPlan], *, system: System
) -> None:
    # Names are unique in a system regardless of case; check the directory as it would be after.
    renamed = {plan.hsds_id: plan.name.lower() for plan in plans.values() if plan.name}
    final_names: dict[uuid.UUID, str] = {
        hsds_id: name.lower()
        for hsds_id, name in Organisation.objects.filter(system=system)
        .annotate(lower_name=Lower("name"))
        .filter(lower_name__in=set(renamed.values()))
        .values_list("hsds_id", "name")
    }
    final_names |= renamed
    for ids in _clashes(final_names):
        for hsds_id in ids:
            for problems in plans[hsds_id].problems if hsds_id in plans else []:
                problems.add(
                    "organization.name",
                    f"{plans[hsds_id].name!r} is also the name of another organisation "
                    f"in {system.name} ({_others(ids, hsds_id)})",
                )


def _check_services(services: list[ServicePlan], existing: Mapping[uuid.UUID, Service]) -> None:
    seen: dict[uuid.UUID, int] = {}
    for service in services:
        if service.hsds_id in seen:
            service.problems.add(
                "id", f"record {seen[service.hsds_id]} already has this id in the same file"
            )
        seen.setdefault(service.hsds_id, service.problems.number)
        _check_ages(service, current=existing.get(service.hsds_id))
    _check_service_names(services, existing)


def _check_ages(service: ServicePlan, *, current: Service | None) -> None:
    # An age the record leaves out keeps its current value; the pair must still make sense.
    low = _age_after(service, "min_age", current=current.min_age if current else None)
    high = _age_after(service, "max_age", current=current.max_age if current else None)
    if low is not None and high is not None and high < low:
        service.problems.add("maximum_age", f"{high} is below minimum_age {low}")


def _age_after(service: ServicePlan, model_field: str, *, current: int | None) -> int | None:
    value = service.fields.get(model_field, current)
    # The reader gives an age as an int or None; anything else was reported there.
    return value if isinstance(value, int) else None


def _check_service_names(
    services: list[ServicePlan], existing: Mapping[uuid.UUID, Service]
) -> None:
    # Service names are unique within an organisation regardless of case.
    final: dict[uuid.UUID, tuple[uuid.UUID, str]] = {
        hsds_id: (organisation_id, name.lower())
        for hsds_id, organisation_id, name in Service.objects.filter(
            organisation__hsds_id__in={service.organisation_id for service in services}
        ).values_list("hsds_id", "organisation__hsds_id", "name")
    }
    for service in services:
        name = service.name or (
            existing[service.hsds_id].name if service.hsds_id in existing else ""
        )
        if name:  # a blank name is already reported; it clashes with nothing
            final[service.hsds_id] = (service.organisation_id, name.lower())
    by_id = {service.hsds_id: service for service in services}
    for ids in _clashes(final):
        for hsds_id in ids:
            if hsds_id in by_id:
                by_id[hsds_id].problems.add(
                    "name",
                    f"another service of the same organisation has this name "
                    f"({_others(ids, hsds_id)})",
                )


def _clashes(values: Mapping[uuid.UUID, object]) -> Iterable[list[uuid.UUID]]:
    groups: defaultdict[object, list[uuid.UUID]] = defaultdict(list)
    for hsds_id, value in values.items():
        groups[value].append(hsds_id)
    return (ids for ids in groups.values() if len(ids) > 1)


def _others(ids: list[uuid.UUID], hsds_id: uuid.UUID) -> str:
    return ", ".join(str(i) for i in ids if i != hsds_id)


# --- Writing ---------------------------------------------------------------------------------


@transaction.atomic
def _write(
    plans: Plans, existing: Existing, *, sector: str, kind: str, system: System
) -> ImportResult:
    result = _result(plans, existing)
    organisations = _write_organisations(
        plans.organisations.values(),
        existing.organisations,
        sector=sector,
        kind=kind,
        system=system,
    )
    _write_services(plans.services, existing.services, organisations=organisations)
    return result


def _result(plans: Plans, existing: Existing) -> ImportResult:
    organisations_created = sum(
        1 for plan in plans.organisations.values() if plan.hsds_id not in existing.organisations
    )
    services_created = sum(1 for plan in plans.services if plan.hsds_id not in existing.services)
    return ImportResult(
        organisations_created=organisations_created,
        organisations_updated=len(plans.organisations) - organisations_created,
        services_created=services_created,
        services_updated=len(plans.services) - services_created,
    )


def _write_organisations(
    plans: Iterable[OrganisationPlan],
    existing: Mapping[uuid.UUID, Organisation],
    *,
    sector: str,
    kind: str,
    system: System,
) -> dict[uuid.UUID, Organisation]:
    """Every organisation the services may belong to, by HSDS id, the planned ones saved."""
    organisations = dict(existing)
    for plan in plans:
        organisation = organisations.get(plan.hsds_id)
        if organisation is None:
            organisation = Organisation(
                hsds_id=plan.hsds_id, system=system, sector=sector, kind=kind
            )
        if plan.kind and sector == Sector.VOLUNTARY:
            organisation.kind = plan.kind
        for name, value in plan.fields.items():
            setattr(organisation, name, value)
        organisation.save()
        organisations[plan.hsds_id] = organisation
    return organisations


def _write_services(
    plans: Iterable[ServicePlan],
    existing: Mapping[uuid.UUID, Service],
    *,
    organisations: Mapping[uuid.UUID, Organisation],
) -> None:
    for plan in plans:
        service = existing.get(plan.hsds_id)
        if service is None:
            service = Service(hsds_id=plan.hsds_id)
        service.organisation = organisations[plan.organisation_id]
        for name, value in plan.fields.items():
            setattr(service, name, value)
        if plan.needs is not None:
            service.needs = plan.needs
        service.save()
        if plan.places is not None:
            service.places.set(plan.places)
