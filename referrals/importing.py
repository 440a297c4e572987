"""Historic referrals from a CSV file (`manage.py import_referrals`).

docs/referral-import.md describes the file column by column and the decisions behind each rule;
keep the two in step.

All or nothing: every row is checked in Python against lookups loaded once (a handful of queries
whatever the file's size), and only then is anything written, in one transaction, with COPY into
temporary tables and set-based INSERT ... SELECT / UPDATE ... FROM. One ORM save per row would take
the best part of an hour for 100,000 rows; this takes seconds (bench/RESULTS.md).
"""

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import nhs_number
import pghistory
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Role, User
from commissioning.codes import Urgency
from commissioning.models import Need, Organisation, Sector, Service
from referrals.models import Patient, Referral, ReferralSource, ReferralStatus

REQUIRED_COLUMNS = (
    "external_id",
    "nhs_number",
    "given_name",
    "family_name",
    "date_of_birth",
    "postcode",
    "referred_at",
    "source",
    "destination_sector",
    "organisation",
    "service",
    "urgency",
    "needs",
    "activities",
    "status",
)
OPTIONAL_COLUMNS = ("closed_at", "decline_reason")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

# The database refuses a declined referral without a reason; a historic file rarely has one.
IMPORTED_DECLINE_REASON = "Imported: declined before VSO Care"

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
# Stricter than datetime.fromisoformat, which in Python 3.11 also takes week dates and "20260501".
ISO_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?)?",
    re.ASCII,
)
# The shape of a UK postcode (outward code, inward code), read with the spaces taken out. It does
# not prove the postcode exists; that would need the ONS Postcode Directory.
POSTCODE = re.compile(r"([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})", re.ASCII)
# The file's clock: part of the format, so not the installation's TIME_ZONE, which may change.
UK = ZoneInfo("Europe/London")
TEXT_LIMITS = {"external_id": 100, "given_name": 100, "family_name": 100}

SOURCES = frozenset(ReferralSource.values)
SECTORS = frozenset(Sector.values)
URGENCIES = frozenset(Urgency.values)
STATUSES = frozenset(ReferralStatus.values)


class ReferralImportError(Exception):
    """A file, or rows in it, that cannot be imported; nothing was changed."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class ImportResult:
    rows: int
    patients_created: int
    referrals_created: int
    referrals_updated: int
    referrals_unchanged: int


@dataclass(slots=True)
class _Row:
    """One row as it will be written; None where the cell could not be read."""

    line: int
    external_id: str
    nhs_number: str | None
    given_name: str
    family_name: str
    date_of_birth: date | None
    postcode: str
    referred_at: datetime | None
    source: str
    destination_sector: str
    organisation_id: int | None
    place_id: int | None
    service_id: int | None
    needs: list[str]
    activities: list[str]
    urgency: str
    status: str
    closed_at: datetime | None
    decline_reason: str | None


@dataclass(frozen=True)
class _Lookups:
    # lower name -> (id, name, sector, place id)
    organisations: dict[str, tuple[int, str, str, int | None]]
    # (organisation id, lower name) -> service id
    services: dict[tuple[int, str], int]
    need_codes: frozenset[str]


class _Errors:
    """Errors kept in file order: by line, then by the column's place in the header."""

    def __init__(self, positions: dict[str, int]):
        self.positions = positions
        self.found: list[tuple[int, int, str]] = []

    def add(self, line: int, column: str, message: str) -> None:
        self.found.append(
            (line, self.positions.get(column, 0), f"row {line}, column {column}: {message}")
        )

    def raise_if_any(self) -> None:
        if self.found:
            raise ReferralImportError([text for _, _, text in sorted(self.found)])


def referrer_for_import(*, email: str) -> User:
    """The person an import records as the referrer: an active ICC with a team."""
    user = (
        User.objects.select_related("organisation")
        .filter(email__iexact=email.strip(), is_active=True)
        .first()
    )
    if user is None:
        raise ReferralImportError([f"--referrer {email}: No active user has this email address."])
    if user.role != Role.ICC:
        raise ReferralImportError(
            [f"--referrer {email}: {user.full_name} is a {user.get_role_display()}, not an ICC."]
        )
    if user.organisation is None:
        # Reports count referrals by the referrer's team, so the database requires one.
        raise ReferralImportError(
            [f"--referrer {email}: {user.full_name} belongs to no organisation."]
        )
    return user


