"""Patients' health and social care costs from the system's finance team (`manage.py
import_costs`), all or nothing, as the referral import is.

docs/cost-import.md describes the file and the decisions behind each rule; keep the two in step.
Every row is checked against one lookup of the patients the file names, then every row is written
by one INSERT … ON CONFLICT, in one transaction, so a file with one bad row changes nothing.

No message carries an NHS number or a name: a row's number says which patient is meant.
"""

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

import pghistory
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import DecimalField, Exists, OuterRef
from django.utils import timezone

from commissioning.models import System
from core.csv_import import CsvImportError, RowErrors, csv_records
from core.nhs import check_digit
from core.plausible import check_text, quoted, shown
from referrals.models import Episode, Patient, PatientCost

if TYPE_CHECKING:
    # Only typeshed names the reader's class; at run time it is _csv.reader.
    from _csv import Reader

COLUMNS = ("nhs_number", "cost_12m_before", "cost_12m_after")
AMOUNT_COLUMNS = ("cost_12m_before", "cost_12m_after")
# The most characters a cell may hold after its spaces are stripped: an NHS number in groups is
# 12, and 99999999.99 is 11; well past either, so that a message quoting a value stays short.
MAX_CELL_LENGTH = 20
# A system's patients with an episode are thousands, not hundreds of thousands: a file past
# these is the wrong file (a database dump, a million blank cells), refused before it is read.
MAX_FILE_BYTES = 20_000_000
MAX_ROWS = 200_000

# 10 digits, in groups of 3, 3 and 4 as staff write them ("999 000 0018", "999-000-0018").
NHS_NUMBER = re.compile(r"(\d{3})[ -]?(\d{3})[ -]?(\d{4})", re.ASCII)
# Pounds, with pence if any: no currency sign, thousands separator or exponent, so that "NaN",
# "Infinity" and "1e400" are refused with every other text that is not an amount.
AMOUNT = re.compile(r"(-?)\d+(?:\.(\d+))?", re.ASCII)
_column = PatientCost._meta.get_field("cost_12m_before")
assert isinstance(_column, DecimalField) and _column.max_digits and _column.decimal_places
# The column's own limit: 10 digits, 2 of them pence.
AMOUNT_LIMIT = Decimal(10) ** (_column.max_digits - _column.decimal_places)
AMOUNT_EXAMPLE = "3467.00"


class CostImportError(CsvImportError):
    """A cost file, or rows in it, that cannot be imported; nothing was changed."""


@dataclass(frozen=True)
class CostImportResult:
    rows: int
    added: int
    replaced: int
    unchanged: int


@dataclass(frozen=True, slots=True)
class CostRow:
    """A row as read: None where a cell could not be read."""

    line: int
    nhs_number: str | None
    cost_12m_before: Decimal | None
    cost_12m_after: Decimal | None


def cost_import_system(*, name: str | None) -> System:
    """The system the costs belong to: the one named, or the only one there is."""
    if name:
        found = System.objects.filter(name__iexact=name.strip()).first()
        if found is None:
            known = ", ".join(System.objects.order_by("name").values_list("name", flat=True))
            raise CostImportError(
                [f"--system {quoted(name)}: No system called that. Systems: {known or 'none'}."]
            )
        return found
    systems = list(System.objects.order_by("pk")[:2])
    if not systems:
        raise CostImportError(["--system: There is no system yet."])
    if len(systems) > 1:
        raise CostImportError(["--system: There are several systems; name one with --system."])
    return systems[0]


def costs_import(*, lines: Iterable[str], system: System) -> CostImportResult:
    """Add or replace the system's cost of every patient in a CSV file, or change nothing and
    raise CostImportError listing every problem as `row N, column C: message`."""
    reader = csv.reader(lines)
    positions = _header_positions(next(reader, None))
    errors = RowErrors(positions, error=CostImportError)
    rows = list(_read_rows(reader, positions=positions, errors=errors))
    _check_duplicates(rows, errors=errors)
    patient_ids = _check_patients(rows, errors=errors, system=system)
    errors.raise_if_any()
    with pghistory.context(command="import_costs", system=system.pk), transaction.atomic():
        return _write(rows, patient_ids=patient_ids, system=system)


