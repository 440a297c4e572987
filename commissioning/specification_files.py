"""Service specifications as JSON files, so one ICS can share a good specification with another.

docs/specification-files.md describes the format field by field; keep the two in step.
"""

import json
import re
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from commissioning.codes import SpecificationStatus
from commissioning.models import (
    SPECIFICATION_FIELDS,
    CommissioningFramework,
    Organisation,
    Service,
    ServiceSpecification,
)
from commissioning.validation import (
    WHOLE_NUMBER_FIELDS,
    known_need_codes,
    known_outcome_codes,
    specification_errors,
)

FORMAT = "vsocare-specifications"
FORMAT_VERSION = 1

# Every field a record may carry, in the order the export writes them: what identifies the
# version (its framework comes first among the content fields), then the content, taken from
# SPECIFICATION_FIELDS so that a field added to specifications is carried in files too.
RECORD_FIELDS = (
    "organisation",
    "service",
    SPECIFICATION_FIELDS[0],
    "version",
    "status",
    *SPECIFICATION_FIELDS[1:],
)
REQUIRED_FIELDS = ("organisation", "service", "framework", "version", "max_urgency", "starts_on")
NAME_FIELDS = ("organisation", "service", "framework")
CODE_LIST_FIELDS = ("activities_in_remit", "activities_excluded", "outcome_measures")
DATE_FIELDS = ("starts_on", "ends_on")
# What a field left out (or null) means; a record is the whole content of a version.
DEFAULTS = {
    "status": SpecificationStatus.DRAFT,
    "eligibility": "",
    "not_eligible_for_social_care": False,
    **dict.fromkeys(WHOLE_NUMBER_FIELDS),
    **{name: [] for name in CODE_LIST_FIELDS},
    "funding_gbp": None,
    "ends_on": None,
}
PUBLISHED = (SpecificationStatus.ACTIVE, SpecificationStatus.RETIRED)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
PENCE = Decimal("0.01")


class SpecificationFileError(Exception):
    """A file, or records in it, that cannot be used; nothing was changed."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


# --- Export ----------------------------------------------------------------------------------


def specifications_export(
    *, statuses: Collection[str] | None = None, organisation: str | None = None
) -> dict:
    specifications = ServiceSpecification.objects.select_related(
        "service__organisation", "framework"
    ).order_by(
        # The ids only break ties between same-named organisations in different systems, so
        # that two exports of the same data are the same file.
        "service__organisation__name",
        "service__organisation_id",
        "service__name",
        "service_id",
        "version",
    )
    if statuses:
        specifications = specifications.filter(status__in=statuses)
    if organisation is not None:
        if not Organisation.objects.filter(name__iexact=organisation).exists():
            raise SpecificationFileError(
                [f"organisation: No organisation called {organisation!r}."]
            )
        specifications = specifications.filter(service__organisation__name__iexact=organisation)
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "exported_at": timezone.now().isoformat(),
        "specifications": [specification_to_record(spec) for spec in specifications],
    }


def specification_to_record(spec: ServiceSpecification) -> dict:
    values = {
        "organisation": spec.service.organisation.name,
        "service": spec.service.name,
        "framework": spec.framework.name,
        # A string, not a JSON number: many JSON readers turn numbers into binary floats, and
        # money should arrive to the penny.
        "funding_gbp": None if spec.funding_gbp is None else str(spec.funding_gbp.quantize(PENCE)),
        "starts_on": spec.starts_on.isoformat(),
        "ends_on": spec.ends_on.isoformat() if spec.ends_on else None,
    }
    return {name: values[name] if name in values else getattr(spec, name) for name in RECORD_FIELDS}


# --- Reading a file --------------------------------------------------------------------------


def records_from_json(text: str) -> list:
    """The specification records of a file: the export's document or a bare list of records."""
    try:
        # Decimal keeps funding given as a JSON number exact to the penny.
        document = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as error:
        raise SpecificationFileError([f"file: Not a JSON file: {error}."]) from error
    if isinstance(document, list):
        return document
    if not isinstance(document, dict):
        raise SpecificationFileError(
            ["file: Must be a specifications document or a list of specifications."]
        )
    if document.get("format") != FORMAT:
        raise SpecificationFileError(
            [f"file: The format is {document.get('format')!r}, not {FORMAT!r}."]
        )
    if document.get("version") != FORMAT_VERSION or isinstance(document.get("version"), bool):
        raise SpecificationFileError(
            [
                f"file: Version {document.get('version')!r} of the format is not one this "
                f"installation reads (it reads version {FORMAT_VERSION})."
            ]
        )
    if not isinstance(document.get("specifications"), list):
        raise SpecificationFileError(["file: 'specifications' must be a list."])
    return document["specifications"]