def referrals_import(*, lines: Iterable[str], referrer: User) -> ImportResult:
    """Create or update a referral for every row of a CSV file, or change nothing and raise
    ReferralImportError listing every problem as `row N, column C: message`."""
    reader = csv.reader(lines)
    header = next(reader, None)
    positions = _header_positions(header)
    errors = _Errors(positions)
    lookups = _lookups(system_id=referrer.organisation.system_id)
    rows = _read_rows(reader, positions, lookups, errors)
    _check_across_rows(rows, errors)
    existing_patients = _check_existing_patients(rows, errors)
    existing_referrals = _check_existing_referrals(
        rows, errors, system_id=referrer.organisation.system_id
    )
    errors.raise_if_any()
    with pghistory.context(user=referrer.pk, command="import_referrals"), transaction.atomic():
        return _write(rows, existing_patients, existing_referrals, referrer)


# --- Reading and checking --------------------------------------------------------------------


def _header_positions(header: list[str] | None) -> dict[str, int]:
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
            problems.append(f"row 1, column {name or '(blank)'}: Not a column of this import.")
    if problems:
        raise ReferralImportError(problems)
    return {name: position for position, name in enumerate(names)}


def _lookups(*, system_id: int) -> _Lookups:
    # Names are matched ignoring case, as the database's unique constraints compare them.
    organisations = {
        name.lower(): (pk, name, sector, place_id)
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
    return _Lookups(organisations=organisations, services=services, need_codes=need_codes)


def _read_rows(reader, positions: dict[str, int], lookups: _Lookups, errors: _Errors) -> list:
    width = len(positions)
    by_position = sorted(positions, key=positions.get)
    now = timezone.now()
    today = now.astimezone(UK).date()
    rows = []
    line = reader.line_num + 1
    while True:
        try:
            cells = next(reader, None)
        except csv.Error as error:
            errors.add(line, "-", f"Not readable as CSV: {error}.")
            break
        if cells is None:
            break
        if any(cell.strip() for cell in cells):
            if len(cells) < width:
                errors.add(
                    line,
                    by_position[len(cells)],
                    f"Missing: the row has {len(cells)} values and the header {width} columns.",
                )
            elif len(cells) > width:
                errors.add(
                    line,
                    str(width + 1),
                    f"A value past the last of the header's {width} columns; "
                    "is a comma inside a value not quoted?",
                )
            else:
                values = {name: cells[position].strip() for name, position in positions.items()}
                rows.append(_read_row(line, values, lookups, errors, now=now, today=today))
        # A row starts on the line after the last one read; quoted values may span lines.
        line = reader.line_num + 1
    return rows


def _read_row(
    line: int, values: dict[str, str], lookups: _Lookups, errors: _Errors, *, now, today
) -> _Row:
    def error(column: str, message: str) -> None:
        errors.add(line, column, message)

    for column in REQUIRED_COLUMNS:
        if not values[column] and column not in ("service", "activities"):
            error(column, "Required.")
    for column, limit in TEXT_LIMITS.items():
        if len(values[column]) > limit:
            error(column, f"Longer than {limit} characters.")

    number = _nhs_number(values["nhs_number"])
    if values["nhs_number"] and number is None:
        error("nhs_number", "Not a valid NHS number (10 digits passing the modulus 11 check).")

    date_of_birth = _date(values["date_of_birth"], "date_of_birth", error)
    if date_of_birth and date_of_birth > today:
        error("date_of_birth", "In the future.")
        date_of_birth = None  # said once; not again as "referred_at is before birth"

    postcode = values["postcode"].upper().replace(" ", "")
    match = POSTCODE.fullmatch(postcode)
    if match:
        postcode = f"{match[1]} {match[2]}"
    elif postcode:
        error("postcode", f"Not a UK postcode: {values['postcode']!r}.")

    referred_at = _date_time(values["referred_at"], "referred_at", error)
    if referred_at:
        if referred_at > now:
            error("referred_at", "In the future.")
        elif date_of_birth and referred_at.astimezone(UK).date() < date_of_birth:
            error("referred_at", "Before the patient's date of birth.")

    for column, known in (
        ("source", SOURCES),
        ("destination_sector", SECTORS),
        ("urgency", URGENCIES),
        ("status", STATUSES),
    ):
        if values[column] and values[column] not in known:
            error(
                column,
                f"Unknown code {values[column]!r}; use one of {', '.join(sorted(known))}.",
            )

    sector = values["destination_sector"]
    organisation = lookups.organisations.get(values["organisation"].lower())
    organisation_id = place_id = service_id = None
    if organisation:
        organisation_id, name, organisation_sector, place_id = organisation
        if sector in SECTORS and organisation_sector != sector:
            error("organisation", f"{name} is in the {organisation_sector} sector, not {sector}.")
        if values["service"]:
            service_id = lookups.services.get((organisation_id, values["service"].lower()))
            if service_id is None:
                error("service", f"{name} has no service called {values['service']!r}.")
    elif values["organisation"]:
        error("organisation", f"No organisation called {values['organisation']!r}.")
    if sector == Sector.VOLUNTARY and not values["service"]:
        error("service", "Required for a voluntary referral: the service from the directory.")

    needs = _codes(values["needs"], "needs", lookups.need_codes, error)
    activities = _codes(values["activities"], "activities", lookups.need_codes, error)

    status = values["status"]
    closed_at = _date_time(values.get("closed_at", ""), "closed_at", error)
    if status == ReferralStatus.CLOSED and not values.get("closed_at"):
        error("closed_at", "Required for a closed referral.")
    elif closed_at and status in STATUSES and status != ReferralStatus.CLOSED:
        error("closed_at", f"Only a closed referral has one; this one is {status}.")
    elif closed_at and closed_at > now:
        error("closed_at", "In the future.")
    elif closed_at and referred_at and closed_at < referred_at:
        error("closed_at", "Before referred_at.")

    decline_reason = values.get("decline_reason") or None
    if decline_reason and status in STATUSES and status != ReferralStatus.DECLINED:
        error("decline_reason", f"Only a declined referral has one; this one is {status}.")

    return _Row(
        line=line,
        external_id=values["external_id"],
        nhs_number=number,
        given_name=values["given_name"],
        family_name=values["family_name"],
        date_of_birth=date_of_birth,
        postcode=postcode,
        referred_at=referred_at,
        source=values["source"],
        destination_sector=sector,
        organisation_id=organisation_id,
        place_id=place_id,
        service_id=service_id,
        needs=needs,
        activities=activities,
        urgency=values["urgency"],
        status=status,
        closed_at=closed_at,
        decline_reason=decline_reason,
    )


def _nhs_number(text: str) -> str | None:
    # The package takes "999 123 4567" and "999-123-4567" as staff write them; isascii() because
    # its \d also matches other scripts' digits, which the database would refuse.
    number = text if len(text) == 10 else nhs_number.standardise_format(text)
    return number if number.isascii() and nhs_number.is_valid(number) else None


def _date(text: str, column: str, error) -> date | None:
    if not text:
        return None
    try:
        if ISO_DATE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    error(column, f"Not a date as YYYY-MM-DD: {text!r}.")
    return None


def _date_time(text: str, column: str, error) -> datetime | None:
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


def _codes(text: str, column: str, known: frozenset[str], error) -> list[str]:
    codes = list(dict.fromkeys(code.strip() for code in text.split(";") if code.strip()))
    unknown = [code for code in codes if code not in known]
    if unknown:
        error(column, f"Unknown need code: {', '.join(unknown)}.")
    return codes


def _check_across_rows(rows: list[_Row], errors: _Errors) -> None:
    first_with_id: dict[str, int] = {}
    first_with_number: dict[str, _Row] = {}
    for row in rows:
        if row.external_id:
            first = first_with_id.setdefault(row.external_id, row.line)
            if first != row.line:
                errors.add(row.line, "external_id", f"Also on row {first}; one row per referral.")
        if row.nhs_number is None:
            continue
        first_row = first_with_number.setdefault(row.nhs_number, row)
        if first_row is row:
            continue
        # One patient is created from the file; rows that disagree about who they are mean a
        # mistyped NHS number or a mistyped name, and we cannot tell which.
        if row.date_of_birth and first_row.date_of_birth not in (None, row.date_of_birth):
            errors.add(
                row.line,
                "date_of_birth",
                f"Row {first_row.line} gives another date of birth for this NHS number.",
            )
        for column in ("given_name", "family_name"):
            if getattr(row, column).casefold() != getattr(first_row, column).casefold():
                errors.add(
                    row.line,
                    column,
                    f"Row {first_row.line} gives another name for this NHS number.",
                )


def _check_existing_patients(rows: list[_Row], errors: _Errors) -> dict[str, int]:
    """NHS number -> id of the patients VSO Care already holds."""
    numbers = list({row.nhs_number for row in rows if row.nhs_number})
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT nhs_number, id, date_of_birth FROM {Patient._meta.db_table} "
            "WHERE nhs_number = ANY(%s)",
            [numbers],
        )
        found = {number: (pk, born) for number, pk, born in cursor.fetchall()}
    for row in rows:
        held = found.get(row.nhs_number)
        # Names and postcode are never taken from a bulk file for a patient we hold, but another
        # date of birth most likely means the NHS number is wrong: refuse rather than guess.
        if held and row.date_of_birth and held[1] != row.date_of_birth:
            errors.add(
                row.line,
                "date_of_birth",
                "Not the date of birth VSO Care holds for this NHS number; check both.",
            )
    return {number: pk for number, (pk, _) in found.items()}


