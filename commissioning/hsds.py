"""The directory as Open Referral UK / HSDS 3.0 data: the open-data export and the file import.

docs/directory-open-data.md describes the mapping field by field; keep the two in step.
"""

import math
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model, Prefetch, QuerySet
from django.db.models.functions import Lower

from commissioning.codes import ServiceStatus
from commissioning.models import Need, Organisation, Place, Sector, Service, System, VsoKind

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200

# The vocabulary our need codes are published under. The ids derived below are public: consumers
# link taxonomy terms, attributes and areas by them, so the namespace and the names fed to uuid5
# must never change.
NEEDS_VOCABULARY = "vsocare-needs"
HSDS_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:vsocare:hsds")
NEEDS_TAXONOMY_ID = uuid.uuid5(HSDS_NAMESPACE, NEEDS_VOCABULARY)

# HSDS spells one status with a space; the others are the same words as ours.
HSDS_STATUSES = {
    ServiceStatus.ACTIVE: "active",
    ServiceStatus.INACTIVE: "inactive",
    ServiceStatus.DEFUNCT: "defunct",
    ServiceStatus.TEMPORARILY_CLOSED: "temporarily closed",
}
STATUSES_FROM_HSDS = {hsds: ours for ours, hsds in HSDS_STATUSES.items()} | {
    # Our own spelling is unambiguous, so a file written by hand with it is not refused.
    ours.value: ours
    for ours in ServiceStatus
}

# org-id.guide's scheme for the Charity Commission for England and Wales.
CHARITY_SCHEME = "GB-CHC"


def need_term_id(code: str) -> uuid.UUID:
    return uuid.uuid5(HSDS_NAMESPACE, f"{NEEDS_VOCABULARY}/{code}")


def _derived_id(*parts: object) -> str:
    return str(uuid.uuid5(HSDS_NAMESPACE, "/".join(str(part) for part in parts)))


# --- Export ----------------------------------------------------------------------------------


class BadPageRequest(Exception):
    """A page or per_page parameter that is not a usable number."""


class PageNotFound(Exception):
    """A page number past the last page."""


def page_request_parse(*, page: str | None, per_page: str | None) -> tuple[int, int]:
    return (
        _whole_number("page", page, default=1, low=1, high=None),
        _whole_number("per_page", per_page, default=DEFAULT_PER_PAGE, low=1, high=MAX_PER_PAGE),
    )


def _whole_number(name: str, raw: str | None, *, default: int, low: int, high: int | None) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadPageRequest(f"{name} must be a whole number, not {raw!r}.") from None
    if value < low or (high is not None and value > high):
        limits = f"from {low} to {high}" if high is not None else f"{low} or more"
        raise BadPageRequest(f"{name} must be {limits}, not {value}.")
    return value


def services_published() -> QuerySet[Service]:
    """What the open-data directory holds: active services of organisations still active."""
    return (
        Service.objects.filter(status=ServiceStatus.ACTIVE, organisation__active=True)
        .select_related("organisation__system")
        .prefetch_related(Prefetch("places", queryset=Place.objects.order_by("name")))
        # The primary key breaks ties so a harvester paging through never sees a service twice.
        .order_by("name", "pk")
    )


def directory_export_page(*, page: int, per_page: int) -> dict:
    services = services_published()
    total = services.count()
    # An empty directory still has a first page, which says it is empty.
    total_pages = max(1, math.ceil(total / per_page))
    if page > total_pages:
        raise PageNotFound(f"There is no page {page}; the last page is {total_pages}.")
    start = (page - 1) * per_page
    chunk = list(services[start : start + per_page])
    needs = {need.code: need for need in Need.objects.all()}
    return {
        "total_items": total,
        "total_pages": total_pages,
        "page_number": page,
        "size": len(chunk),
        "first_page": page == 1,
        "last_page": page == total_pages,
        "empty": total == 0,
        "contents": [service_to_hsds(service, needs=needs) for service in chunk],
    }


def _without_blanks(data: dict) -> dict:
    # HSDS leaves out what is not known; an empty url or email would not even be valid.
    return {key: value for key, value in data.items() if value not in ("", None, [])}


