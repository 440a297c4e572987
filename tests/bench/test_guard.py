"""The bench scripts' one guard (bench/guard.py): a database holding an NHS number outside the 999
range, or an account at a real domain, is refused with counts, never the values."""

import pytest
from django.db import connection
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from bench.guard import real_data_in, refuse_unless_synthetic
from core.nhs import synthetic_nhs_number
from referrals.models import AccessRecord, Patient
from tests.bench.conftest import NOT_SYNTHETIC, PATIENT_EVENT, scratch_name
from tests.factories import PatientFactory, UserFactory

PATIENTS = Patient._meta.db_table
EVENTS = PATIENT_EVENT._meta.db_table
ACCESS = AccessRecord._meta.db_table
USERS = "accounts_user"
# Hypothesis runs many examples on one scratch database, each undoing its own row.
REUSED_FIXTURE = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def refusal(*databases: str) -> str:
    with pytest.raises(SystemExit) as stopped:
        refuse_unless_synthetic(connection, *databases)
    assert isinstance(stopped.value.code, str), "a message, which sys.exit prints with status 1"
    return stopped.value.code


def test_synthetic_data_passes(scratch):
    assert real_data_in(connection, scratch.name) == []
    refuse_unless_synthetic(connection, scratch.name)


def test_a_database_that_is_not_there_holds_nothing_and_passes(scratch):
    missing = scratch_name("bench_never_made")

    assert real_data_in(connection, missing) == []
    refuse_unless_synthetic(connection, missing, scratch.name)


@pytest.mark.parametrize("table", [PATIENTS, EVENTS, ACCESS])
def test_a_real_number_in_any_table_is_refused_with_a_count_not_the_number(scratch, table):
    before = scratch.contents()
    scratch.execute(f"INSERT INTO {table} (nhs_number) VALUES (%s)", [NOT_SYNTHETIC])

    message = refusal(scratch.name)

    assert f"database {scratch.name}:" in message
    assert f"1 row with an NHS number outside the 999 range ({table}: 1)" in message
    assert "Nothing was created or written" in message
    assert NOT_SYNTHETIC not in message
    # The check is read-only: the row it found is still there, and nothing else changed.
    after = scratch.contents()
    assert len(after[table]) == len(before[table]) + 1
    assert {t: rows for t, rows in after.items() if t != table} == {
        t: rows for t, rows in before.items() if t != table
    }


def test_the_count_per_table_and_in_all(scratch):
    scratch.execute(f"INSERT INTO {PATIENTS} (nhs_number) VALUES ('4000000000'), ('4000000001')")
    scratch.execute(f"INSERT INTO {EVENTS} (nhs_number) VALUES ('4000000000')")

    assert real_data_in(connection, scratch.name) == [
        f"3 rows with an NHS number outside the 999 range ({PATIENTS}: 2, {EVENTS}: 1)"
    ]


def test_a_live_system_is_not_counted_to_the_end(scratch):
    """Counting every row of a live system would be a long scan on that very system."""
    scratch.execute(
        f"INSERT INTO {ACCESS} (nhs_number) SELECT (4000000000 + g)::text "
        "FROM generate_series(1, 1500) g"
    )

    assert real_data_in(connection, scratch.name) == [
        f"1,000 or more rows with an NHS number outside the 999 range ({ACCESS}: 1,000 or more)"
    ]


def test_an_account_at_a_real_domain_is_refused(scratch):
    scratch.execute(f"INSERT INTO {USERS} (email) VALUES ('duty.desk@carers-centre.org.uk')")

    message = refusal(scratch.name)

    assert "1 account with an e-mail address outside the domains reserved for examples" in message
    assert "carers-centre" not in message


def test_each_database_named_is_checked_and_each_finding_said(scratch):
    scratch.execute(f"INSERT INTO {PATIENTS} (nhs_number) VALUES (%s)", [NOT_SYNTHETIC])
    scratch.execute(f"INSERT INTO {USERS} (email) VALUES ('a@live.nhs.uk'), ('b@live.nhs.uk')")

    message = refusal(scratch_name("bench_never_made"), scratch.name)

    assert "bench_never_made" not in message
    assert f"1 row with an NHS number outside the 999 range ({PATIENTS}: 1)" in message
    assert "2 accounts with an e-mail address outside the domains" in message


