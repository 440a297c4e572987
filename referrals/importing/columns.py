"""The file's columns and the rules on their text, and the types every step shares: the row as it
will be written, the errors found in the file and the result of an import.

docs/referral-import.md describes the file column by column; keep the two in step.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db.models import CharField, Model

from commissioning.codes import Urgency
from commissioning.models import Organisation, Sector, Service
from core.csv_import import CsvImportError
from core.plausible import NOTE_MAX_LENGTH
from referrals.models import (
    CHOSEN_BASES,
    CHOSEN_METHODS,
    Patient,
    Referral,
    ReferralSource,
    ReferralStatus,
)

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

# The most characters each column's value may have, after its spaces are stripped: the database
# column's where the value is stored as written, otherwise well past any value the column can
# rightly hold, so that a message quoting the value stays short.
_DATE_TIME = 40  # 2026-06-01T09:30:15.123456+01:00 is 32
_CODE = 100


def _column_length(model: type[Model], name: str) -> int:
    field = model._meta.get_field(name)
    assert isinstance(field, CharField) and field.max_length, f"{model.__name__}.{name}"
    return field.max_length


TEXT_LIMITS: dict[str, int] = {
    "external_id": _column_length(Referral, "external_id"),
    "nhs_number": 20,  # 10 digits, perhaps in groups with spaces or hyphens
    "given_name": _column_length(Patient, "given_name"),
    "family_name": _column_length(Patient, "family_name"),
    "date_of_birth": _DATE_TIME,
    "postcode": 20,
    "referred_at": _DATE_TIME,
    "source": _CODE,
    "destination_sector": _CODE,
    "organisation": _column_length(Organisation, "name"),
    "service": _column_length(Service, "name"),
    "urgency": _CODE,
    "needs": 2000,
    "activities": 2000,
    "status": _CODE,
    "closed_at": _DATE_TIME,
    "decline_reason": NOTE_MAX_LENGTH,
    "lawful_basis": _CODE,
    "lawful_basis_reason": NOTE_MAX_LENGTH,
    "consent_given_on": _DATE_TIME,
    "consent_method": _CODE,
}
# Free text that may break lines and hold tabs; every other column is one line.
MULTILINE_COLUMNS = frozenset({"decline_reason", "lawful_basis_reason"})

# What one import takes: about twice the 100,000 rows measured in bench/RESULTS.md, so that a
# wrong file (a database dump, a file of a million blank cells) is refused in seconds, not read
# into memory. A bigger set of referrals goes in as several files.
MAX_FILE_BYTES = 100_000_000
MAX_ROWS = 200_000

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


class ReferralImportError(CsvImportError):
    """A referral file, or rows in it, that cannot be imported; nothing was changed."""


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