def _header_positions(header: list[str] | None) -> dict[str, int]:
    if not header:
        raise CostImportError(["row 1, column -: The file is empty; it needs a header row."])
    # A byte order mark is taken off by the command; this is for callers that pass text.
    names = [name.strip().lstrip("\ufeff").lower() for name in header]
    problems = []
    missing = [name for name in COLUMNS if name not in names]
    if missing:
        problems.append(f"row 1, column {', '.join(missing)}: Missing from the header.")
    for name in sorted(set(names)):
        if names.count(name) > 1:
            problems.append(
                f"row 1, column {shown(name) if name else '(blank)'}: In the header more than once."
            )
        elif name not in COLUMNS:
            # Refused rather than ignored: a column the finance team meant to be read is not lost.
            problems.append(
                f"row 1, column {shown(name) if name else '(blank)'}: Not a column of this import; "
                f"the columns are {', '.join(COLUMNS)}."
            )
    if problems:
        raise CostImportError(problems)
    return {name: position for position, name in enumerate(names)}


def _read_rows(
    reader: "Reader", *, positions: dict[str, int], errors: RowErrors
) -> Iterator[CostRow]:
    """Every row after the header that is not blank; one that cannot be read is reported."""
    for line, cells in csv_records(reader, positions=positions, errors=errors, max_rows=MAX_ROWS):
        values = {name: cells[position].strip() for name, position in positions.items()}
        yield _read_row(values, line=line, errors=errors)


def _read_row(values: dict[str, str], *, line: int, errors: RowErrors) -> CostRow:
    for column in COLUMNS:
        value = values[column]
        try:
            check_text(value, max_length=MAX_CELL_LENGTH)
        except ValidationError as refused:
            # Said once, then read as blank: the text goes no further, not even into a query.
            errors.refuse(line, column, refused.messages)
            values[column] = ""
        else:
            if not value:
                errors.add(line, column, "Required.")
    number = None
    if values["nhs_number"]:
        number = _nhs_number(values["nhs_number"])
        if number is None:
            # Not quoted: a mistyped NHS number is still most of someone's NHS number.
            errors.add(
                line,
                "nhs_number",
                "Not a valid NHS number (10 digits passing the modulus 11 check).",
            )
    before, after = (
        _amount(values[column], column=column, line=line, errors=errors)
        for column in AMOUNT_COLUMNS
    )
    return CostRow(line=line, nhs_number=number, cost_12m_before=before, cost_12m_after=after)


def _nhs_number(text: str) -> str | None:
    match = NHS_NUMBER.fullmatch(text)
    if match is None:
        return None
    number = "".join(match.groups())
    return number if check_digit(number[:9]) == int(number[9]) else None


def _amount(text: str, *, column: str, line: int, errors: RowErrors) -> Decimal | None:
    if not text:
        return None
    match = AMOUNT.fullmatch(text)
    if match is None:
        errors.add(
            line,
            column,
            f"Not an amount in pounds such as {AMOUNT_EXAMPLE}: {quoted(text)}; write digits "
            "only, with no £ sign or commas.",
        )
        return None
    sign, pence = match.groups()
    amount = Decimal(match.group())
    if sign and amount:
        errors.add(line, column, "Cannot be below zero.")
    elif pence is not None and len(pence) > 2:
        errors.add(
            line,
            column,
            f"More than 2 decimal places; write pounds and pence, such as {AMOUNT_EXAMPLE}.",
        )
    elif amount >= AMOUNT_LIMIT:
        errors.add(line, column, f"Must be less than £{AMOUNT_LIMIT:,}.")
    else:
        return abs(amount)
    return None


def _check_duplicates(rows: list[CostRow], *, errors: RowErrors) -> None:
    first_with_number: dict[str, int] = {}
    for row in rows:
        if row.nhs_number is None:
            continue
        first = first_with_number.setdefault(row.nhs_number, row.line)
        if first != row.line:
            # Two costs for one patient: one of them is for someone else, and we cannot tell which.
            errors.add(row.line, "nhs_number", f"Also on row {first}; one row per patient.")


