"""Every bench script that writes data refuses to run where a live system's data is, writes
nothing when it refuses, and runs where there is only synthetic data (issue #16, "Bad input").

The scripts run as a person runs them, in a process of their own, pointed by DATABASE_URL at a
scratch database (tests/bench/conftest.py), and each bench database named after this run's test
database, so two runs on one server never meet.
"""

import re

import pytest
from django.db import connection

from accounts.models import Role, User
from referrals.models import Patient
from tests.bench.conftest import (
    NOT_SYNTHETIC,
    PATIENT_EVENT,
    run_bench,
    scratch_name,
    server_databases,
)
from tests.factories import OrganisationFactory, PatientFactory, UserFactory
from vsocare.demo_directory import USERS

PATIENTS = Patient._meta.db_table
EVENTS = PATIENT_EVENT._meta.db_table
ROWS = "300"  # the scratch database's name ends in _300: see the `scratch` fixture


def bench_options(script: str, bench_database: str) -> list[str]:
    """The smallest run of each script, on a bench database of the given name."""
    if script == "import_referrals":
        return ["--rows", ROWS, "--database", bench_database]
    if script == "reports":
        prefix = bench_database.removesuffix(f"_{ROWS}")
        return ["--rows", ROWS, "--repeat", "1", "--requests", "2", "--database-prefix", prefix]
    return ["--records", ROWS, "--requests", "2", "--database", bench_database]


DATABASE_MAKERS = ["import_referrals", "reports", "access_log"]


@pytest.mark.parametrize("script", DATABASE_MAKERS)
def test_a_script_refuses_a_server_whose_application_database_is_live(scratch, script):
    """The bench database would be made beside a live system's: on its server, in its backups."""
    scratch.execute(f"INSERT INTO {PATIENTS} (nhs_number) VALUES (%s)", [NOT_SYNTHETIC])
    before = scratch.contents()
    bench_database = scratch_name(f"bench_{script}_{ROWS}")

    run = run_bench(script, *bench_options(script, bench_database), database=scratch.name)

    assert run.returncode == 1, run.stdout + run.stderr
    assert "Refusing to run" in run.stderr
    assert f"database {scratch.name}:" in run.stderr
    assert f"1 row with an NHS number outside the 999 range ({PATIENTS}: 1)" in run.stderr
    assert NOT_SYNTHETIC not in run.stdout + run.stderr
    assert run.stdout == "", "refused before anything was made"
    assert bench_database not in server_databases()
    assert scratch.contents() == before


@pytest.mark.parametrize("script", DATABASE_MAKERS)
def test_a_script_refuses_a_live_database_of_its_bench_databases_name(scratch, script):
    """Making the bench database drops one of that name, and a kept one is used as it is: a live
    database so named is neither dropped nor written to."""
    scratch.execute(f"INSERT INTO {PATIENTS} (nhs_number) VALUES (%s)", [NOT_SYNTHETIC])
    before = scratch.contents()
    options = bench_options(script, scratch.name)
    if script == "import_referrals":
        options.append("--keep-db")

    run = run_bench(script, *options, database=scratch_name("app_never_made"))

    assert run.returncode == 1, run.stdout + run.stderr
    assert f"database {scratch.name}:" in run.stderr
    assert "app_never_made" not in run.stderr
    assert run.stdout == ""
    assert scratch.contents() == before


@pytest.mark.slow
@pytest.mark.parametrize("script", DATABASE_MAKERS)
def test_a_script_runs_where_there_is_only_synthetic_data(scratch, script):
    """The smallest run of each, in 10 to 20 seconds: the migrations are most of it."""
    before = scratch.contents()
    bench_database = scratch_name(f"bench_{script}_{ROWS}")

    run = run_bench(script, *bench_options(script, bench_database), database=scratch.name)

    assert run.returncode == 0, run.stdout + run.stderr
    assert "machine: " in run.stdout
    assert bench_database not in server_databases(), "dropped at the end"
    assert scratch.contents() == before, "the application's database is only read"
    if script == "import_referrals":
        assert f"Imported {ROWS} row(s)" in run.stdout
        assert f"referrals {ROWS} created" in run.stdout
        assert f"referrals 0 created, {ROWS} updated" in run.stdout
        assert f"in the database: {ROWS} referrals" in run.stdout
        # The figures issue #16 asks of it: the speed against COPY, and the memory.
        assert re.search(r"the import runs at \d+\.\d\dx COPY", run.stdout), run.stdout
        assert re.search(r"peak memory .*: -?\d+ MB for a 0\.\d MB file", run.stdout), run.stdout
        assert "the import failed" not in run.stdout


ICC, COMMISSIONER = (
    next(user for user in USERS if user.role == role) for role in (Role.ICC, Role.COMMISSIONER)
)


@pytest.fixture
def demo_people(starting_codes):
    """What load_accounts needs of the demo: its ICC's team, its care board, a charity."""
    team = OrganisationFactory(name=ICC.organisation)
    UserFactory(email=ICC.email, organisation=team)
    OrganisationFactory(system=team.system, name=COMMISSIONER.organisation)
    OrganisationFactory(system=team.system, place=team.place, voluntary=True)
    PatientFactory()


LOAD_ACCOUNTS = ["--iccs", "1", "--leads", "1", "--commissioners", "1"]


@pytest.mark.django_db(transaction=True)
def test_load_accounts_runs_on_the_demo(demo_people):
    run = run_bench("load_accounts", *LOAD_ACCOUNTS, database=_test_database())

    assert run.returncode == 0, run.stdout + run.stderr
    assert "Load accounts: 3 created, 0 already there." in run.stdout
    assert User.objects.filter(email__startswith="load-").count() == 3


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("live", ["patient", "account"])
def test_load_accounts_refuses_a_live_database_and_adds_nobody(demo_people, live):
    if live == "patient":
        PatientFactory(nhs_number=NOT_SYNTHETIC)
        # The patient and the history of their creation.
        said = f"2 rows with an NHS number outside the 999 range ({PATIENTS}: 1, {EVENTS}: 1)"
    else:
        UserFactory(email="duty.desk@carers-centre.org.uk")
        said = "1 account with an e-mail address outside the domains reserved for examples"
    people = set(User.objects.values_list("email", flat=True))

    run = run_bench("load_accounts", *LOAD_ACCOUNTS, database=_test_database())

    assert run.returncode == 1, run.stdout + run.stderr
    assert said in run.stderr
    assert NOT_SYNTHETIC not in run.stderr
    assert set(User.objects.values_list("email", flat=True)) == people


def _test_database() -> str:
    return connection.settings_dict["NAME"]
