"""A scratch database beside the test database, for the bench scripts' guard (bench/guard.py) to
read and for the scripts to be pointed at, and a way to run a script as a person would."""

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection, connections
from django.db.backends.base.base import NO_DB_ALIAS

from accounts.models import User
from core.nhs import synthetic_nhs_number
from referrals.models import AccessRecord, Patient

PATIENT_EVENT = Patient.pgh_event_models["insert"]
# Fails the modulus 11 check (the remainder is 10), so it can never be anyone's NHS number; it
# stands for a live system's number, which is outside the 999 range.
NOT_SYNTHETIC = "1234567890"
BASE_DIR = Path(settings.BASE_DIR)


@dataclass(frozen=True)
class Scratch:
    name: str

    @contextmanager
    def cursor(self) -> Iterator:
        wrapper = type(connections[connection.alias])
        other = wrapper({**connection.settings_dict, "NAME": self.name}, NO_DB_ALIAS)
        try:
            with other.cursor() as cursor:
                yield cursor
        finally:
            other.close()

    def execute(self, sql: str, params: list | None = None) -> None:
        with self.cursor() as cursor:
            cursor.execute(sql, params)

    def contents(self) -> dict[str, list[tuple]]:
        """Every row of every table, to show that nothing was written."""
        with self.cursor() as cursor:
            found = {}
            for table in TABLES:
                cursor.execute(f"SELECT * FROM {table} ORDER BY 1")
                found[table] = cursor.fetchall()
            return found


# The tables the guard reads, by the application's own names, with the columns it reads: a
# database made in a second, where a migrated one takes ten.
TABLES = {
    Patient._meta.db_table: "nhs_number varchar(10) NOT NULL UNIQUE",
    PATIENT_EVENT._meta.db_table: "nhs_number varchar(10) NOT NULL",
    AccessRecord._meta.db_table: "nhs_number varchar(10) NOT NULL DEFAULT ''",
    User._meta.db_table: "email varchar(254) NOT NULL UNIQUE",
}


def server_databases() -> set[str]:
    with connection.creation._nodb_cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database")
        return {name for (name,) in cursor.fetchall()}


def drop_database(name: str) -> None:
    with connection.creation._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def scratch_name(suffix: str) -> str:
    """Named after this run's test database, so two runs on one server never share one."""
    return f"{connection.settings_dict['NAME']}_{suffix}"


@pytest.fixture
def scratch(django_db_setup, django_db_blocker) -> Iterator[Scratch]:
    """A database of synthetic data only: 999 numbers, people at example domains. Its name ends
    in _300 so that the reports bench, with --rows 300, can be pointed at it as its own."""
    with django_db_blocker.unblock():
        made = Scratch(scratch_name("bench_300"))
        drop_database(made.name)
        with connection.creation._nodb_cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{made.name}"')
        with made.cursor() as cursor:
            for table, columns in TABLES.items():
                cursor.execute(
                    f"CREATE TABLE {table} (id bigint GENERATED ALWAYS AS IDENTITY, {columns})"
                )
            for n in range(5):
                cursor.execute(
                    f"INSERT INTO {Patient._meta.db_table} (nhs_number) VALUES (%s)",
                    [synthetic_nhs_number(n)],
                )
            cursor.execute(
                f"INSERT INTO {PATIENT_EVENT._meta.db_table} (nhs_number) "
                f"SELECT nhs_number FROM {Patient._meta.db_table}"
            )
            cursor.execute(
                f"INSERT INTO {AccessRecord._meta.db_table} (nhs_number) VALUES (''), (%s), (%s)",
                [synthetic_nhs_number(7), synthetic_nhs_number(499_999)],
            )
            for email in (
                "icc@eastern-health.example",
                "bench.icc@example.org",
                "icc0@bench.example.org",
                "person@example.com",
                "load-lead-01@vso-load.example",
                "Admin@Localhost",
            ):
                cursor.execute(f"INSERT INTO {User._meta.db_table} (email) VALUES (%s)", [email])
        yield made
        drop_database(made.name)


def database_url(name: str) -> str:
    """This run's database server, with another database named."""
    return urlunsplit(urlsplit(settings.DATABASE_URL)._replace(path=f"/{name}"))


def run_bench(script: str, *args: str, database: str) -> subprocess.CompletedProcess:
    """A bench script as a person runs it, with DATABASE_URL naming `database` as the
    application's database."""
    env = dict(os.environ)
    env.update(DATABASE_URL=database_url(database), REDIS_URL=settings.REDIS_URL)
    return subprocess.run(
        [sys.executable, f"bench/{script}.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