# --- Import ----------------------------------------------------------------------------------


@dataclass
class ImportResult:
    """What the import did (or, in a dry run, would have done), as "Org / Service vN" labels."""

    dry_run: bool
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # Versions not in the file that were in force until the file published another.
    retired: list[str] = field(default_factory=list)


@dataclass
class _Record:
    number: int
    label: str
    values: dict
    errors: dict[str, list[str]] = field(default_factory=dict)
    service: Service | None = None
    framework: CommissioningFramework | None = None
    existing: ServiceSpecification | None = None

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    @property
    def status(self) -> str:
        return self.values["status"]

    @property
    def is_active(self) -> bool:
        return self.status == SpecificationStatus.ACTIVE

    @property
    def is_retired(self) -> bool:
        return self.status == SpecificationStatus.RETIRED

    @property
    def content(self) -> dict:
        return {name: self.values[name] for name in SPECIFICATION_FIELDS if name != "framework"} | {
            "framework": self.framework
        }


def specifications_import(*, records: list, dry_run: bool) -> ImportResult:
    """Create or update every record, or change nothing and raise SpecificationFileError."""
    with transaction.atomic():
        records_read = _read_records(records)
        in_force = _resolve(records_read)
        retiring = _check_statuses(records_read, in_force)
        errors = [
            f"{record.label}: {name}: {message}"
            for record in records_read
            for name, messages in record.errors.items()
            for message in messages
        ]
        if errors:
            raise SpecificationFileError(errors)
        result = _write(records_read, retiring, dry_run=dry_run)
        if dry_run:
            # The writes ran, so the database's own constraints have had their say too.
            transaction.set_rollback(True)
    return result


def _label(spec: ServiceSpecification) -> str:
    return f"{spec.service.organisation.name} / {spec.service.name} v{spec.version}"


def _read_records(records: list) -> list[_Record]:
    need_codes, outcome_codes = known_need_codes(), known_outcome_codes()
    read = []
    for number, raw in enumerate(records, start=1):
        if not isinstance(raw, dict):
            record = _Record(number=number, label=f"record {number}", values={})
            record.add("record", "Must be an object with the fields of one specification.")
        else:
            record = _read_record(number, raw)
            type_errors = set(record.errors)
            for name, messages in specification_errors(
                record.values, need_codes=need_codes, outcome_codes=outcome_codes
            ).items():
                # A value that could not be read has been said so once already.
                if name not in type_errors:
                    record.errors.setdefault(name, []).extend(messages)
        read.append(record)
    return read


def _read_record(number: int, raw: dict) -> _Record:
    def shown(name: str) -> str:
        return str(raw[name]) if raw.get(name) is not None else "?"

    label = f"record {number} ({shown('organisation')} / {shown('service')} v{shown('version')})"
    record = _Record(number=number, label=label, values={})
    values = record.values
    for name in raw.keys() - set(RECORD_FIELDS):
        record.add(name, "Not a specification field; see docs/specification-files.md.")
    for name in RECORD_FIELDS:
        value = raw.get(name)
        if value is None:
            if name in REQUIRED_FIELDS:
                record.add(name, "This field is required.")
            values[name] = DEFAULTS.get(name)
        elif name in NAME_FIELDS:
            values[name] = _read_name(value, name, record)
        elif name == "version":
            values[name] = _read_version(value, record)
        elif name == "eligibility":
            values[name] = _read_type(value, str, name, "Must be text.", record)
        elif name == "not_eligible_for_social_care":
            values[name] = _read_type(value, bool, name, "Must be true or false.", record)
        elif name in WHOLE_NUMBER_FIELDS:
            values[name] = _read_whole_number(value, name, record)
        elif name in CODE_LIST_FIELDS:
            values[name] = _read_codes(value, name, record)
        elif name == "funding_gbp":
            values[name] = _read_pounds(value, record)
        elif name in DATE_FIELDS:
            values[name] = _read_date(value, name, record)
        else:
            # status and max_urgency: specification_errors names the codes allowed.
            values[name] = value
    return record


def _read_name(value: object, name: str, record: _Record) -> str | None:
    if not isinstance(value, str) or not value.strip():
        record.add(name, "Must be a name.")
        return None
    return value


def _read_type(value: object, kind: type, name: str, message: str, record: _Record):
    if not isinstance(value, kind):
        record.add(name, message)
        return DEFAULTS[name]
    return value


