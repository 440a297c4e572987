"""Reading one HSDS field of an imported record into a model value.

A reader never raises for bad data: it notes the problem and returns a harmless value, so one pass
over a file reports everything wrong with it.
"""

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model, TextField

from commissioning.hsds.vocabulary import (
    CHARITY_SCHEME,
    NEEDS_TAXONOMY_ID,
    NEEDS_VOCABULARY,
    need_term_id,
)
from commissioning.models import Need, Place, Service, System
from core.plausible import DESCRIPTION_MAX_LENGTH, check_text, quoted, shown

# A JSON object as json.loads gives it: nothing in it is known to be of any type until it is read.
JsonObject = dict[str, Any]
# Model field name -> the value the record gives it. A field the record leaves out is absent, so
# the import keeps its current value; a null the record gives is here, as a blank, and clears it.
FieldValues = dict[str, object]
# A service's and an organisation's phone hold the same.
PHONE_MAX_LENGTH = Service._meta.get_field("phone").max_length or 30
CHARITY_NUMBER_MAX_LENGTH = 20


@dataclass(frozen=True)
class Problem:
    record_number: int
    line: str


# eq=False: two records described in the same words are still two records.
@dataclass(eq=False)
class Problems:
    """Collects "record N (id …, name …): field: message" lines for one record."""

    number: int
    prefix: str
    sink: list[Problem]
    # Fields refused for their text: what follows from leaving them out ("is required") is
    # not said as well.
    refused: set[str] = field(default_factory=set)

    @classmethod
    def for_record(cls, number: int, record: object, *, sink: list[Problem]) -> "Problems":
        described = record if isinstance(record, dict) else {}
        prefix = (
            f"record {number} (id {_label(described.get('id'))}, "
            f"name {_label(described.get('name'))})"
        )
        return cls(number=number, prefix=prefix, sink=sink)

    def add(self, field_name: str, message: str) -> None:
        if field_name not in self.refused:
            self.sink.append(Problem(self.number, f"{self.prefix}: {field_name}: {message}"))

    def refuse(self, field_name: str, error: ValidationError) -> None:
        for message in error.messages:
            self.add(field_name, message)
        self.refused.add(field_name)


def _label(value: object) -> str:
    return "missing" if value is None or value == "" else shown(value)


@dataclass(frozen=True)
class Lookups:
    """What the readers check codes and names against, loaded once for the whole file."""

    need_codes: set[str]
    need_codes_by_term_id: dict[str, str]
    places_by_name: dict[str, Place]

    @classmethod
    def for_system(cls, system: System) -> "Lookups":
        codes = set(Need.objects.values_list("code", flat=True))
        return cls(
            need_codes=codes,
            need_codes_by_term_id={str(need_term_id(code)): code for code in codes},
            places_by_name={place.name.casefold(): place for place in system.places.all()},
        )


def read_uuid(value: object, *, name: str, problems: Problems) -> uuid.UUID | None:
    if value in (None, ""):
        problems.add(name, "is required")
        return None
    try:
        if isinstance(value, str):
            return uuid.UUID(value)
    except ValueError:
        pass
    problems.add(name, f"{quoted(value)} is not a UUID")
    return None


def read_text(
    source: JsonObject,
    names: Mapping[str, str],
    *,
    model: type[Model],
    prefix: str,
    problems: Problems,
) -> FieldValues:
    """The text fields the source gives, as model fields. null clears a field; absent keeps it.

    A value with a control character, or longer than its column holds, is reported and left
    out, so that check_fields does not report its length a second time."""
    fields: FieldValues = {}
    for hsds_key, model_field in names.items():
        if hsds_key not in source:
            continue
        value = "" if source[hsds_key] is None else source[hsds_key]
        if not isinstance(value, str):
            problems.add(prefix + hsds_key, "must be text")
            continue
        column = model._meta.get_field(model_field)
        try:
            fields[model_field] = check_text(
                value.strip(),
                max_length=getattr(column, "max_length", None) or DESCRIPTION_MAX_LENGTH,
                multiline=isinstance(column, TextField),
            )
        except ValidationError as refused:
            problems.refuse(prefix + hsds_key, refused)
    return fields


def read_age(value: object, *, name: str, problems: Problems) -> int | None:
    if value is None:
        return None
    # bool is an int in Python, and true is not an age; int() of NaN or infinity raises.
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value != int(value)
    ):
        problems.add(name, f"must be a whole number of years, not {quoted(value)}")
        return None
    return int(value)