def _check_patients(rows: list[CostRow], *, errors: RowErrors, system: System) -> dict[str, int]:
    """NHS number -> id of each patient the file names who has an episode in the system."""
    numbers = list({row.nhs_number for row in rows if row.nhs_number})
    in_system = Episode.objects.filter(
        referral__patient=OuterRef("pk"), referral__organisation__system=system
    )
    found = {
        number: (pk, has_episode)
        for number, pk, has_episode in Patient.objects.filter(nhs_number__in=numbers)
        .annotate(has_episode=Exists(in_system))
        .values_list("nhs_number", "pk", "has_episode")
    }
    patient_ids = {}
    for row in rows:
        if row.nhs_number is None:
            continue
        pk, has_episode = found.get(row.nhs_number, (None, False))
        if pk is None:
            errors.add(row.line, "nhs_number", "VSO Care holds no patient with this NHS number.")
        elif not has_episode:
            # Costs are kept only to set beside outcomes: a patient with no episode here is
            # another system's, or the number is mistyped, and neither is this system's to hold.
            errors.add(
                row.line,
                "nhs_number",
                f"This patient has no episode of wellbeing co-ordination in {system.name}.",
            )
        else:
            patient_ids[row.nhs_number] = pk
    return patient_ids


def _write(rows: list[CostRow], *, patient_ids: dict[str, int], system: System) -> CostImportResult:
    """One statement for the whole file. A row that matches the one held is left alone, so a
    second import of the same file records no history."""
    table = PatientCost._meta.db_table
    patients, before, after = [], [], []
    for row in rows:
        # Checked rows: one missing any of these was refused before anything is written.
        assert row.nhs_number is not None
        patients.append(patient_ids[row.nhs_number])
        before.append(row.cost_12m_before)
        after.append(row.cost_12m_after)
    with connection.cursor() as cursor:
        # As referrals/importing/writing.py explains: without this the history triggers make
        # PostgreSQL walk the statement's queue of trigger events once per row.
        cursor.execute(
            "SELECT set_config('pgtrigger.ignore', '{}', true) "
            "WHERE coalesce(current_setting('pgtrigger.ignore', true), '') = ''"
        )
        cursor.execute(
            f"WITH written AS (INSERT INTO {table} AS held (system_id, patient_id, "
            "cost_12m_before, cost_12m_after, created_at, updated_at) "
            "SELECT %(system)s, t.patient_id, t.before, t.after, %(now)s, %(now)s "
            "FROM unnest(%(patients)s::bigint[], %(before)s::numeric[], %(after)s::numeric[]) "
            # In patient order, so that two imports at once take the rows' locks in one order.
            "AS t (patient_id, before, after) ORDER BY t.patient_id "
            "ON CONFLICT (system_id, patient_id) DO UPDATE SET "
            "cost_12m_before = EXCLUDED.cost_12m_before, cost_12m_after = EXCLUDED.cost_12m_after, "
            # Nobody is signed in to an import: the last editor's name would be wrong here.
            "updated_at = EXCLUDED.updated_at, updated_by_id = NULL "
            "WHERE (held.cost_12m_before, held.cost_12m_after) "
            "IS DISTINCT FROM (EXCLUDED.cost_12m_before, EXCLUDED.cost_12m_after) "
            # xmax is 0 on a row this statement inserted, and set on one it updated.
            "RETURNING xmax = 0 AS added) "
            "SELECT count(*) FILTER (WHERE added), count(*) FILTER (WHERE NOT added) FROM written",
            {
                "system": system.pk,
                "now": timezone.now(),
                "patients": patients,
                "before": before,
                "after": after,
            },
        )
        added, replaced = cursor.fetchone() or (0, 0)
    return CostImportResult(
        rows=len(rows), added=added, replaced=replaced, unchanged=len(rows) - added - replaced
    )
