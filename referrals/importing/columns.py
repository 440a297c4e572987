"""The file's columns and the rules on their text, and the types every step shares: the row as it
will be written, the errors found in the file and the result of an import.

docs/referral-import.md describes the file column by column; keep the two in step.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime
from operator import attrgetter
from zoneinfo import ZoneInfo

from commissioning.codes import Urgency
from commissioning.models import Sector
from referrals.models import CHOSEN_BASES, CHOSEN_METHODS, ReferralSource, ReferralStatus

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
OPTIONAL_COLUMNS = (
    "closed_at",
    "decline_reason",
    "lawful_basis",
    "lawful_basis_reason",
    "consent_given_on",
    "consent_method",
)
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
BASES = frozenset(dict(CHOSEN_BASES))
METHODS = frozenset(dict(CHOSEN_METHODS))
CODED_COLUMNS = (
    ("source", SOURCES),
    ("destination_sector", SECTORS),
    ("urgency", URGENCIES),
    ("status", STATUSES),
    ("lawful_basis", BASES),
    ("consent_method", METHODS),
)


class ReferralImportError(Exception):
    """A file, or rows in it, that cannot be imported; nothing was changed."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class ImportResult:
    rows: int
    patients_created: int
    referrals_created: int
    referrals_updated: int
    referrals_unchanged: int
    consents_recorded: int = 0


@dataclass(slots=True)
class Row:
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
    lawful_basis: str = ""
    lawful_basis_reason: str = ""
    consent_given_on: date | None = None
    consent_method: str = ""


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    # The column's place in the header, so that a row's errors read left to right.
    position: int
    message: str


class RowErrors:
    """Errors kept in file order: by line, then by the column's place in the header."""

    def __init__(self, positions: dict[str, int]) -> None:
        self.positions = positions
        self.found: list[RowError] = []

    def add(self, line: int, column: str, message: str) -> None:
        self.found.append(
            RowError(line, self.positions.get(column, 0), f"row {line}, column {column}: {message}")
        )

    def raise_if_any(self) -> None:
        if self.found:
            in_order = sorted(self.found, key=attrgetter("line", "position", "message"))
            raise ReferralImportError([error.message for error in in_order])
