"""Reading the file: the header's columns, then each row on its own into a Row, with every
problem in its cells reported against its line and column.

Rows are checked against lookups loaded once, in a handful of queries whatever the file's size;
checks.py then looks across rows and at what the database already holds.
"""

import codecs
import io
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import date, datetime
from operator import gt, itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nhs_number
from django.core.exceptions import ValidationError
from django.utils import timezone

from commissioning.models import Need, Organisation, Sector, Service
from core.csv_import import CsvFileError, RowErrors, csv_records
from core.plausible import (
    IN_THE_FUTURE,
    check_birth_date,
    check_referral_date,
    check_text,
    is_plain_text,
    shown,
)
from referrals.importing.columns import (
    BASES,
    CODED_COLUMNS,
    COLUMNS,
    ISO_DATE,
    ISO_DATE_TIME,
    MAX_ROWS,
    MULTILINE_COLUMNS,
    POSTCODE,
    REQUIRED_COLUMNS,
    SECTORS,
    STATUSES,
    TEXT_LIMITS,
    UK,
    ReferralImportError,
    Row,
)
from referrals.models import BASES_WITHOUT_CONSENT, LawfulBasis, ReferralStatus

if TYPE_CHECKING:
    # Only typeshed names these; at run time the reader is _csv.reader.
    from _csv import Reader

NEEDS_A_BASIS = (
    "Required for a voluntary referral: consent (with consent_given_on and consent_method), "
    "or safeguarding, vital_interests or best_interests with a lawful_basis_reason."
)

# Reports a problem with one of the row's cells: (column, message).
ReportError = Callable[[str, str], None]


@dataclass(frozen=True, slots=True)
class KnownOrganisation:
    pk: int
    name: str
    sector: str
    place_id: int | None


@dataclass(frozen=True)
class Lookups:
    # Keyed by the lower-case name.
    organisations: dict[str, KnownOrganisation]
    # (organisation id, lower-case name) -> service id
    services: dict[tuple[int, str], int]
    need_codes: frozenset[str]


@dataclass(slots=True)
class Cells:
    """A row's cells by column, stripped; an optional column the header leaves out is blank."""

    external_id: str
    nhs_number: str
    given_name: str
    family_name: str
    date_of_birth: str
    postcode: str
    referred_at: str
    source: str
    destination_sector: str
    organisation: str
    service: str
    urgency: str
    needs: str
    activities: str
    status: str
    closed_at: str = ""
    decline_reason: str = ""
    lawful_basis: str = ""
    lawful_basis_reason: str = ""
    consent_given_on: str = ""
    consent_method: str = ""


# read_rows fills Cells by position, in the order of COLUMNS.
assert tuple(field.name for field in fields(Cells)) == COLUMNS
LIMITS = tuple(TEXT_LIMITS[column] for column in COLUMNS)


@contextmanager
def open_csv_file(path: Path, *, max_bytes: int) -> Iterator[Iterator[str]]:
    """The file's lines, read as they are asked for, so that the file is never held whole.

    As core.csv_import.csv_file_text reads the other imports' files: utf-8-sig, because
    spreadsheet programs often start a CSV file with a byte order mark, and line ends of any kind
    become "\\n". CsvFileError when the file cannot be opened, holds more than `max_bytes`
    (refused before it is read when it says its size; a pipe is stopped at the byte past the
    limit), or is not UTF-8 (found where it stops being so)."""
    try:
        binary = path.open("rb")
    except OSError as error:
        raise CsvFileError(f"Cannot read {path}: {error.strerror}.") from error
    with binary:
        too_large = CsvFileError(
            f"Nothing was imported from {path}: The file is larger than {max_bytes:,} bytes, "
            "the most one import takes; split it into smaller files."
        )
        status = os.fstat(binary.fileno())
        if stat.S_ISREG(status.st_mode) and status.st_size > max_bytes:
            raise too_large
        text = io.TextIOWrapper(
            io.BufferedReader(_Limited(binary, max_bytes=max_bytes, too_large=too_large)),
            encoding="utf-8-sig",
        )
        yield _decoded(text, path)