def _check_existing_referrals(
    rows: list[_Row], errors: _Errors, *, system_id: int
) -> dict[str, tuple]:
    """external_id -> (id, place of the referrer's team) of the referrals already imported."""
    ids = [row.external_id for row in rows if row.external_id]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.external_id, r.id, team.place_id, r.first_contact_at, "
            "r.interim_cover_for_id IS NOT NULL, team.system_id "
            f"FROM {Referral._meta.db_table} r "
            f"JOIN {Organisation._meta.db_table} team ON team.id = r.referrer_organisation_id "
            "WHERE r.external_id = ANY(%s)",
            [ids],
        )
        found = {external_id: rest for external_id, *rest in cursor.fetchall()}
    for row in rows:
        held = found.get(row.external_id)
        if not held:
            continue
        _, _, first_contact_at, covers, held_system_id = held
        if held_system_id != system_id:
            # External ids come from other systems' records and may repeat across ICSs; one
            # system's file must never rewrite another's referral.
            errors.add(
                row.line, "external_id", "Taken by a referral of another integrated care system."
            )
        # The database's own rules, checked here so that they come back as row errors.
        if first_contact_at and row.referred_at and row.referred_at > first_contact_at:
            errors.add(
                row.line,
                "referred_at",
                "After the first contact VSO Care records for this referral.",
            )
        if covers and row.destination_sector != Sector.VOLUNTARY:
            errors.add(
                row.line,
                "destination_sector",
                "This referral is interim cover in VSO Care, which only a voluntary one can be.",
            )
    return {external_id: (pk, place_id) for external_id, (pk, place_id, *_) in found.items()}