@REUSED_FIXTURE
@given(number=st.from_regex(r"\A[0-9]{10}\Z").filter(lambda n: not n.startswith("999")))
def test_any_number_outside_the_999_range_is_refused(scratch, number):
    scratch.execute(f"INSERT INTO {PATIENTS} (nhs_number) VALUES (%s)", [number])
    try:
        assert real_data_in(connection, scratch.name)
    finally:
        scratch.execute(f"DELETE FROM {PATIENTS} WHERE nhs_number = %s", [number])


@REUSED_FIXTURE
@given(index=st.integers(min_value=5, max_value=499_999))
def test_any_synthetic_number_passes(scratch, index):
    number = synthetic_nhs_number(index)
    scratch.execute(f"INSERT INTO {PATIENTS} (nhs_number) VALUES (%s)", [number])
    try:
        assert real_data_in(connection, scratch.name) == []
    finally:
        scratch.execute(f"DELETE FROM {PATIENTS} WHERE nhs_number = %s", [number])


LABEL = st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?\Z")
RESERVED = st.sampled_from(
    ["example.com", "example.net", "example.org", "example", "test", "invalid", "localhost"]
)
REAL_TOP = st.sampled_from(["uk", "org", "com", "net", "nhs.uk", "org.uk", "scot", "io"])


@REUSED_FIXTURE
@given(
    local=st.from_regex(r"\A[a-z0-9._+-]{1,20}\Z"),
    labels=st.lists(LABEL, max_size=2),
    reserved=RESERVED,
    upper=st.booleans(),
)
def test_any_address_at_a_reserved_domain_passes(scratch, local, labels, reserved, upper):
    email = f"{local}@{'.'.join([*labels, reserved])}"
    email = email.upper() if upper else email
    scratch.execute(f"INSERT INTO {USERS} (email) VALUES (%s)", [email])
    try:
        assert real_data_in(connection, scratch.name) == []
    finally:
        scratch.execute(f"DELETE FROM {USERS} WHERE email = %s", [email])


@REUSED_FIXTURE
@given(
    local=st.from_regex(r"\A[a-z0-9._+-]{1,20}\Z"),
    labels=st.lists(LABEL, min_size=1, max_size=2),
    top=REAL_TOP,
)
# A reserved name inside a real domain is real.
@example(local="a", labels=["example"], top="uk")
@example(local="a", labels=["example-trust"], top="org")
@example(local="a", labels=["test"], top="org.uk")
@example(local="a", labels=["localhost", "nhs"], top="uk")
@example(local="a", labels=["mytest"], top="com")
def test_any_address_at_a_real_domain_is_refused(scratch, local, labels, top):
    assume(not (labels[-1] == "example" and top in {"com", "net", "org"}))
    email = f"{local}@{'.'.join([*labels, top])}"
    scratch.execute(f"INSERT INTO {USERS} (email) VALUES (%s)", [email])
    try:
        assert real_data_in(connection, scratch.name)
    finally:
        scratch.execute(f"DELETE FROM {USERS} WHERE email = %s", [email])


@pytest.mark.django_db(transaction=True)
def test_the_application_schema_is_read_as_it_is(starting_codes):
    """The tables as migrated, not the scratch copy: a patient's number changed to a real one
    is found in the patient table and in its history."""
    database = connection.settings_dict["NAME"]
    patient = PatientFactory()
    UserFactory()
    assert real_data_in(connection, database) == []

    Patient.objects.filter(pk=patient.pk).update(nhs_number=NOT_SYNTHETIC)
    UserFactory(email="duty.desk@carers-centre.org.uk")

    assert real_data_in(connection, database) == [
        f"2 rows with an NHS number outside the 999 range ({PATIENTS}: 1, {EVENTS}: 1)",
        f"1 account with an e-mail address outside the domains reserved for examples ({USERS})",
    ]