class _Limited(io.RawIOBase):
    """A file that raises `too_large` once more than `max_bytes` have been read from it."""

    def __init__(self, file: io.BufferedReader, *, max_bytes: int, too_large: Exception) -> None:
        self._file, self._left, self._too_large = file, max_bytes, too_large

    def readable(self) -> bool:
        return True

    # Any writable buffer; typeshed's name for that type (_typeshed) exists only for mypy, and
    # the requirements test reads even TYPE_CHECKING imports.
    def readinto(self, buffer: Any) -> int:
        count = self._file.readinto(buffer)
        self._left -= count
        if self._left < 0:
            raise self._too_large
        return count


def _decoded(text: io.TextIOWrapper, path: Path) -> Iterator[str]:
    try:
        yield from text
    except UnicodeDecodeError as error:
        line = _first_undecodable_line(path)
        where = f" (line {line:,})" if line else ""
        raise CsvFileError(f"{path} is not a UTF-8 file{where}: {error.reason}.") from error


def _first_undecodable_line(path: Path) -> int | None:
    """The line of the first byte that is not UTF-8, found again from the start, since the
    decoder reads ahead of the lines; None for a file that cannot be read twice (a pipe)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    try:
        with path.open("rb") as file:
            while chunk := file.read(1 << 16):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as error:
                    # The decoder puts at most three bytes of an unfinished character, never a
                    # line end, before the chunk.
                    before = chunk[: max(error.start - (len(error.object) - len(chunk)), 0)]
                    return line + _line_ends(before)
                line += _line_ends(chunk)
    except OSError:
        return None
    return None


def _line_ends(data: bytes) -> int:
    # Counted as the universal newlines the file is read with: \r\n, \r and \n.
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def header_positions(header: list[str] | None) -> dict[str, int]:
    """Column name -> its place in the header, or ReferralImportError listing what is wrong."""
    if not header:
        raise ReferralImportError(["row 1, column -: The file is empty; it needs a header row."])
    # A byte order mark is taken off by the command; this is for callers that pass text.
    names = [name.strip().lstrip("\ufeff").lower() for name in header]
    problems = []
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        problems.append(f"row 1, column {', '.join(missing)}: Missing from the header.")
    for name in sorted(set(names)):
        if names.count(name) > 1:
            problems.append(f"row 1, column {name}: In the header more than once.")
        elif name not in COLUMNS:
            # Refused rather than ignored, so that a misspelt optional column ("closed_on") is not
            # silently dropped from every row.
            problems.append(f"row 1, column {_shown(name)}: Not a column of this import.")
    if problems:
        raise ReferralImportError(problems)
    return {name: position for position, name in enumerate(names)}


def _shown(name: str) -> str:
    return shown(name) if name else "(blank)"


def load_lookups(*, system_id: int) -> Lookups:
    # Names are matched ignoring case, as the database's unique constraints compare them.
    organisations = {
        name.lower(): KnownOrganisation(pk=pk, name=name, sector=sector, place_id=place_id)
        for pk, name, sector, place_id in Organisation.objects.filter(
            system_id=system_id
        ).values_list("pk", "name", "sector", "place_id")
    }
    services = {
        (organisation_id, name.lower()): pk
        for pk, organisation_id, name in Service.objects.filter(
            organisation__system_id=system_id
        ).values_list("pk", "organisation_id", "name")
    }
    need_codes = frozenset(Need.objects.values_list("code", flat=True))
    return Lookups(organisations=organisations, services=services, need_codes=need_codes)


def read_rows(
    reader: "Reader", *, positions: dict[str, int], lookups: Lookups, errors: RowErrors
) -> Iterator[Row]:
    """Every row after the header that is not blank, as it is read, so that the file is never
    held whole; a row that cannot be read is reported and left out."""
    # Cells are filled by position, not by name: keyword arguments spelt by the header's text
    # are matched by comparing strings, slow enough to notice over 100,000 rows.
    pick = itemgetter(*(positions.get(name, len(positions)) for name in COLUMNS))
    now = timezone.now()
    today = now.astimezone(UK).date()
    for line, cells in csv_records(reader, positions=positions, errors=errors, max_rows=MAX_ROWS):
        # The blank is what an optional column the header leaves out reads.
        cells.append("")
        values = list(map(str.strip, pick(cells)))
        # One search of the whole row and one length test a cell in C, so that the usual row,
        # with nothing to refuse, does not pay for checking every cell on its own: that made
        # reading 100,000 rows take twice as long.
        if not is_plain_text("".join(values)) or any(map(gt, map(len, values), LIMITS)):
            _check_text(values, line=line, errors=errors)
        yield read_row(
            Cells(*values), line=line, lookups=lookups, errors=errors, now=now, today=today
        )


def read_row(
    cells: Cells,
    *,
    line: int,
    lookups: Lookups,
    errors: RowErrors,
    now: datetime,
    today: date,
) -> Row:
    # One function rather than a helper a column: it runs for every row, and the extra calls
    # made reading a 20,000-row file measurably slower.
    def error(column: str, message: str) -> None:
        errors.add(line, column, message)

    for column in REQUIRED_COLUMNS:
        # These two must be in the header but may be blank; a voluntary referral's service is
        # required below, where the sector is known.
        if not getattr(cells, column) and column not in ("service", "activities"):
            error(column, "Required.")

    number = _nhs_number(cells.nhs_number)
    if cells.nhs_number and number is None:
        error("nhs_number", "Not a valid NHS number (10 digits passing the modulus 11 check).")

    date_of_birth = _date(cells.date_of_birth, "date_of_birth", error)
    if date_of_birth and (problem := _implausible(check_birth_date, date_of_birth, today=today)):
        error("date_of_birth", problem)
        date_of_birth = None  # said once; not again as "referred_at is before birth"

    postcode = cells.postcode.upper().replace(" ", "")
    match = POSTCODE.fullmatch(postcode)
    if match:
        postcode = f"{match[1]} {match[2]}"
    elif postcode:
        error("postcode", f"Not a UK postcode: {cells.postcode!r}.")

    referred_at = _date_time(cells.referred_at, "referred_at", error)
    # The day the referral was made, when it is one: what the consent is checked against.
    referral_day = None
    if referred_at and (problem := _implausible_moment(referred_at, now=now, today=today)):
        error("referred_at", problem)
        referred_at = None  # said once; not again against closed_at
    elif referred_at and date_of_birth and _uk_day(referred_at) < date_of_birth:
        error("referred_at", "Before the patient's date of birth.")
    elif referred_at:
        referral_day = _uk_day(referred_at)

    for column, known in CODED_COLUMNS:
        value = getattr(cells, column)
        if value and value not in known:
            error(column, f"Unknown code {value!r}; use one of {', '.join(sorted(known))}.")

    sector = cells.destination_sector
    organisation = lookups.organisations.get(cells.organisation.lower())
    organisation_id = place_id = service_id = None
    if organisation:
        organisation_id, name, place_id = organisation.pk, organisation.name, organisation.place_id
        if sector in SECTORS and organisation.sector != sector:
            error("organisation", f"{name} is in the {organisation.sector} sector, not {sector}.")
        if cells.service:
            service_id = lookups.services.get((organisation_id, cells.service.lower()))
            if service_id is None:
                error("service", f"{name} has no service called {cells.service!r}.")
    elif cells.organisation:
        error("organisation", f"No organisation called {cells.organisation!r}.")
    if sector == Sector.VOLUNTARY and not cells.service:
        error("service", "Required for a voluntary referral: the service from the directory.")

    needs = _codes(cells.needs, "needs", lookups.need_codes, error)
    activities = _codes(cells.activities, "activities", lookups.need_codes, error)

    status = cells.status
    closed_at = _date_time(cells.closed_at, "closed_at", error)
    if status == ReferralStatus.CLOSED and not cells.closed_at:
        error("closed_at", "Required for a closed referral.")
    elif closed_at and status in STATUSES and status != ReferralStatus.CLOSED:
        error("closed_at", f"Only a closed referral has one; this one is {status}.")
    elif closed_at and (problem := _implausible_moment(closed_at, now=now, today=today)):
        error("closed_at", problem)
    elif closed_at and referred_at and closed_at < referred_at:
        error("closed_at", "Before referred_at.")

    decline_reason = cells.decline_reason or None
    if decline_reason and status in STATUSES and status != ReferralStatus.DECLINED:
        error("decline_reason", f"Only a declined referral has one; this one is {status}.")

    basis = cells.lawful_basis
    # Nothing follows from a basis that could not be read: what is wrong with it is said once.
    basis_read = basis in BASES if basis else (line, "lawful_basis") not in errors.refused
    consent_given_on = _date(cells.consent_given_on, "consent_given_on", error)
    if sector == Sector.VOLUNTARY and not basis:
        error("lawful_basis", NEEDS_A_BASIS)
    if basis == LawfulBasis.CONSENT:
        if not cells.consent_given_on:
            error("consent_given_on", "Required when the lawful basis is consent.")
        elif consent_given_on and (
            problem := _implausible(check_referral_date, consent_given_on, today=today)
        ):
            error("consent_given_on", problem)
        elif consent_given_on and referral_day and consent_given_on > referral_day:
            error("consent_given_on", "After referred_at: consent comes before the referral.")
        if not cells.consent_method:
            error("consent_method", "Required when the lawful basis is consent.")
    elif basis_read and (cells.consent_given_on or cells.consent_method):
        column = "consent_given_on" if cells.consent_given_on else "consent_method"
        error(column, "Only for a referral whose lawful basis is consent.")
    if basis in BASES_WITHOUT_CONSENT and not cells.lawful_basis_reason:
        error("lawful_basis_reason", "Required: why the details are shared without consent.")
    elif basis_read and cells.lawful_basis_reason and basis not in BASES_WITHOUT_CONSENT:
        error("lawful_basis_reason", "Only for a referral shared without consent.")

    return Row(
        line=line,
        external_id=cells.external_id,
        nhs_number=number,
        given_name=cells.given_name,
        family_name=cells.family_name,
        date_of_birth=date_of_birth,
        postcode=postcode,
        referred_at=referred_at,
        source=cells.source,
        destination_sector=sector,
        organisation_id=organisation_id,
        place_id=place_id,
        service_id=service_id,
        needs=needs,
        activities=activities,
        urgency=cells.urgency,
        status=status,
        closed_at=closed_at,
        decline_reason=decline_reason,
        lawful_basis=basis,
        lawful_basis_reason=cells.lawful_basis_reason,
        consent_given_on=consent_given_on,
        consent_method=cells.consent_method,
    )


def _check_text(values: list[str], *, line: int, errors: RowErrors) -> None:
    """Each cell's text, by check_text; a refused cell is said once, then read on as blank, so
    that its text goes no further, not even into a query."""
    for position, (column, value) in enumerate(zip(COLUMNS, values, strict=True)):
        if not value:
            continue
        try:
            check_text(value, max_length=TEXT_LIMITS[column], multiline=column in MULTILINE_COLUMNS)
        except ValidationError as refused:
            errors.refuse(line, column, refused.messages)
            values[position] = ""


def _uk_day(moment: datetime) -> date:
    try:
        return moment.astimezone(UK).date()
    except OverflowError:
        # Only a moment in year 1 or 9999 has no UK day; the day written is as implausible.
        return moment.date()


def _implausible(check: Callable[..., date], value: date, *, today: date) -> str | None:
    """What core.plausible's check says is wrong with the date, if anything."""
    try:
        check(value, today=today)
    except ValidationError as implausible:
        return implausible.messages[0]
    return None


