"""The file's rows, as they are read and checked, copied into a temporary table, so that the
import never holds the whole file: the checks across rows and against the database, and then the
writing, read the table with set-based SQL.

The table lives as long as the import's transaction. A refused file rolls it back with
everything else; a file written drops it, so that another import can run in the same transaction.
"""

from collections.abc import Iterable
from dataclasses import fields
from operator import attrgetter

from django.db.backends.utils import CursorWrapper

from referrals.importing.columns import Row
from referrals.importing.progress import Progress

TABLE = "import_referral"

# Every row is copied, bad ones too, so that the checks against other rows and the database find
# every error in the file; hence text without the database columns' limits, which only a
# checked row is sure to fit. A cell that could not be read is NULL.
_COLUMNS = (
    ("line", "integer"),
    ("external_id", "text"),
    ("nhs_number", "text"),
    ("given_name", "text"),
    ("family_name", "text"),
    ("date_of_birth", "date"),
    ("postcode", "text"),
    ("referred_at", "timestamptz"),
    ("source", "text"),
    ("destination_sector", "text"),
    ("organisation_id", "bigint"),
    # The receiving organisation's place; an organisation with none leaves it to the writing,
    # which knows the referring team.
    ("place_id", "bigint"),
    ("service_id", "bigint"),
    ("needs", "text[]"),
    ("activities", "text[]"),
    ("urgency", "text"),
    ("status", "text"),
    ("closed_at", "timestamptz"),
    ("decline_reason", "text"),
    ("lawful_basis", "text"),
    ("lawful_basis_reason", "text"),
    ("consent_given_on", "date"),
    ("consent_method", "text"),
)
# Row's fields are the table's columns, in order, so that a row is copied as it is.
assert tuple(name for name, _ in _COLUMNS) == tuple(field.name for field in fields(Row))
_values = attrgetter(*(name for name, _ in _COLUMNS))


def stage(cursor: CursorWrapper, rows: Iterable[Row], *, progress: Progress) -> int:
    """Copy rows into the temporary table as they come; the number copied."""
    columns = ", ".join(f"{name} {kind}" for name, kind in _COLUMNS)
    cursor.execute(f"CREATE TEMP TABLE {TABLE} ({columns}) ON COMMIT DROP")
    count = 0
    with cursor.cursor.copy(f"COPY {TABLE} FROM STDIN") as copy:
        write_row = copy.write_row
        for row in rows:
            write_row(_values(row))
            count += 1
            if not count % 1000:
                progress.checked(count)
    progress.checked(count, force=True)
    # Temporary tables are never analysed by autovacuum; without this the planner guesses a
    # handful of rows and may pick nested loops over 100,000.
    cursor.execute(f"ANALYZE {TABLE}")
    return count


def drop(cursor: CursorWrapper) -> None:
    # Gone at commit anyway; dropped now so that a second import in one transaction can run.
    cursor.execute(f"DROP TABLE {TABLE}")
