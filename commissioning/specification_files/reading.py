"""Reading a file: its records, each field checked and given its default, errors kept by field.

Nothing here looks names up; resolving does, once every record has been read.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection

from commissioning.codes import SpecificationStatus
from commissioning.models import (
    SPECIFICATION_FIELDS,
    CommissioningFramework,
    Service,
    ServiceSpecification,
)
from commissioning.specification_files.format import (
    CODE_LIST_FIELDS,
    DATE_FIELDS,
    DEFAULTS,
    FORMAT,
    FORMAT_VERSION,
    ISO_DATE,
    NAME_FIELDS,
    PENCE,
    RECORD_FIELDS,
    REQUIRED_FIELDS,
    SpecificationFileError,
)
from commissioning.validation import (
    WHOLE_NUMBER_FIELDS,
    known_need_codes,
    known_outcome_codes,
    specification_errors,
)
from core.plausible import DESCRIPTION_MAX_LENGTH, check_text, json_load, shown

# What one file may hold: far more than every specification of a system, and so flat that a file
# nested deeper is not one of ours. Past these a file is refused before it is parsed.
MAX_FILE_BYTES = 50_000_000
MAX_DEPTH = 16
# The most characters a text field may have: a name as its column holds it, a code as a need
# or outcome code is, eligibility as a description in the directory.
NAME_MAX_LENGTH = 200
CODE_MAX_LENGTH = 50


@dataclass
class Record:
    """One record of a file: its values as read, what its names found, and what is wrong."""

    number: int
    label: str
    # By field name, every one of RECORD_FIELDS once read: the values differ in type by field,
    # and specification_errors checks them as the screens' form data.
    values: dict[str, Any]
    errors: dict[str, list[str]] = field(default_factory=dict)
    # Found by resolving; None until then, and after it when the name finds nothing.
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
    def content(self) -> dict[str, Any]:
        return {name: self.values[name] for name in SPECIFICATION_FIELDS if name != "framework"} | {
            "framework": self.framework
        }


def records_from_json(text: str) -> list[Any]:
    """The specification records of a file: the export's document or a bare list of records."""
    try:
        # Decimal keeps funding given as a JSON number exact to the penny.
        document = json_load(text, max_depth=MAX_DEPTH, parse_float=Decimal)
    except ValidationError as error:
        raise SpecificationFileError([f"file: {message}" for message in error.messages]) from error
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


def read_records(records: Sequence[object]) -> list[Record]:
    """Every record read, numbered from 1, with what is wrong with each."""
    need_codes, outcome_codes = known_need_codes(), known_outcome_codes()
    read = []
    for number, raw in enumerate(records, start=1):
        if not isinstance(raw, dict):
            record = Record(number=number, label=f"record {number}", values={})
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


def _read_record(number: int, raw: dict[str, object]) -> Record:
    def given(name: str) -> str:
        return shown(raw[name], max_length=NAME_MAX_LENGTH) if raw.get(name) is not None else "?"

    label = f"record {number} ({given('organisation')} / {given('service')} v{given('version')})"
    record = Record(number=number, label=label, values={})
    for name in raw.keys() - set(RECORD_FIELDS):
        record.add(shown(name), "Not a specification field; see docs/specification-files.md.")
    for name in RECORD_FIELDS:
        value = raw.get(name)
        if value is None:
            if name in REQUIRED_FIELDS:
                record.add(name, "This field is required.")
            record.values[name] = DEFAULTS.get(name)
        else:
            record.values[name] = _read_value(value, name=name, record=record)
    return record