# --- Writing ---------------------------------------------------------------------------------


def _write(
    rows: list[_Row], existing_patients: dict[str, int], existing_referrals: dict, referrer: User
) -> ImportResult:
    now = timezone.now()
    team = referrer.organisation
    new_patients: dict[str, list] = {}
    for row in rows:
        if row.nhs_number in existing_patients:
            continue
        patient = new_patients.get(row.nhs_number)
        if patient is None:
            new_patients[row.nhs_number] = [
                row.nhs_number,
                row.given_name,
                row.family_name,
                row.date_of_birth,
                row.postcode,
                row.referred_at,
            ]
        elif row.referred_at > patient[5]:
            # People move; the postcode on their latest referral is the one to keep.
            patient[4], patient[5] = row.postcode, row.referred_at

    patient_table, referral_table = Patient._meta.db_table, Referral._meta.db_table
    audit = [now, now, referrer.pk, referrer.pk]
    with connection.cursor() as cursor:
        # The history triggers read this setting inside a plpgsql EXCEPTION block, which raises
        # when it was never set; PostgreSQL then walks the statement's whole queue of AFTER
        # trigger events per row, so 100,000 rows took nine minutes instead of seconds. An empty
        # list ignores no trigger; a list someone set around us is left as it is.
        cursor.execute(
            "SELECT set_config('pgtrigger.ignore', '{}', true) "
            "WHERE coalesce(current_setting('pgtrigger.ignore', true), '') = ''"
        )
        cursor.execute(
            "CREATE TEMP TABLE import_patient (nhs_number varchar(10), given_name varchar(100), "
            "family_name varchar(100), date_of_birth date, postcode varchar(8)) ON COMMIT DROP"
        )
        with cursor.cursor.copy("COPY import_patient FROM STDIN") as copy:
            for patient in new_patients.values():
                copy.write_row(patient[:5])
        cursor.execute(
            f"INSERT INTO {patient_table} (nhs_number, given_name, family_name, date_of_birth, "
            "postcode, lives_alone, is_carer, is_cared_for, consent_to_share, created_at, "
            "updated_at, created_by_id, updated_by_id) "
            "SELECT nhs_number, given_name, family_name, date_of_birth, postcode, false, false, "
            "false, false, %s, %s, %s, %s FROM import_patient ORDER BY nhs_number "
            "ON CONFLICT (nhs_number) DO NOTHING",
            audit,
        )
        patients_created = cursor.rowcount

        cursor.execute(
            "CREATE TEMP TABLE import_referral (line integer, external_id varchar(100), "
            "nhs_number varchar(10), source varchar(20), destination_sector varchar(20), "
            "organisation_id bigint, service_id bigint, place_id bigint, "
            "needs varchar(50)[], activities varchar(50)[], urgency varchar(10), "
            "status varchar(12), referred_at timestamptz, closed_at timestamptz, "
            "decline_reason text) ON COMMIT DROP"
        )
        with cursor.cursor.copy("COPY import_referral FROM STDIN") as copy:
            for row in rows:
                held = existing_referrals.get(row.external_id)
                team_place_id = held[1] if held else team.place_id
                copy.write_row(
                    (
                        row.line,
                        row.external_id,
                        row.nhs_number,
                        row.source,
                        row.destination_sector,
                        row.organisation_id,
                        row.service_id,
                        row.place_id or team_place_id,
                        row.needs,
                        row.activities,
                        row.urgency,
                        row.status,
                        row.referred_at,
                        row.closed_at,
                        row.decline_reason,
                    )
                )
        # Temporary tables are never analysed by autovacuum; without this the planner guesses
        # a handful of rows and may pick nested loops over 100,000.
        cursor.execute("ANALYZE import_referral")

        # The file's columns win; what happened in VSO Care since (decisions, contact, outcome)
        # stays. Only rows that differ are touched, so an unchanged re-import records no history
        # and bumps no version.
        # A declined referral keeps the reason it has unless the file gives one.
        decline_reason = (
            "CASE WHEN t.status = 'declined' THEN COALESCE(t.decline_reason, "
            "NULLIF(r.decline_reason, ''), %(declined)s) ELSE r.decline_reason END"
        )
        cursor.execute(
            f"UPDATE {referral_table} AS r SET patient_id = p.id, source = t.source, "
            "destination_sector = t.destination_sector, organisation_id = t.organisation_id, "
            "service_id = t.service_id, place_id = t.place_id, needs = t.needs, "
            "activities = t.activities, urgency = t.urgency, status = t.status, "
            "referred_at = t.referred_at, closed_at = t.closed_at, "
            f"decline_reason = {decline_reason}, version = r.version + 1, "
            "updated_at = %(now)s, updated_by_id = %(user)s "
            f"FROM import_referral t JOIN {patient_table} p ON p.nhs_number = t.nhs_number "
            "WHERE r.external_id = t.external_id AND "
            "(r.patient_id, r.source, r.destination_sector, r.organisation_id, r.service_id, "
            "r.place_id, r.needs, r.activities, r.urgency, r.status, r.referred_at, r.closed_at, "
            "r.decline_reason) IS DISTINCT FROM "
            "(p.id, t.source, t.destination_sector, t.organisation_id, t.service_id, t.place_id, "
            f"t.needs, t.activities, t.urgency, t.status, t.referred_at, t.closed_at, "
            f"{decline_reason})",
            {"now": now, "user": referrer.pk, "declined": IMPORTED_DECLINE_REASON},
        )
        referrals_updated = cursor.rowcount

        # Historic records: not remit-checked (see docs/referral-import.md), so out_of_remit is
        # false with no reasons; the nightly report judges them against the specifications.
        cursor.execute(
            f"INSERT INTO {referral_table} (external_id, patient_id, referrer_id, "
            "referrer_organisation_id, place_id, source, destination_sector, organisation_id, "
            "service_id, needs, activities, urgency, reason, status, referred_at, closed_at, "
            "decline_reason, outcome, withdrawal_reason, statutory_decline_reason, out_of_remit, "
            "remit_reasons, override_reason, version, created_at, updated_at, created_by_id, "
            "updated_by_id) "
            "SELECT t.external_id, p.id, %s, %s, t.place_id, t.source, t.destination_sector, "
            "t.organisation_id, t.service_id, t.needs, t.activities, t.urgency, '', t.status, "
            "t.referred_at, t.closed_at, "
            "CASE WHEN t.status = 'declined' THEN COALESCE(t.decline_reason, %s) ELSE '' END, "
            "'', '', '', false, '[]'::jsonb, '', 1, %s, %s, %s, %s "
            f"FROM import_referral t JOIN {patient_table} p ON p.nhs_number = t.nhs_number "
            f"WHERE NOT EXISTS (SELECT 1 FROM {referral_table} r "
            "WHERE r.external_id = t.external_id) "
            # Ids, and so references, follow the order of the file.
            "ORDER BY t.line",
            [referrer.pk, team.pk, IMPORTED_DECLINE_REASON, *audit],
        )
        referrals_created = cursor.rowcount
        # Gone at commit anyway; dropped now so a second import in one transaction can run.
        cursor.execute("DROP TABLE import_patient, import_referral")

    return ImportResult(
        rows=len(rows),
        patients_created=patients_created,
        referrals_created=referrals_created,
        referrals_updated=referrals_updated,
        referrals_unchanged=len(existing_referrals) - referrals_updated,
    )
