"""bench/partitions.py: it refuses a database with a live system's data, and its smallest run
builds both copies, measures them and leaves nothing behind (issue #16 point 6)."""

import datetime
import json

import pytest
from django.db import connection
from django.utils import timezone

from tests.bench.conftest import NOT_SYNTHETIC, run_bench
from tests.factories import PatientFactory, ReferralFactory

SCHEMA = "part_bench"


def _test_database() -> str:
    return connection.settings_dict["NAME"]


def _schema_exists() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [SCHEMA])
        return cursor.fetchone() is not None


@pytest.fixture
def referrals_over_months(icc, red_cross_lead, home_from_hospital, social_care):
    """Referrals in three months, to the Red Cross and to social care, some still waiting."""
    now = timezone.now()
    for days_ago in (1, 2, 35, 40, 70):
        at = now - datetime.timedelta(days=days_ago)
        ReferralFactory(referrer=icc, service=home_from_hospital, referred_at=at)
        ReferralFactory(referrer=icc, service=None, organisation=social_care, referred_at=at)


@pytest.mark.django_db(transaction=True)
def test_it_refuses_a_live_database_and_makes_nothing(referrals_over_months):
    PatientFactory(nhs_number=NOT_SYNTHETIC)
    database = _test_database()

    run = run_bench("partitions", "--database", database, database=database)

    assert run.returncode == 1, run.stdout + run.stderr
    assert "Refusing to run" in run.stderr
    assert NOT_SYNTHETIC not in run.stderr
    assert run.stdout == ""
    assert not _schema_exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_its_smallest_run_measures_both_copies_and_drops_them(referrals_over_months, tmp_path):
    database = _test_database()
    figures_file = tmp_path / "figures.json"

    run = run_bench(
        "partitions",
        *("--database", database, "--repeat", "1", "--import-rows", "4", "--empty-months", "2"),
        *("--json", str(figures_file)),
        database=database,
    )

    assert run.returncode == 0, run.stdout + run.stderr
    assert "machine: " in run.stdout
    assert "| import: COPY of 4 rows, s |" in run.stdout
    assert not _schema_exists(), "dropped at the end"
    figures = json.loads(figures_file.read_text())
    # Two empty months, three or four of referrals, the month after, and the default partition.
    assert figures["partitions"] >= 7
    statements = {row["name"]: row for row in figures["statements"]}
    assert set(statements) >= {
        "report: referral split, year to date",
        "report: remit breaches, month to date",
        "page: ICC list (first page)",
        "page: VSO lead list (first page)",
        "page: waiting list (ICC, first page)",
        "page: a referral, by id (as the detail page)",
    }
    for row in statements.values():
        assert row["statements"] >= 1, row["name"]
    # The id alone reaches into every partition, empty ones too; with its date, only one.
    every = figures["partitions"]
    assert statements["lookup: by id alone"]["partitioned"]["partitions"] == every
    assert statements["lookup: by id and referred_at"]["partitioned"]["partitions"] == 1
    assert statements["lookup: by id alone"]["flat"]["partitions"] == 0
