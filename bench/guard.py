"""The check every bench script makes before it creates or writes anything: the databases it
will touch hold synthetic data only, so a benchmark never adds to, empties or drops a live
system's database, nor loads millions of rows onto a server that holds one. See bench/README.md.

Synthetic means:

- no NHS number outside the 999 range, which is never issued (core/nhs.py), in any column called
  `nhs_number` of any table: patients, their history, the numbers typed into a lookup;
- no account whose e-mail address is outside the domains reserved for examples and tests
  (RFC 2606 and RFC 6761), where the demo's, the tests' and the benches' people all are. A live
  system has real people before it has patients, and this catches it on its first day.

A script names every database it will touch: the application's (the server a bench database is
made beside, or the database a script writes into) and its own bench database, which may be
there from a kept run and which creating it again would drop. A database that does not exist
holds nothing and passes. What was found is said as counts per table, never the values.
"""

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections
from django.db.backends.base.base import NO_DB_ALIAS, BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

from accounts.models import User

SYNTHETIC_PREFIX = "999"
# example.com, .net and .org, and the top-level domains .example, .test, .invalid and .localhost.
RESERVED_EMAIL = r"@([a-z0-9-]+\.)*(example\.(com|net|org)|example|test|invalid|localhost)$"
# Counting every real row of a live system would be a long scan on that very system; past this
# many, the message says "or more".
COUNT_CAP = 1000

# Every text column called nhs_number in an ordinary table, partitions counted through their
# parent; as regclass text, so each name comes back quoted as SQL needs it.
_NHS_COLUMNS_SQL = """
SELECT c.oid::regclass::text
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.attname = 'nhs_number' AND a.attnum > 0 AND NOT a.attisdropped
  AND a.atttypid IN ('text'::regtype, 'varchar'::regtype, 'bpchar'::regtype)
  AND c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_temp%'
ORDER BY 1
"""


def refuse_unless_synthetic(connection: BaseDatabaseWrapper, *databases: str) -> None:
    """Stop the script, with a message and exit status 1, unless every one of `databases` on
    `connection`'s server holds synthetic data only. Call it before anything is created."""
    found = {}
    for database in dict.fromkeys(databases):
        if findings := real_data_in(connection, database):
            found[database] = findings
    if not found:
        return
    lines = ["Refusing to run: these databases hold what looks like a live system's data."]
    for database, findings in found.items():
        lines += [f"  database {database}:", *(f"    {finding}" for finding in findings)]
    lines.append(
        "Nothing was created or written. Bench scripts run only on a server whose databases "
        "hold synthetic data: NHS numbers from the 999 range and accounts at example domains "
        "(bench/README.md)."
    )
    sys.exit("\n".join(lines))


def real_data_in(connection: BaseDatabaseWrapper, database: str) -> list[str]:
    """What in `database` is not synthetic, one line per kind, as counts; [] if nothing is,
    or if there is no such database."""
    if not _exists(connection, database):
        return []
    findings = []
    with _cursor_on(connection, database) as cursor:
        cursor.execute(_NHS_COLUMNS_SQL)
        per_table = {}
        for (table,) in cursor.fetchall():
            count = _capped_count(
                cursor,
                f"SELECT 1 FROM {table} WHERE nhs_number <> '' AND nhs_number NOT LIKE %s",
                [f"{SYNTHETIC_PREFIX}%"],
            )
            if count:
                per_table[table] = count
        if per_table:
            tables = ", ".join(f"{table}: {_amount(n)}" for table, n in per_table.items())
            findings.append(
                f"{_amount(sum(per_table.values()), 'row')} with an NHS number outside the "
                f"{SYNTHETIC_PREFIX} range ({tables})"
            )
        users = User._meta.db_table
        cursor.execute("SELECT to_regclass(%s)", [users])
        if cursor.fetchone()[0] is not None:
            count = _capped_count(
                cursor,
                f"SELECT 1 FROM {users} WHERE email <> '' AND NOT lower(email) ~ %s",
                [RESERVED_EMAIL],
            )
            if count:
                findings.append(
                    f"{_amount(count, 'account')} with an e-mail address outside the domains "
                    f"reserved for examples ({users})"
                )
    return findings


def _exists(connection: BaseDatabaseWrapper, database: str) -> bool:
    # The server's maintenance database, so that a missing one is not an error.
    with connection.creation._nodb_cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database])
        return cursor.fetchone() is not None


@contextmanager
def _cursor_on(connection: BaseDatabaseWrapper, database: str) -> Iterator[CursorWrapper]:
    """A cursor on another database of the same server, in read-only transactions: the check
    itself can write nothing."""
    options = dict(connection.settings_dict.get("OPTIONS") or {})
    options["options"] = f"{options.get('options', '')} -c default_transaction_read_only=on"
    # The wrapper's own class (`django.db.connection` is a proxy for it), under the alias Django
    # gives its own connections outside DATABASES, which no connection signal acts on.
    other = type(connections[connection.alias])(
        {**connection.settings_dict, "NAME": database, "OPTIONS": options}, alias=NO_DB_ALIAS
    )
    try:
        with other.cursor() as cursor:
            yield cursor
    finally:
        other.close()


def _capped_count(cursor: CursorWrapper, select: str, params: list | None = None) -> int:
    cursor.execute(f"SELECT count(*) FROM ({select} LIMIT {COUNT_CAP}) found", params)
    return cursor.fetchone()[0]


def _amount(count: int, noun: str = "") -> str:
    text = f"{count:,} or more" if count >= COUNT_CAP else f"{count:,}"
    if noun:
        text += f" {noun}" + ("" if count == 1 else "s")
    return text
