"""Checking statuses: what a record may do to the version it names, as the screens allow.

A published version never changes; a service has one active version at a time.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from commissioning.codes import SpecificationStatus
from commissioning.models import SPECIFICATION_FIELDS, Service, ServiceSpecification
from commissioning.specification_files.format import PUBLISHED
from commissioning.specification_files.reading import Record


@dataclass
class _ServiceInFile:
    """The records of one service that give a version and a known status, in file order."""

    service: Service
    records: list[Record] = field(default_factory=list)


def check_statuses(
    records: list[Record], in_force: defaultdict[int, list[ServiceSpecification]]
) -> list[ServiceSpecification]:
    """Refuse changes to published versions and a second active version of a service.

    Returns the versions in force, not in the file, that the file's active versions replace.
    """
    retiring = []
    for in_file in _by_service(records):
        _check_versions(in_file)
        retiring.extend(_check_active(in_file, in_force=in_force[in_file.service.pk]))
    return retiring


def differs(record: Record, spec: ServiceSpecification) -> list[str]:
    """The content fields in which a record differs from the version in the database."""
    # Frameworks by id, so that comparing does not fetch each version's framework.
    theirs = {name: getattr(spec, name) for name in SPECIFICATION_FIELDS if name != "framework"}
    theirs["framework"] = spec.framework_id
    ours = record.content | {"framework": record.framework.pk if record.framework else None}
    return [
        name
        for name in SPECIFICATION_FIELDS
        if _comparable(ours[name]) != _comparable(theirs[name])
    ]


def _comparable(value: object) -> object:
    # The order of codes in a list carries no meaning.
    return sorted(value) if isinstance(value, list) else value


def _by_service(records: list[Record]) -> list[_ServiceInFile]:
    # The others have been refused already: without a service, version or known status there
    # is nothing to check a status against.
    by_service: dict[int, _ServiceInFile] = {}
    for record in records:
        if (
            record.service
            and record.values.get("version")
            and record.status in SpecificationStatus.values
        ):
            in_file = by_service.setdefault(record.service.pk, _ServiceInFile(record.service))
            in_file.records.append(record)
    return list(by_service.values())


def _check_versions(in_file: _ServiceInFile) -> None:
    """Refuse a version given twice, and changes a published version cannot take."""
    first_record: dict[int, int] = {}
    for record in in_file.records:
        version = record.values["version"]
        if version in first_record:
            record.add(
                "version",
                f"Version {version} of {in_file.service.name} is also record "
                f"{first_record[version]}; give each version once.",
            )
        else:
            first_record[version] = record.number
        if record.existing is not None:
            _check_existing(record, existing=record.existing)


def _check_existing(record: Record, *, existing: ServiceSpecification) -> None:
    status = record.status
    described = f"Version {existing.version} of {existing.service.name} is {existing.status}"
    if existing.status in PUBLISHED:
        # A field already refused (an unknown framework, say) needs no second message.
        refused = set(record.errors)
        for name in [name for name in differs(record, existing) if name not in refused]:
            record.add(
                name,
                f"{described} and cannot be changed; import the change as a new version.",
            )
        if status == SpecificationStatus.DRAFT:
            record.add("status", f"{described}; a published version cannot become a draft again.")
        elif existing.status == SpecificationStatus.RETIRED and status != existing.status:
            record.add(
                "status",
                f"{described} and cannot be made active again; import it as a new version.",
            )
    elif status == SpecificationStatus.RETIRED:
        # As specification_retire: only the version in force can be retired.
        record.add("status", f"{described}; only an active version can be retired.")


def _check_active(
    in_file: _ServiceInFile, *, in_force: list[ServiceSpecification]
) -> list[ServiceSpecification]:
    """Refuse a second active version; return the versions in force an active one retires."""
    versions = {r.values["version"] for r in in_file.records}
    file_active = sorted({r.values["version"] for r in in_file.records if r.is_active})
    others = [spec for spec in in_force if spec.version not in versions]
    retiring: list[ServiceSpecification] = []
    if file_active:
        # An active version in the file is a publication: the one in force retires, as
        # specification_publish retires it.
        retiring, others = others, []
    active_after = sorted(file_active + [spec.version for spec in others])
    if len(active_after) > 1:
        listed = ", ".join(str(v) for v in active_after)
        for record in in_file.records:
            if record.is_active:
                record.add(
                    "status",
                    f"{in_file.service.name} would have more than one active version "
                    f"({listed}); a service has one active version at a time.",
                )
    return retiring