def service_to_hsds(service: Service, *, needs: Mapping[str, Need]) -> dict:
    organisation = service.organisation
    return _without_blanks(
        {
            "id": str(service.hsds_id),
            "organization_id": str(organisation.hsds_id),
            "name": service.name,
            "description": service.description,
            "url": service.url,
            "email": service.email,
            "status": HSDS_STATUSES[service.status],
            "eligibility_description": service.eligibility,
            "minimum_age": service.min_age,
            "maximum_age": service.max_age,
            "assured_date": service.last_verified_on and service.last_verified_on.isoformat(),
            "last_modified": service.updated_at.astimezone(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "phones": _phones(service.phone, owner=("service", service.hsds_id)),
            "service_areas": _service_areas(service),
            "organization": organisation_to_hsds(organisation),
            "attributes": [
                _need_attribute(service, code, needs.get(code)) for code in service.needs
            ],
        }
    )


def organisation_to_hsds(organisation: Organisation) -> dict:
    identifiers = []
    if organisation.charity_number:
        identifiers.append(
            {
                "id": _derived_id("organization_identifier", organisation.hsds_id, CHARITY_SCHEME),
                "organization_id": str(organisation.hsds_id),
                "identifier_scheme": CHARITY_SCHEME,
                "identifier_type": "Charity number",
                "identifier": organisation.charity_number,
            }
        )
    return {
        "id": str(organisation.hsds_id),
        "name": organisation.name,
        # Required by HSDS even when we know none.
        "description": organisation.description,
        **_without_blanks(
            {
                "email": organisation.email,
                "website": organisation.website,
                "legal_status": organisation.get_kind_display() if organisation.kind else "",
                "phones": _phones(organisation.phone, owner=("organization", organisation.hsds_id)),
                "organization_identifiers": identifiers,
            }
        ),
    }


def _phones(number: str, *, owner: tuple[str, uuid.UUID]) -> list[dict]:
    if not number:
        return []
    return [{"id": _derived_id("phone", *owner), "number": number}]


def _service_areas(service: Service) -> list[dict]:
    places = list(service.places.all())
    if not places:
        system = service.organisation.system
        return [
            {
                "id": _derived_id("service_area", service.hsds_id, "system"),
                "service_id": str(service.hsds_id),
                "name": system.name,
                "description": f"The whole of {system.name}.",
            }
        ]
    return [
        {
            # By primary key, so a renamed place keeps its area's id.
            "id": _derived_id("service_area", service.hsds_id, place.pk),
            "service_id": str(service.hsds_id),
            "name": place.name,
        }
        for place in places
    ]


def _need_attribute(service: Service, code: str, need: Need | None) -> dict:
    term_id = str(need_term_id(code))
    return {
        "id": _derived_id("attribute", service.hsds_id, code),
        "link_id": str(service.hsds_id),
        "link_entity": "service",
        "taxonomy_term_id": term_id,
        "taxonomy_term": {
            "id": term_id,
            "code": code,
            # A code dropped from the table since keeps its code as its name rather than vanish.
            "name": need.label if need else code,
            "description": need.get_group_display() if need else "",
            "taxonomy": NEEDS_VOCABULARY,
            "taxonomy_id": str(NEEDS_TAXONOMY_ID),
            "taxonomy_detail": {
                "id": str(NEEDS_TAXONOMY_ID),
                "name": NEEDS_VOCABULARY,
                "description": "The needs and activities VSO Care says a service meets.",
            },
        },
    }


# --- Import ----------------------------------------------------------------------------------


class DirectoryImportError(Exception):
    """The file was refused; nothing was changed. One line per problem, in record order."""

    def __init__(self, errors: list[str]):
        super().__init__(f"{len(errors)} error(s)")
        self.errors = errors


@dataclass(frozen=True)
class ImportResult:
    organisations_created: int = 0
    organisations_updated: int = 0
    services_created: int = 0
    services_updated: int = 0


def records_from_document(document: object) -> list:
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


class _Problems:
    """Collects "record N (id …, name …): field: message" lines for one record."""

    def __init__(self, number: int, record: object, sink: list[tuple[int, str]]):
        record = record if isinstance(record, dict) else {}
        self.number = number
        self.prefix = (
            f"record {number} (id {record.get('id') or 'missing'}, "
            f"name {record.get('name') or 'missing'})"
        )
        self.sink = sink
        self.count = 0

    def add(self, field_name: str, message: str) -> None:
        self.sink.append((self.number, f"{self.prefix}: {field_name}: {message}"))
        self.count += 1


@dataclass
class _OrganisationPlan:
    hsds_id: uuid.UUID
    problems: list[_Problems] = field(default_factory=list)  # the records that describe it
    fields: dict = field(default_factory=dict)
    kind: str = ""  # from legal_status, when it names one of our kinds


@dataclass
class _ServicePlan:
    problems: _Problems
    hsds_id: uuid.UUID
    organisation_id: uuid.UUID
    fields: dict
    needs: list[str] | None  # None: the record says nothing, so leave them as they are
    places: list[Place] | None


@dataclass
class _Lookups:
    need_codes: set[str]
    need_codes_by_term_id: dict[str, str]
    places_by_name: dict[str, Place]


def directory_import(*, records: list, sector: str, kind: str = "", system: System) -> ImportResult:
    """Create or update organisations and services by HSDS id; all or nothing.

    Raises DirectoryImportError listing every problem in every record, having changed nothing.
    """
    if sector not in Sector.values:
        raise ValueError(f"Unknown sector {sector!r}")
    if (sector == Sector.VOLUNTARY) != (kind in VsoKind.values):
        raise ValueError("A voluntary import needs a VSO kind; any other sector takes none.")

    codes = set(Need.objects.values_list("code", flat=True))
    lookups = _Lookups(
        need_codes=codes,
        need_codes_by_term_id={str(need_term_id(code)): code for code in codes},
        places_by_name={place.name.casefold(): place for place in system.places.all()},
    )
    errors: list[tuple[int, str]] = []
    organisations: dict[uuid.UUID, _OrganisationPlan] = {}
    services: list[_ServicePlan] = []
    for number, record in enumerate(records, start=1):
        problems = _Problems(number, record, errors)
        plan = _read_service(record, problems=problems, lookups=lookups, plans=organisations)
        # Kept even with problems, so the checks across records report everything in one go.
        if plan is not None:
            services.append(plan)

    existing_organisations = {
        organisation.hsds_id: organisation
        for organisation in Organisation.objects.select_related("system").filter(
            hsds_id__in=[plan.organisation_id for plan in services] + list(organisations)
        )
    }
    existing_services = {
        service.hsds_id: service
        for service in Service.objects.filter(hsds_id__in=[plan.hsds_id for plan in services])
    }
    _check_organisations(
        organisations, services, existing_organisations, sector=sector, system=system
    )
    _check_services(services, existing_services)
    if errors:
        raise DirectoryImportError([line for _, line in sorted(errors, key=lambda e: e[0])])

    try:
        return _write(
            organisations,
            services,
            existing_organisations,
            existing_services,
            sector=sector,
            kind=kind,
            system=system,
        )
    except IntegrityError as error:
        # The checks above should leave nothing for the database to refuse; if they missed a
        # case, the file is still refused whole rather than half-loaded.
        raise DirectoryImportError([f"file: the database refused it: {error}"]) from error


def _read_service(
    record: object,
    *,
    problems: _Problems,
    lookups: _Lookups,
    plans: dict[uuid.UUID, _OrganisationPlan],
) -> _ServicePlan | None:
    if not isinstance(record, dict):
        problems.add("record", "is not a JSON object")
        return None
    hsds_id = _read_uuid(record.get("id"), "id", problems)
    if "name" not in record:
        problems.add("name", "is required")
    fields = _read_text(record, SERVICE_TEXT, prefix="", problems=problems)
    status = record.get("status")
    if status is None:
        problems.add("status", "is required")
    elif not isinstance(status, str) or status not in STATUSES_FROM_HSDS:
        problems.add("status", f"{status!r} is not one of {', '.join(HSDS_STATUSES.values())}")
    else:
        fields["status"] = STATUSES_FROM_HSDS[status]
    for hsds_key, model_field in (("minimum_age", "min_age"), ("maximum_age", "max_age")):
        if hsds_key in record:
            fields[model_field] = _read_age(record[hsds_key], hsds_key, problems)
    if "assured_date" in record:
        fields["last_verified_on"] = _read_date(record["assured_date"], "assured_date", problems)
    if "phones" in record:
        fields["phone"] = _read_phone(record["phones"], "phones", problems)
    _check_fields(Service(), fields, SERVICE_NAMES, problems=problems)

    needs = _read_needs(record["attributes"], problems, lookups) if "attributes" in record else None
    places = (
        _read_places(record["service_areas"], problems, lookups)
        if "service_areas" in record
        else None
    )
    organisation_id = _read_organisation(record, problems=problems, plans=plans)
    if hsds_id is None or organisation_id is None:
        return None
    return _ServicePlan(problems, hsds_id, organisation_id, fields, needs, places)


def _read_organisation(
    record: dict, *, problems: _Problems, plans: dict[uuid.UUID, _OrganisationPlan]
) -> uuid.UUID | None:
    """The service's organisation id, noting any details the record gives about it."""
    nested = record.get("organization")
    if nested is not None and not isinstance(nested, dict):
        problems.add("organization", "must be an object")
        return None
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
    ids = {name: _read_uuid(value, name, problems) for name, value in given.items()}
    if None in ids.values():
        return None
    if len(set(ids.values())) > 1:
        problems.add(
            "organization_id",
            f"{ids['organization_id']} differs from organization.id {ids['organization.id']}",
        )
        return None
    hsds_id = next(iter(ids.values()))
    if nested is None:
        return hsds_id

    fields = _read_text(nested, ORGANISATION_TEXT, prefix="organization.", problems=problems)
    if "phones" in nested:
        fields["phone"] = _read_phone(nested["phones"], "organization.phones", problems)
    if "organization_identifiers" in nested:
        fields["charity_number"] = _read_charity_number(nested["organization_identifiers"])
    _check_fields(Organisation(), fields, ORGANISATION_NAMES, problems=problems)
    plan = plans.setdefault(hsds_id, _OrganisationPlan(hsds_id))
    plan.problems.append(problems)
    # Records describing the same organisation are applied in file order: the last word wins.
    plan.fields.update(fields)
    legal_status = nested.get("legal_status")
    if isinstance(legal_status, str) and legal_status.strip().casefold() in KINDS_BY_WORDING:
        plan.kind = KINDS_BY_WORDING[legal_status.strip().casefold()]
    return hsds_id


def _read_uuid(value: object, name: str, problems: _Problems) -> uuid.UUID | None:
    if value in (None, ""):
        problems.add(name, "is required")
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        problems.add(name, f"{value!r} is not a UUID")
        return None


def _read_text(source: dict, names: Mapping[str, str], *, prefix: str, problems: _Problems) -> dict:
    """The text fields the source gives, as model fields. null clears a field; absent keeps it."""
    fields = {}
    for hsds_key, model_field in names.items():
        if hsds_key not in source:
            continue
        value = "" if source[hsds_key] is None else source[hsds_key]
        if not isinstance(value, str):
            problems.add(prefix + hsds_key, "must be text")
            continue
        fields[model_field] = value.strip()
    return fields


def _read_age(value: object, name: str, problems: _Problems) -> int | None:
    if value is None:
        return None
    # bool is an int in Python, and true is not an age.
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        problems.add(name, f"must be a whole number of years, not {value!r}")
        return None
    return int(value)


def _read_date(value: object, name: str, problems: _Problems) -> date | None:
    if value in (None, ""):
        return None
    try:
        if isinstance(value, str):
            return date.fromisoformat(value)
    except ValueError:
        pass
    problems.add(name, f"{value!r} is not a date (YYYY-MM-DD)")
    return None


def _read_phone(value: object, name: str, problems: _Problems) -> str:
    """The first phone's number: we hold one number for each service and organisation."""
    if not isinstance(value, list):
        problems.add(name, "must be a list")
        return ""
    if not value:
        return ""
    number = value[0].get("number") if isinstance(value[0], dict) else None
    if not isinstance(number, str):
        problems.add(f"{name}[0].number", "must be text")
        return ""
    # Numbers exported through CSV tools arrive wrapped in their quotes (see the HSDS examples).
    return number.strip().strip('"').strip()


def _read_charity_number(value: object) -> str:
    if not isinstance(value, list):
        return ""
    for identifier in value:
        if isinstance(identifier, dict) and identifier.get("identifier_scheme") == CHARITY_SCHEME:
            return str(identifier.get("identifier") or "").strip()
    return ""


def _read_needs(value: object, problems: _Problems, lookups: _Lookups) -> list[str]:
    if not isinstance(value, list):
        problems.add("attributes", "must be a list")
        return []
    needs: list[str] = []
    for index, attribute in enumerate(value):
        name = f"attributes[{index}]"
        if not isinstance(attribute, dict):
            problems.add(name, "must be an object")
            continue
        code = _need_code(attribute, name=name, problems=problems, lookups=lookups)
        if code and code not in needs:
            needs.append(code)
    return needs


def _need_code(attribute: dict, *, name: str, problems: _Problems, lookups: _Lookups) -> str | None:
    """Our need code for an attribute, or None for another vocabulary's term, which we ignore."""
    term = attribute.get("taxonomy_term")
    if not isinstance(term, dict):
        # A bare reference can only be ours if it is one of the ids we publish.
        return lookups.need_codes_by_term_id.get(str(attribute.get("taxonomy_term_id")))
    detail = term.get("taxonomy_detail") if isinstance(term.get("taxonomy_detail"), dict) else {}
    ours = (
        term.get("taxonomy") == NEEDS_VOCABULARY
        or str(term.get("taxonomy_id")) == str(NEEDS_TAXONOMY_ID)
        or detail.get("name") == NEEDS_VOCABULARY
        or str(detail.get("id")) == str(NEEDS_TAXONOMY_ID)
    )
    if not ours:
        return lookups.need_codes_by_term_id.get(str(term.get("id")))
    code = term.get("code")
    if code not in lookups.need_codes:
        problems.add(
            f"{name}.taxonomy_term.code",
            f"{code!r} is not a need code in VSO Care"
            if code
            else f"is required for a {NEEDS_VOCABULARY} term",
        )
        return None
    return code


def _read_places(value: object, problems: _Problems, lookups: _Lookups) -> list[Place]:
    # An area that is not one of our places (a postcode district, a whole county, the system
    # itself) narrows nothing we can record, so it is left out; no places means the whole system.
    if not isinstance(value, list):
        problems.add("service_areas", "must be a list")
        return []
    places: list[Place] = []
    for area in value:
        area_name = area.get("name") if isinstance(area, dict) else None
        place = lookups.places_by_name.get(area_name.strip().casefold()) if area_name else None
        if place is not None and place not in places:
            places.append(place)
    return places


def _check_fields(
    instance: Model, fields: dict, names: Mapping[str, str], *, problems: _Problems
) -> None:
    """The model's own rules (lengths, URL, email, ranges) on just the fields the record gives."""
    for model_field, value in fields.items():
        setattr(instance, model_field, value)
    exclude = {f.name for f in instance._meta.fields} - set(fields)
    try:
        instance.clean_fields(exclude=exclude)
    except ValidationError as error:
        for model_field, messages in error.message_dict.items():
            problems.add(names[model_field], " ".join(messages))


def _check_organisations(
    plans: dict[uuid.UUID, _OrganisationPlan],
    services: list[_ServicePlan],
    existing: dict[uuid.UUID, Organisation],
    *,
    sector: str,
    system: System,
) -> None:
    for service in services:
        organisation = existing.get(service.organisation_id)
        if organisation is None and service.organisation_id not in plans:
            service.problems.add(
                "organization_id",
                f"no organisation {service.organisation_id} is in VSO Care and the file "
                "gives no details of it",
            )
        elif organisation is not None:
            _check_existing_organisation(organisation, service.problems, sector, system)
    for plan in plans.values():
        if plan.hsds_id not in existing and not plan.fields.get("name"):
            for problems in plan.problems:
                problems.add("organization.name", "is required for an organisation new to VSO Care")

    # Names are unique in a system regardless of case; check the directory as it would be after.
    wanted = {plan.fields["name"].lower() for plan in plans.values() if plan.fields.get("name")}
    final_names = {
        hsds_id: name.lower()
        for hsds_id, name in Organisation.objects.filter(system=system)
        .annotate(lower_name=Lower("name"))
        .filter(lower_name__in=wanted)
        .values_list("hsds_id", "name")
    }
    final_names |= {
        plan.hsds_id: plan.fields["name"].lower()
        for plan in plans.values()
        if plan.fields.get("name")
    }
    for ids in _clashes(final_names):
        for hsds_id in ids:
            for problems in plans[hsds_id].problems if hsds_id in plans else []:
                problems.add(
                    "organization.name",
                    f"{plans[hsds_id].fields['name']!r} is also the name of another organisation "
                    f"in {system.name} ({', '.join(str(i) for i in ids if i != hsds_id)})",
                )


def _check_existing_organisation(
    organisation: Organisation, problems: _Problems, sector: str, system: System
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


def _check_services(services: list[_ServicePlan], existing: dict[uuid.UUID, Service]) -> None:
    seen: dict[uuid.UUID, int] = {}
    for service in services:
        if service.hsds_id in seen:
            service.problems.add(
                "id", f"record {seen[service.hsds_id]} already has this id in the same file"
            )
        seen.setdefault(service.hsds_id, service.problems.number)
        # An age the record leaves out keeps its current value; the pair must still make sense.
        current = existing.get(service.hsds_id)
        low = service.fields.get("min_age", current.min_age if current else None)
        high = service.fields.get("max_age", current.max_age if current else None)
        if low is not None and high is not None and high < low:
            service.problems.add("maximum_age", f"{high} is below minimum_age {low}")

    # Service names are unique within an organisation regardless of case.
    final: dict[uuid.UUID, tuple[uuid.UUID, str]] = {
        hsds_id: (organisation_id, name.lower())
        for hsds_id, organisation_id, name in Service.objects.filter(
            organisation__hsds_id__in={service.organisation_id for service in services}
        ).values_list("hsds_id", "organisation__hsds_id", "name")
    }
    for service in services:
        name = service.fields.get("name") or (
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
                    "another service of the same organisation has this name "
                    f"({', '.join(str(i) for i in ids if i != hsds_id)})",
                )


def _clashes(values: Mapping[uuid.UUID, object]) -> Iterable[list[uuid.UUID]]:
    groups = defaultdict(list)
    for hsds_id, value in values.items():
        groups[value].append(hsds_id)
    return (ids for ids in groups.values() if len(ids) > 1)


@transaction.atomic
def _write(
    organisation_plans: dict[uuid.UUID, _OrganisationPlan],
    service_plans: list[_ServicePlan],
    organisations: dict[uuid.UUID, Organisation],
    services: dict[uuid.UUID, Service],
    *,
    sector: str,
    kind: str,
    system: System,
) -> ImportResult:
    counts = defaultdict(int)
    for plan in organisation_plans.values():
        organisation = organisations.get(plan.hsds_id)
        if organisation is None:
            organisation = Organisation(
                hsds_id=plan.hsds_id, system=system, sector=sector, kind=kind
            )
            counts["organisations_created"] += 1
        else:
            counts["organisations_updated"] += 1
        if plan.kind and sector == Sector.VOLUNTARY:
            organisation.kind = plan.kind
        for name, value in plan.fields.items():
            setattr(organisation, name, value)
        organisation.save()
        organisations[plan.hsds_id] = organisation

    for plan in service_plans:
        service = services.get(plan.hsds_id)
        if service is None:
            service = Service(hsds_id=plan.hsds_id)
            counts["services_created"] += 1
        else:
            counts["services_updated"] += 1
        service.organisation = organisations[plan.organisation_id]
        for name, value in plan.fields.items():
            setattr(service, name, value)
        if plan.needs is not None:
            service.needs = plan.needs
        service.save()
        if plan.places is not None:
            service.places.set(plan.places)
    return ImportResult(**counts)