def _field_maximum(name: str) -> int:
    internal_type = ServiceSpecification._meta.get_field(name).get_internal_type()
    return connection.ops.integer_field_range(internal_type)[1]


def _read_version(value: object, record: _Record) -> int | None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        record.add("version", "Must be a whole number of 1 or more.")
        return None
    if value > _field_maximum("version"):
        record.add("version", f"Must be at most {_field_maximum('version')}.")
        return None
    return value


def _read_whole_number(value: object, name: str, record: _Record) -> object:
    # Not a whole number, or below zero: specification_errors says so as the screens do. Only
    # the column's upper limit is checked here, so that the write cannot fail on it.
    if isinstance(value, int) and not isinstance(value, bool) and value > _field_maximum(name):
        record.add(name, f"Must be at most {_field_maximum(name)}.")
        return None
    return value


def _read_codes(value: object, name: str, record: _Record) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        record.add(name, 'Must be a list of codes, such as ["home_help", "shopping"].')
        return []
    return value


def _read_pounds(value: object, record: _Record) -> Decimal | None:
    message = 'Must be an amount in pounds, such as "85000.00".'
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        record.add("funding_gbp", message)
        return None
    try:
        # str() first, so a float from a Python caller becomes the number it was written as.
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        record.add("funding_gbp", message)
        return None
    if amount != amount.quantize(PENCE):
        record.add("funding_gbp", "Must be in pounds and pence, with at most 2 decimal places.")
        return None
    column = ServiceSpecification._meta.get_field("funding_gbp")
    limit = Decimal(10) ** (column.max_digits - column.decimal_places)
    if abs(amount) >= limit:
        record.add("funding_gbp", f"Must be less than £{limit:,}.")
        return None
    # Below zero is left to specification_errors, for the screens' message.
    return amount.quantize(PENCE)


def _read_date(value: object, name: str, record: _Record) -> date | None:
    # fromisoformat alone would also take 20260401 and week dates; the format promises one form.
    if isinstance(value, str) and ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    record.add(name, f"Must be a date written YYYY-MM-DD, not {value!r}.")
    return None


def _resolve(records: list[_Record]) -> dict[int, list[ServiceSpecification]]:
    """Find each record's service, framework and existing version; lock the services.

    Returns the versions in force (active in the database) of each service in the file.
    """

    def lowered(name: str) -> set[str]:
        return {r.values[name].lower() for r in records if r.values.get(name)}

    organisations = defaultdict(list)
    for organisation in (
        Organisation.objects.annotate(lower_name=Lower("name"))
        .filter(lower_name__in=lowered("organisation"))
        .select_related("system")
    ):
        organisations[organisation.lower_name].append(organisation)
    services = {
        (service.organisation_id, service.lower_name): service
        for service in Service.objects.annotate(lower_name=Lower("name"))
        .filter(
            organisation__in=[o for found in organisations.values() for o in found],
            lower_name__in=lowered("service"),
        )
        .select_related("organisation")
    }
    frameworks = {
        (framework.system_id, framework.lower_name): framework
        for framework in CommissioningFramework.objects.annotate(lower_name=Lower("name")).filter(
            system__in={o.system_id for found in organisations.values() for o in found},
            lower_name__in=lowered("framework"),
        )
    }
    # Locked, as specification_publish locks them, so that nobody publishes a version from the
    # screens between these checks and the writes.
    locked = Service.objects.select_for_update().filter(pk__in=[s.pk for s in services.values()])
    list(locked.order_by("pk").values_list("pk", flat=True))
    existing, in_force = {}, defaultdict(list)
    for spec in ServiceSpecification.objects.filter(service__in=services.values()).select_related(
        "service__organisation"
    ):
        existing[spec.service_id, spec.version] = spec
        if spec.status == SpecificationStatus.ACTIVE:
            in_force[spec.service_id].append(spec)

    for record in records:
        name = record.values.get("organisation")
        if not name:
            continue
        found = organisations.get(name.lower(), [])
        if not found:
            record.add(
                "organisation",
                f"No organisation called {name!r}; import the directory before specifications.",
            )
            continue
        if len(found) > 1:
            record.add(
                "organisation",
                f"{len(found)} systems each have an organisation called {name!r}.",
            )
            continue
        organisation = found[0]
        if not organisation.is_voluntary:
            # Specifications set the remit of voluntary services; statutory services have none.
            record.add(
                "organisation",
                f"{organisation.name} is not a voluntary sector organisation; specifications "
                "are for voluntary services only.",
            )
            continue
        service_name = record.values.get("service")
        if service_name:
            record.service = services.get((organisation.pk, service_name.lower()))
            if record.service is None:
                record.add(
                    "service", f"{organisation.name} has no service called {service_name!r}."
                )
        framework_name = record.values.get("framework")
        if framework_name:
            record.framework = frameworks.get((organisation.system_id, framework_name.lower()))
            if record.framework is None:
                record.add(
                    "framework",
                    f"No commissioning framework called {framework_name!r} in "
                    f"{organisation.system.name}.",
                )
        if record.service and record.values.get("version"):
            record.existing = existing.get((record.service.pk, record.values["version"]))
    return in_force