def _implausible_moment(moment: datetime, *, now: datetime, today: date) -> str | None:
    """A referral's moment must fall on a plausible day and not later than now."""
    problem = _implausible(check_referral_date, _uk_day(moment), today=today)
    if problem is None and moment > now:
        return IN_THE_FUTURE
    return problem


def _nhs_number(text: str) -> str | None:
    # The package takes "999 123 4567" and "999-123-4567" as staff write them; isascii() because
    # its \d also matches other scripts' digits, which the database would refuse.
    number = text if len(text) == 10 else nhs_number.standardise_format(text)
    return number if number.isascii() and nhs_number.is_valid(number) else None


def _date(text: str, column: str, error: ReportError) -> date | None:
    if not text:
        return None
    try:
        if ISO_DATE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    error(column, f"Not a date as YYYY-MM-DD: {text!r}.")
    return None


def _date_time(text: str, column: str, error: ReportError) -> datetime | None:
    if not text:
        return None
    try:
        if ISO_DATE_TIME.fullmatch(text):
            value = datetime.fromisoformat(text)
            # A time with no offset is UK clock time, as the people who typed it read it.
            return value.replace(tzinfo=UK) if value.tzinfo is None else value
    except ValueError:
        pass
    error(column, f"Not an ISO 8601 date or date and time: {text!r}.")
    return None


def _codes(text: str, column: str, known: frozenset[str], error: ReportError) -> list[str]:
    codes = list(dict.fromkeys(code.strip() for code in text.split(";") if code.strip()))
    unknown = [code for code in codes if code not in known]
    if unknown:
        error(column, f"Unknown need code: {', '.join(unknown)}.")
    return codes