def _read_value(value: object, *, name: str, record: Record) -> object:
    """The value a field given in the file stands for; what is wrong with it goes to record."""
    if isinstance(value, str) and not _plain_text(value, name=name, record=record):
        return DEFAULTS.get(name)
    if name in NAME_FIELDS:
        return _read_name(value, name=name, record=record)
    if name == "version":
        return _read_version(value, record=record)
    if name == "eligibility":
        return _read_type(value, kind=str, message="Must be text.", name=name, record=record)
    if name == "not_eligible_for_social_care":
        return _read_type(
            value, kind=bool, message="Must be true or false.", name=name, record=record
        )
    if name in WHOLE_NUMBER_FIELDS:
        return _read_whole_number(value, name=name, record=record)
    if name in CODE_LIST_FIELDS:
        return _read_codes(value, name=name, record=record)
    if name == "funding_gbp":
        return _read_pounds(value, record=record)
    if name == "outcomes_star_version":
        # specification_errors names the versions allowed.
        message = 'Must be a version code, such as "wellbeing".'
        return _read_type(value, kind=str, message=message, name=name, record=record)
    if name in DATE_FIELDS:
        return _read_date(value, name=name, record=record)
    # status and max_urgency: specification_errors names the codes allowed.
    return value


def _plain_text(value: str, *, name: str, record: Record) -> bool:
    """Whether the text may be used at all; what check_text refuses in it goes to record.

    Text is checked before anything else reads it: a name is looked up in the database, which
    refuses NUL, and every message quoting a value would carry its control characters."""
    try:
        check_text(
            value,
            max_length=DESCRIPTION_MAX_LENGTH if name == "eligibility" else NAME_MAX_LENGTH,
            multiline=name == "eligibility",
        )
    except ValidationError as refused:
        for message in refused.messages:
            record.add(name, message)
        return False
    return True


def _read_name(value: object, *, name: str, record: Record) -> str | None:
    if not isinstance(value, str) or not value.strip():
        record.add(name, "Must be a name.")
        return None
    return value


def _read_type(value: object, *, kind: type, message: str, name: str, record: Record) -> object:
    if not isinstance(value, kind):
        record.add(name, message)
        return DEFAULTS[name]
    return value


def _field_maximum(name: str) -> int:
    internal_type = ServiceSpecification._meta.get_field(name).get_internal_type()
    return connection.ops.integer_field_range(internal_type)[1]


def _read_version(value: object, *, record: Record) -> int | None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        record.add("version", "Must be a whole number of 1 or more.")
        return None
    if value > _field_maximum("version"):
        record.add("version", f"Must be at most {_field_maximum('version')}.")
        return None
    return value


def _read_whole_number(value: object, *, name: str, record: Record) -> object:
    # Not a whole number, or below zero: specification_errors says so as the screens do. Only
    # the column's upper limit is checked here, so that the write cannot fail on it.
    if isinstance(value, int) and not isinstance(value, bool) and value > _field_maximum(name):
        record.add(name, f"Must be at most {_field_maximum(name)}.")
        return None
    return value


def _read_codes(value: object, *, name: str, record: Record) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        record.add(name, 'Must be a list of codes, such as ["home_help", "shopping"].')
        return []
    for index, code in enumerate(value):
        try:
            check_text(code, max_length=CODE_MAX_LENGTH)
        except ValidationError as refused:
            for message in refused.messages:
                record.add(name, f"Code {index + 1}: {message}")
            return []
    return value


def _read_pounds(value: object, *, record: Record) -> Decimal | None:
    message = 'Must be an amount in pounds, such as "85000.00".'
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        record.add("funding_gbp", message)
        return None
    try:
        # str() first, so a float from a Python caller becomes the number it was written as.
        amount: Decimal | None = Decimal(str(value).strip())
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        record.add("funding_gbp", message)
        return None
    column = ServiceSpecification._meta.get_field("funding_gbp")
    limit = Decimal(10) ** (column.max_digits - column.decimal_places)
    # Before rounding to pence: quantize raises InvalidOperation on an amount like 1e999999.
    if abs(amount) >= limit:
        record.add("funding_gbp", f"Must be less than £{limit:,}.")
        return None
    if amount != amount.quantize(PENCE):
        record.add("funding_gbp", "Must be in pounds and pence, with at most 2 decimal places.")
        return None
    # Below zero is left to specification_errors, for the screens' message.
    return amount.quantize(PENCE)


def _read_date(value: object, *, name: str, record: Record) -> date | None:
    # fromisoformat alone would also take 20260401 and week dates; the format promises one form.
    if isinstance(value, str) and ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    record.add(name, f"Must be a date written YYYY-MM-DD, not {value!r}.")
    return None
