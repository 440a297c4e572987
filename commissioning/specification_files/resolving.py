"""Resolving a file's names: each record's service, framework and the version it already has.

Names are matched in any case. Everything is fetched in a few queries for the whole file, not
a few a record, so that a long file imports as quickly as a short one.
"""

from collections import defaultdict
from dataclasses import dataclass

from django.db.models.functions import Lower

from commissioning.codes import SpecificationStatus
from commissioning.models import (
    CommissioningFramework,
    Organisation,
    Service,
    ServiceSpecification,
)
from commissioning.specification_files.reading import Record


@dataclass
class _Known:
    """What the database holds under the names in a file, found by lower-case name."""

    # A list: organisations in different systems may share a name.
    organisations: dict[str, list[Organisation]]
    # By organisation id and name.
    services: dict[tuple[int, str], Service]
    # By system id and name.
    frameworks: dict[tuple[int, str], CommissioningFramework]
    # Every version of those services, by service id and version.
    versions: dict[tuple[int, int], ServiceSpecification]


def resolve_names(records: list[Record]) -> defaultdict[int, list[ServiceSpecification]]:
    """Find each record's service, framework and existing version; lock the services.

    Returns the versions in force (active in the database) of each service in the file.
    """
    known = _fetch(records)
    for record in records:
        _resolve_record(record, known=known)
    in_force: defaultdict[int, list[ServiceSpecification]] = defaultdict(list)
    for spec in known.versions.values():
        if spec.status == SpecificationStatus.ACTIVE:
            in_force[spec.service_id].append(spec)
    return in_force


def _fetch(records: list[Record]) -> _Known:
    def lowered(name: str) -> set[str]:
        return {r.values[name].lower() for r in records if r.values.get(name)}

    organisations: defaultdict[str, list[Organisation]] = defaultdict(list)
    for organisation in (
        Organisation.objects.annotate(lower_name=Lower("name"))
        .filter(lower_name__in=lowered("organisation"))
        .select_related("system")
    ):
        organisations[organisation.lower_name].append(organisation)
    services: dict[tuple[int, str], Service] = {
        (service.organisation_id, service.lower_name): service
        for service in Service.objects.annotate(lower_name=Lower("name"))
        .filter(
            organisation__in=[o for found in organisations.values() for o in found],
            lower_name__in=lowered("service"),
        )
        .select_related("organisation")
    }
    frameworks: dict[tuple[int, str], CommissioningFramework] = {
        (framework.system_id, framework.lower_name): framework
        for framework in CommissioningFramework.objects.annotate(lower_name=Lower("name")).filter(
            system__in={o.system_id for found in organisations.values() for o in found},
            lower_name__in=lowered("framework"),
        )
    }
    return _Known(
        organisations=organisations,
        services=services,
        frameworks=frameworks,
        versions=_lock_versions(list(services.values())),
    )


def _lock_versions(services: list[Service]) -> dict[tuple[int, int], ServiceSpecification]:
    """Lock the services, then fetch their versions, by service id and version."""
    # Locked, as specification_publish locks them, so that nobody publishes a version from the
    # screens between these checks and the writes.
    locked = Service.objects.select_for_update().filter(pk__in=[s.pk for s in services])
    list(locked.order_by("pk").values_list("pk", flat=True))
    return {
        (spec.service_id, spec.version): spec
        for spec in ServiceSpecification.objects.filter(service__in=services).select_related(
            "service__organisation"
        )
    }


def _resolve_record(record: Record, *, known: _Known) -> None:
    organisation = _organisation(record, known=known)
    if organisation is None:
        return
    service_name = record.values.get("service")
    if service_name:
        record.service = known.services.get((organisation.pk, service_name.lower()))
        if record.service is None:
            record.add("service", f"{organisation.name} has no service called {service_name!r}.")
    framework_name = record.values.get("framework")
    if framework_name:
        record.framework = known.frameworks.get((organisation.system_id, framework_name.lower()))
        if record.framework is None:
            record.add(
                "framework",
                f"No commissioning framework called {framework_name!r} in "
                f"{organisation.system.name}.",
            )
    if record.service and record.values.get("version"):
        record.existing = known.versions.get((record.service.pk, record.values["version"]))


def _organisation(record: Record, *, known: _Known) -> Organisation | None:
    """The one voluntary organisation the record names; if there is none, why goes to record."""
    name = record.values.get("organisation")
    if not name:
        return None
    found = known.organisations.get(name.lower(), [])
    if not found:
        record.add(
            "organisation",
            f"No organisation called {name!r}; import the directory before specifications.",
        )
        return None
    if len(found) > 1:
        record.add(
            "organisation",
            f"{len(found)} systems each have an organisation called {name!r}.",
        )
        return None
    organisation = found[0]
    if not organisation.is_voluntary:
        # Specifications set the remit of voluntary services; statutory services have none.
        record.add(
            "organisation",
            f"{organisation.name} is not a voluntary sector organisation; specifications "
            "are for voluntary services only.",
        )
        return None
    return organisation
