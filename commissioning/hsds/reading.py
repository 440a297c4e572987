"""Reading an imported file's records into plans: what each service and organisation would become.

Each record is read on its own here; importing.py checks the plans across records and against the
database before anything is written.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from commissioning.hsds.fields import (
    FieldValues,
    JsonObject,
    Lookups,
    Problem,
    Problems,
    check_fields,
    read_age,
    read_charity_number,
    read_date,
    read_needs,
    read_phone,
    read_places,
    read_text,
    read_uuid,
)
from commissioning.hsds.vocabulary import HSDS_STATUSES, STATUSES_FROM_HSDS
from commissioning.models import Organisation, Place, Service, VsoKind
from core.plausible import json_load, quoted

# What one file may hold. The HSDS examples nest 12 levels at most; a directory of thousands of
# services is a few megabytes. Past these a file is refused before it is parsed, rather than
# filling memory or overflowing the parser's stack (json.loads recurses in C).
MAX_FILE_BYTES = 50_000_000
MAX_DEPTH = 64

# HSDS field -> model field, for the plain text we carry.
SERVICE_TEXT = {
    "name": "name",
    "description": "description",
    "eligibility_description": "eligibility",
    "url": "url",
    "email": "email",
}
ORGANISATION_TEXT = {
    "name": "name",
    "description": "description",
    "website": "website",
    "email": "email",
}
# Model field -> the HSDS field a problem with it is reported against.
SERVICE_NAMES = {
    **{ours: hsds for hsds, ours in SERVICE_TEXT.items()},
    "status": "status",
    "min_age": "minimum_age",
    "max_age": "maximum_age",
    "last_verified_on": "assured_date",
    "phone": "phones",
}
ORGANISATION_NAMES = {
    **{ours: f"organization.{hsds}" for hsds, ours in ORGANISATION_TEXT.items()},
    "phone": "organization.phones",
    "charity_number": "organization.organization_identifiers",
}
KINDS_BY_WORDING = {kind.label.casefold(): kind.value for kind in VsoKind} | {
    kind.value: kind.value for kind in VsoKind
}


class DirectoryImportError(Exception):
    """The file was refused; nothing was changed. One line per problem, in record order."""

    def __init__(self, errors: list[str]):
        super().__init__(f"{len(errors)} error(s)")
        self.errors = errors


@dataclass
class OrganisationPlan:
    hsds_id: uuid.UUID
    problems: list[Problems] = field(default_factory=list)  # the records that describe it
    fields: FieldValues = field(default_factory=dict)
    kind: str = ""  # from legal_status, when it names one of our kinds

    @property
    def name(self) -> str:
        """The name the file gives it; blank when it gives none."""
        name = self.fields.get("name")
        return name if isinstance(name, str) else ""


@dataclass
class ServicePlan:
    problems: Problems
    hsds_id: uuid.UUID
    organisation_id: uuid.UUID
    fields: FieldValues
    needs: list[str] | None  # None: the record says nothing, so leave them as they are
    places: list[Place] | None

    @property
    def name(self) -> str:
        """The name the record gives it; blank when it gives none."""
        name = self.fields.get("name")
        return name if isinstance(name, str) else ""


@dataclass
class Plans:
    """Everything a file would change, each organisation once however many records describe it."""

    organisations: dict[uuid.UUID, OrganisationPlan]
    # Kept even when their records have problems, so the checks across records report
    # everything in one go.
    services: list[ServicePlan]


def document_from_json(text: str) -> object:
    """A file's document; DirectoryImportError for one that is not JSON, nests deeper than
    MAX_DEPTH or holds NaN or Infinity, which JSON does not have."""
    try:
        return json_load(text, max_depth=MAX_DEPTH)
    except ValidationError as error:
        raise DirectoryImportError([f"file: {message}" for message in error.messages]) from error


def records_from_document(document: object) -> list[object]:
    """The services in a page of services, a bare list of them, or a single service."""
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        if "contents" in document:
            if not isinstance(document["contents"], list):
                raise DirectoryImportError(["file: contents must be a list of services"])
            return document["contents"]
        if "id" in document or "name" in document:
            return [document]
    raise DirectoryImportError(
        ["file: is not an HSDS service, a list of services or a page of services"]
    )


def plans_from_records(
    records: Iterable[object], *, lookups: Lookups, sink: list[Problem]
) -> Plans:
    plans = Plans(organisations={}, services=[])
    for number, record in enumerate(records, start=1):
        problems = Problems.for_record(number, record, sink=sink)
        plan = _read_service(
            record, problems=problems, lookups=lookups, organisations=plans.organisations
        )
        if plan is not None:
            plans.services.append(plan)
    return plans


def _read_service(
    record: object,
    *,
    problems: Problems,
    lookups: Lookups,
    organisations: dict[uuid.UUID, OrganisationPlan],
) -> ServicePlan | None:
    if not isinstance(record, dict):
        problems.add("record", "is not a JSON object")
        return None
    hsds_id = read_uuid(record.get("id"), name="id", problems=problems)
    fields = _read_service_fields(record, problems=problems)
    needs = (
        read_needs(record["attributes"], problems=problems, lookups=lookups)
        if "attributes" in record
        else None
    )
    places = (
        read_places(record["service_areas"], problems=problems, lookups=lookups)
        if "service_areas" in record
        else None
    )
    organisation_id = _read_organisation(record, problems=problems, plans=organisations)
    if hsds_id is None or organisation_id is None:
        return None
    return ServicePlan(
        problems=problems,
        hsds_id=hsds_id,
        organisation_id=organisation_id,
        fields=fields,
        needs=needs,
        places=places,
    )


def _read_service_fields(record: JsonObject, *, problems: Problems) -> FieldValues:
    if "name" not in record:
        problems.add("name", "is required")
    fields = read_text(record, SERVICE_TEXT, model=Service, prefix="", problems=problems)
    status = record.get("status")
    if status is None:
        problems.add("status", "is required")
    elif not isinstance(status, str) or status not in STATUSES_FROM_HSDS:
        problems.add(
            "status", f"{quoted(status)} is not one of {', '.join(HSDS_STATUSES.values())}"
        )
    else:
        fields["status"] = STATUSES_FROM_HSDS[status]
    for hsds_key, model_field in (("minimum_age", "min_age"), ("maximum_age", "max_age")):
        if hsds_key in record:
            fields[model_field] = read_age(record[hsds_key], name=hsds_key, problems=problems)
    if "assured_date" in record:
        fields["last_verified_on"] = read_date(
            record["assured_date"], name="assured_date", problems=problems
        )
    if "phones" in record:
        fields["phone"] = read_phone(record["phones"], name="phones", problems=problems)
    check_fields(Service(), fields, names=SERVICE_NAMES, problems=problems)
    return fields


def _read_organisation(
    record: JsonObject, *, problems: Problems, plans: dict[uuid.UUID, OrganisationPlan]
) -> uuid.UUID | None:
    """The service's organisation id, noting any details the record gives about it."""
    nested = record.get("organization")
    if nested is not None and not isinstance(nested, dict):
        problems.add("organization", "must be an object")
        return None
    hsds_id = _read_organisation_id(record, nested=nested, problems=problems)
    if hsds_id is None or nested is None:
        return hsds_id

    fields = read_text(
        nested, ORGANISATION_TEXT, model=Organisation, prefix="organization.", problems=problems
    )
    if "phones" in nested:
        fields["phone"] = read_phone(
            nested["phones"], name="organization.phones", problems=problems
        )
    if "organization_identifiers" in nested:
        fields["charity_number"] = read_charity_number(
            nested["organization_identifiers"],
            name="organization.organization_identifiers",
            problems=problems,
        )
    check_fields(Organisation(), fields, names=ORGANISATION_NAMES, problems=problems)
    plan = plans.setdefault(hsds_id, OrganisationPlan(hsds_id))
    plan.problems.append(problems)
    # Records describing the same organisation are applied in file order: the last word wins.
    plan.fields.update(fields)
    legal_status = nested.get("legal_status")
    if isinstance(legal_status, str) and legal_status.strip().casefold() in KINDS_BY_WORDING:
        plan.kind = KINDS_BY_WORDING[legal_status.strip().casefold()]
    return hsds_id


def _read_organisation_id(
    record: JsonObject, *, nested: JsonObject | None, problems: Problems
) -> uuid.UUID | None:
    # The list example carries both organization_id and a nested organization; either will do.
    given = {
        name: value
        for name, value in (
            ("organization_id", record.get("organization_id")),
            ("organization.id", (nested or {}).get("id")),
        )
        if value is not None
    }
    if not given:
        problems.add("organization", "is required (organization or organization_id)")
        return None
    read = {name: read_uuid(value, name=name, problems=problems) for name, value in given.items()}
    ids = {name: hsds_id for name, hsds_id in read.items() if hsds_id is not None}
    if len(ids) < len(read):
        return None
    if len(set(ids.values())) > 1:
        problems.add(
            "organization_id",
            f"{ids['organization_id']} differs from organization.id {ids['organization.id']}",
        )
        return None
    return next(iter(ids.values()))