def _check_statuses(
    records: list[_Record], in_force: dict[int, list[ServiceSpecification]]
) -> list[ServiceSpecification]:
    """Refuse changes to published versions and a second active version of a service.

    Returns the versions in force, not in the file, that the file's active versions replace.
    """
    usable = [
        r
        for r in records
        if r.service and r.values.get("version") and r.status in SpecificationStatus.values
    ]
    first_record = {}
    for record in usable:
        key = (record.service.pk, record.values["version"])
        if key in first_record:
            record.add(
                "version",
                f"Version {key[1]} of {record.service.name} is also record "
                f"{first_record[key]}; give each version once.",
            )
        else:
            first_record[key] = record.number
        if record.existing is not None:
            _check_existing(record)

    retiring = []
    by_service = defaultdict(list)
    for record in usable:
        by_service[record.service.pk].append(record)
    for service_records in by_service.values():
        service = service_records[0].service
        in_file = {r.values["version"] for r in service_records}
        file_active = sorted({r.values["version"] for r in service_records if r.is_active})
        others = [spec for spec in in_force[service.pk] if spec.version not in in_file]
        if file_active:
            # An active version in the file is a publication: the one in force retires, as
            # specification_publish retires it.
            retiring.extend(others)
            others = []
        active_after = sorted(file_active + [spec.version for spec in others])
        if len(active_after) > 1:
            versions = ", ".join(str(v) for v in active_after)
            for record in service_records:
                if record.is_active:
                    record.add(
                        "status",
                        f"{service.name} would have more than one active version "
                        f"({versions}); a service has one active version at a time.",
                    )
    return retiring


def _comparable(value: object) -> object:
    # The order of codes in a list carries no meaning.
    return sorted(value) if isinstance(value, list) else value


def _check_existing(record: _Record) -> None:
    existing, status = record.existing, record.status
    described = f"Version {existing.version} of {existing.service.name} is {existing.status}"
    if existing.status in PUBLISHED:
        # A field already refused (an unknown framework, say) needs no second message.
        refused = set(record.errors)
        for name in [name for name in _differs(record, existing) if name not in refused]:
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


def _differs(record: _Record, spec: ServiceSpecification) -> list[str]:
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


def _write(
    records: list[_Record], retiring: list[ServiceSpecification], *, dry_run: bool
) -> ImportResult:
    result = ImportResult(dry_run=dry_run)
    now = timezone.now()
    creates, updates, retired_by_file = [], [], []
    for record in records:
        existing = record.existing
        if existing is None:
            creates.append(record)
        elif existing.status == SpecificationStatus.ACTIVE and record.is_retired:
            retired_by_file.append(existing)
            result.updated.append(_label(existing))
        elif existing.status == record.status and not _differs(record, existing):
            result.unchanged.append(_label(existing))
        else:
            # Only a draft gets here: the checks refused every other change.
            updates.append(record)

    # Retire first: the database allows one active version per service at every moment
    # (spec_one_active_per_service), so the old one must go before the new one arrives.
    for spec in [*retiring, *retired_by_file]:
        spec.status = SpecificationStatus.RETIRED
        spec.retired_at = now
        # Nobody is signed in to an import: leaving the last editor here would name the wrong
        # person as the one who retired it.
        spec.updated_by = None
        spec.save(update_fields=["status", "retired_at", "updated_at", "updated_by"])
    result.retired.extend(_label(spec) for spec in retiring)
    for record in updates:
        spec = record.existing
        for name, value in record.content.items():
            setattr(spec, name, value)
        if record.is_active:
            spec.status = SpecificationStatus.ACTIVE
            spec.published_at = now
        spec.updated_by = None
        spec.save()
        result.updated.append(_label(spec))
    for record in creates:
        spec = ServiceSpecification.objects.create(
            service=record.service,
            version=record.values["version"],
            status=record.status,
            # The file carries no history, so a published version is dated by its import.
            published_at=now if record.status in PUBLISHED else None,
            retired_at=now if record.is_retired else None,
            **record.content,
        )
        result.created.append(_label(spec))
    return result