def read_date(value: object, *, name: str, problems: Problems) -> date | None:
    if value in (None, ""):
        return None
    try:
        if isinstance(value, str):
            return date.fromisoformat(value)
    except ValueError:
        pass
    problems.add(name, f"{quoted(value)} is not a date (YYYY-MM-DD)")
    return None


def read_phone(value: object, *, name: str, problems: Problems) -> str:
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
    return _checked(
        number.strip().strip('"').strip(),
        max_length=PHONE_MAX_LENGTH,
        name=f"{name}[0].number",
        problems=problems,
    )


def read_charity_number(value: object, *, name: str, problems: Problems) -> str:
    if not isinstance(value, list):
        return ""
    for index, identifier in enumerate(value):
        if isinstance(identifier, dict) and identifier.get("identifier_scheme") == CHARITY_SCHEME:
            number = identifier.get("identifier")
            if number is None:
                return ""
            # Some files give the number as a JSON number; any other type is a mistake.
            if isinstance(number, bool) or not isinstance(number, str | int):
                problems.add(f"{name}[{index}].identifier", "must be text")
                return ""
            return _checked(
                str(number).strip(),
                max_length=CHARITY_NUMBER_MAX_LENGTH,
                name=f"{name}[{index}].identifier",
                problems=problems,
            )
    return ""


def _checked(value: str, *, max_length: int, name: str, problems: Problems) -> str:
    """value, or blank after reporting what check_text refuses in it."""
    try:
        return check_text(value, max_length=max_length)
    except ValidationError as refused:
        problems.refuse(name, refused)
        return ""


def read_needs(value: object, *, problems: Problems, lookups: Lookups) -> list[str]:
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


def _need_code(
    attribute: JsonObject, *, name: str, problems: Problems, lookups: Lookups
) -> str | None:
    """Our need code for an attribute, or None for another vocabulary's term, which we ignore."""
    term = attribute.get("taxonomy_term")
    if not isinstance(term, dict):
        # A bare reference can only be ours if it is one of the ids we publish.
        return lookups.need_codes_by_term_id.get(str(attribute.get("taxonomy_term_id")))
    if not _is_our_term(term):
        return lookups.need_codes_by_term_id.get(str(term.get("id")))
    code = term.get("code")
    # isinstance first: a list or an object cannot even be looked for in a set.
    if not isinstance(code, str) or code not in lookups.need_codes:
        problems.add(
            f"{name}.taxonomy_term.code",
            f"{quoted(code)} is not a need code in VSO Care"
            if code
            else f"is required for a {NEEDS_VOCABULARY} term",
        )
        return None
    return code


def _is_our_term(term: JsonObject) -> bool:
    # A term may name its vocabulary by name or by id, on itself or in its taxonomy_detail; files
    # seldom give all four, so any one is enough.
    detail = term.get("taxonomy_detail")
    if not isinstance(detail, dict):
        detail = {}
    return (
        term.get("taxonomy") == NEEDS_VOCABULARY
        or str(term.get("taxonomy_id")) == str(NEEDS_TAXONOMY_ID)
        or detail.get("name") == NEEDS_VOCABULARY
        or str(detail.get("id")) == str(NEEDS_TAXONOMY_ID)
    )


def read_places(value: object, *, problems: Problems, lookups: Lookups) -> list[Place]:
    # An area that is not one of our places (a postcode district, a whole county, the system
    # itself) narrows nothing we can record, so it is left out; no places means the whole system.
    if not isinstance(value, list):
        problems.add("service_areas", "must be a list")
        return []
    places: list[Place] = []
    for index, area in enumerate(value):
        area_name = area.get("name") if isinstance(area, dict) else None
        if area_name is not None and not isinstance(area_name, str):
            problems.add(f"service_areas[{index}].name", "must be text")
            continue
        place = lookups.places_by_name.get(area_name.strip().casefold()) if area_name else None
        if place is not None and place not in places:
            places.append(place)
    return places


def check_fields(
    instance: Model, fields: FieldValues, *, names: Mapping[str, str], problems: Problems
) -> None:
    """The model's own rules (lengths, URL, email, ranges) on just the fields the record gives.

    names maps each model field back to the HSDS field a problem is reported against.
    """
    for model_field, value in fields.items():
        setattr(instance, model_field, value)
    exclude = {f.name for f in instance._meta.fields} - set(fields)
    try:
        instance.clean_fields(exclude=exclude)
    except ValidationError as error:
        for model_field, messages in error.message_dict.items():
            problems.add(names[model_field], " ".join(messages))
