import datetime
import re
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pghistory.models
import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from core.nhs import synthetic_nhs_number
from referrals.importing import writing
from referrals.importing.columns import COLUMNS, IMPORTED_DECLINE_REASON, TEXT_LIMITS
from referrals.importing.progress import ProgressLine
from referrals.models import Patient, Referral
from tests.factories import (
    OrganisationFactory,
    PatientFactory,
    ReferralFactory,
    ServiceFactory,
    SystemFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NOW = "2026-11-23 10:00 +0000"
LONDON = ZoneInfo("Europe/London")


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def row(**overrides) -> dict:
    """One good row: a voluntary referral to the Red Cross's Home from Hospital service."""
    values = {
        "external_id": "EMIS-1001",
        "nhs_number": synthetic_nhs_number(100),
        "given_name": "Edna",
        "family_name": "Marsh",
        "date_of_birth": "1938-05-17",
        "postcode": "eh1 1aa",
        "referred_at": "2026-06-01T09:30",
        "source": "gp",
        "destination_sector": "voluntary",
        "organisation": "Eastern Red Cross Home from Hospital",
        "service": "Home from Hospital",
        "urgency": "soon",
        "needs": "shopping;home_help",
        "activities": "shopping",
        "status": "received",
        "closed_at": "",
        "decline_reason": "",
        "lawful_basis": "consent",
        "lawful_basis_reason": "",
        "consent_given_on": "2026-01-05",
        "consent_method": "in_person",
    }
    values.update(overrides)
    return values


def csv_file(tmp_path, *rows: dict, columns=COLUMNS) -> str:
    lines = [",".join(columns)]
    lines += [",".join(str(values.get(column, "")) for column in columns) for values in rows]
    path = tmp_path / "referrals.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def run(path: str, referrer) -> str:
    out = StringIO()
    call_command("import_referrals", path, "--referrer", referrer.email, stdout=out)
    return out.getvalue()


def refused(path: str, referrer_email: str) -> list[str]:
    """The error lines printed for a file that must import nothing."""
    err = StringIO()
    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command(
            "import_referrals", path, "--referrer", referrer_email, stdout=StringIO(), stderr=err
        )
    return err.getvalue().splitlines()


@pytest.fixture
def destinations(home_from_hospital, community_trust, social_care):
    return home_from_hospital


def test_a_good_file_creates_each_patient_once_and_links_their_referrals(
    tmp_path, icc, destinations, community_trust
):
    path = csv_file(
        tmp_path,
        row(),
        row(
            external_id="EMIS-1002",
            referred_at="2026-07-01 14:00",
            destination_sector="health",
            organisation="Eastern Community Health Services",
            service="",
            needs="care_coordination",
            activities="",
            status="closed",
            closed_at="2026-07-20T16:45",
        ),
        row(
            external_id="EMIS-1003",
            nhs_number=synthetic_nhs_number(101),
            given_name="Albert",
            family_name="Hughes",
            date_of_birth="1941-02-03",
            postcode="EH12 9ZZ",
        ),
    )

    output = run(path, icc)

    assert "referrals 3 created, 0 updated, 0 unchanged; 2 new patient(s)" in output
    edna = Patient.objects.get(nhs_number=synthetic_nhs_number(100))
    assert (edna.given_name, edna.family_name, edna.postcode) == ("Edna", "Marsh", "EH1 1AA")
    assert edna.date_of_birth == datetime.date(1938, 5, 17)
    assert edna.created_by == icc
    first, closed = Referral.objects.filter(patient=edna).order_by("pk")
    assert first.external_id == "EMIS-1001"
    assert first.needs == ["shopping", "home_help"] and first.activities == ["shopping"]
    assert first.service.name == "Home from Hospital"
    assert first.referrer == icc and first.referrer_organisation == community_trust
    assert first.place.name == "Northbridge"
    assert first.version == 1 and first.created_at is not None and first.updated_at is not None
    assert not first.out_of_remit and first.remit_reasons == []
    # Naive times are UK clock time: 09:30 in June is 08:30 UTC.
    assert first.referred_at == datetime.datetime(2026, 6, 1, 9, 30, tzinfo=LONDON)
    assert first.referred_at == datetime.datetime(2026, 6, 1, 8, 30, tzinfo=datetime.UTC)
    assert closed.status == "closed" and closed.service is None
    assert closed.closed_at == datetime.datetime(2026, 7, 20, 16, 45, tzinfo=LONDON)
    # The trust works across the system, and so does the referrer's team: no place.
    assert closed.place is None


def test_a_date_without_a_time_is_midnight_in_london(tmp_path, icc, destinations):
    run(csv_file(tmp_path, row(referred_at="2026-06-01")), icc)

    referral = Referral.objects.get()
    assert referral.referred_at == datetime.datetime(2026, 6, 1, tzinfo=LONDON)


def test_a_time_with_an_offset_keeps_its_offset(tmp_path, icc, destinations):
    run(csv_file(tmp_path, row(referred_at="2026-06-01T09:30Z")), icc)

    referral = Referral.objects.get()
    assert referral.referred_at == datetime.datetime(2026, 6, 1, 9, 30, tzinfo=datetime.UTC)


def test_an_nhs_number_may_be_written_in_groups_as_staff_read_it(tmp_path, icc, destinations):
    number = synthetic_nhs_number(100)

    run(csv_file(tmp_path, row(nhs_number=f"{number[:3]} {number[3:6]} {number[6:]}")), icc)

    assert Patient.objects.get().nhs_number == number


def test_a_referral_to_a_system_wide_organisation_takes_the_place_of_the_referrers_team(
    tmp_path, system, northbridge, destinations
):
    team = OrganisationFactory(system=system, place=northbridge, name="Northbridge MDT hub")
    referrer = UserFactory(role=Role.ICC, organisation=team)

    run(
        csv_file(
            tmp_path,
            row(
                destination_sector="health",
                organisation="Eastern Community Health Services",
                service="",
            ),
        ),
        referrer,
    )

    referral = Referral.objects.get()
    assert referral.place == northbridge and referral.referrer_organisation == team


def test_reimporting_an_external_id_updates_the_referral_instead_of_duplicating_it(
    tmp_path, icc, destinations
):
    run(csv_file(tmp_path, row()), icc)
    referral = Referral.objects.get()

    output = run(csv_file(tmp_path, row(urgency="urgent", status="accepted")), icc)

    assert "referrals 0 created, 1 updated, 0 unchanged" in output
    assert Referral.objects.count() == 1
    assert Patient.objects.count() == 1
    referral.refresh_from_db()
    assert (referral.urgency, referral.status, referral.version) == ("urgent", "accepted", 2)


def test_reimporting_an_unchanged_file_changes_nothing(tmp_path, icc, destinations):
    path = csv_file(tmp_path, row())
    run(path, icc)
    referral = Referral.objects.get()

    output = run(path, icc)

    assert "referrals 0 created, 0 updated, 1 unchanged; 0 new patient(s)" in output
    referral.refresh_from_db()
    assert referral.version == 1
    assert referral.events.count() == 1


def test_an_update_keeps_what_happened_in_vso_care_since(tmp_path, icc, destinations):
    run(csv_file(tmp_path, row(status="accepted")), icc)
    Referral.objects.update(outcome="Shopping done weekly.")

    run(csv_file(tmp_path, row(status="closed", closed_at="2026-08-01")), icc)

    referral = Referral.objects.get()
    assert referral.status == "closed" and referral.outcome == "Shopping done weekly."


def test_an_existing_patients_details_are_never_overwritten_from_the_file(
    tmp_path, icc, destinations
):
    held = PatientFactory(
        nhs_number=synthetic_nhs_number(100),
        given_name="Edna",
        family_name="Marsh-Brown",
        postcode="EH3 5XY",
        date_of_birth=datetime.date(1938, 5, 17),
    )

    output = run(csv_file(tmp_path, row()), icc)

    assert "0 new patient(s)" in output
    held.refresh_from_db()
    assert (held.family_name, held.postcode) == ("Marsh-Brown", "EH3 5XY")
    assert Referral.objects.get().patient == held


def test_an_existing_patient_with_another_date_of_birth_is_refused(tmp_path, icc, destinations):
    PatientFactory(nhs_number=synthetic_nhs_number(100), date_of_birth=datetime.date(1940, 1, 1))

    errors = refused(csv_file(tmp_path, row()), icc.email)

    assert errors == [
        "row 2, column date_of_birth: Not the date of birth VSO Care holds for this NHS number; "
        "check both."
    ]
    assert not Referral.objects.exists()


def test_a_declined_referral_gets_a_standard_reason_unless_the_file_gives_one(
    tmp_path, icc, destinations
):
    run(
        csv_file(
            tmp_path,
            row(status="declined"),
            row(external_id="EMIS-1002", status="declined", decline_reason="Over capacity"),
        ),
        icc,
    )

    reasons = list(Referral.objects.order_by("pk").values_list("decline_reason", flat=True))
    assert reasons == [IMPORTED_DECLINE_REASON, "Over capacity"]


def test_a_patient_on_several_rows_keeps_the_postcode_of_the_latest(tmp_path, icc, destinations):
    run(
        csv_file(
            tmp_path,
            row(referred_at="2026-06-01", postcode="EH9 9ZZ"),
            row(external_id="EMIS-1002", referred_at="2026-03-01", postcode="EH1 1AA"),
        ),
        icc,
    )

    assert Patient.objects.get().postcode == "EH9 9ZZ"


def test_every_imported_referral_is_recorded_in_history_with_the_importer(
    tmp_path, icc, destinations
):
    run(csv_file(tmp_path, row()), icc)

    event = Referral.objects.get().events.get()
    assert event.pgh_label == "insert"
    assert event.pgh_context.metadata["user"] == icc.pk
    assert event.pgh_context.metadata["file"] == "referrals.csv"
    assert Patient.objects.get().events.count() == 1


def test_the_import_takes_the_same_few_queries_for_three_rows_or_thirty(
    tmp_path, icc, destinations
):
    def queries_for(count: int) -> int:
        rows = [
            row(external_id=f"X{count}-{i}", nhs_number=synthetic_nhs_number(1000 * count + i))
            for i in range(count)
        ]
        with CaptureQueriesContext(connection) as queries:
            run(csv_file(tmp_path, *rows), icc)
        return len(queries)

    assert queries_for(3) == queries_for(30)
    assert Referral.objects.count() == 33


BAD_VALUES = [
    pytest.param("nhs_number", "9990000017", "modulus 11", id="an NHS number failing the check"),
    pytest.param("nhs_number", "99900000", "Not a valid NHS number", id="an NHS number too short"),
    pytest.param("date_of_birth", "2027-01-01", "Cannot be in the future", id="born in future"),
    pytest.param("date_of_birth", "17/05/1938", "YYYY-MM-DD", id="a date of birth not ISO"),
    pytest.param("date_of_birth", "1938-02-30", "YYYY-MM-DD", id="a date that does not exist"),
    pytest.param("referred_at", "2026-12-01T09:00", "Cannot be in the future", id="in the future"),
    pytest.param("referred_at", "1 June 2026", "ISO 8601", id="a referral date not ISO"),
    pytest.param("postcode", "EH1", "Not a UK postcode", id="a postcode of the wrong shape"),
    pytest.param("source", "postcard", "Unknown code 'postcard'", id="an unknown source"),
    pytest.param("destination_sector", "charity", "Unknown code", id="an unknown sector"),
    pytest.param("urgency", "asap", "Unknown code 'asap'", id="an unknown urgency"),
    pytest.param("status", "lost", "Unknown code 'lost'", id="an unknown status"),
    pytest.param("lawful_basis", "consnet", "Unknown code 'consnet'", id="an unknown basis"),
    pytest.param("needs", "shopping;gardening", "Unknown need code: gardening", id="a bad need"),
    pytest.param("activities", "juggling", "Unknown need code: juggling", id="a bad activity"),
    pytest.param("needs", "", "Required", id="no needs"),
    pytest.param("organisation", "Nobody Trust", "No organisation called", id="an unknown org"),
    pytest.param("service", "Gardening", "has no service called", id="an unknown service"),
    pytest.param("service", "", "Required for a voluntary referral", id="a voluntary no service"),
    pytest.param("given_name", "", "Required", id="no given name"),
    pytest.param("external_id", "", "Required", id="no external id"),
    pytest.param("closed_at", "2026-06-05", "Only a closed referral", id="closed_at when open"),
    pytest.param("decline_reason", "Full", "Only a declined referral", id="reason when received"),
]


@pytest.mark.parametrize(("column", "value", "message"), BAD_VALUES)
def test_a_bad_value_is_reported_by_row_and_column_and_nothing_is_imported(
    tmp_path, icc, destinations, column, value, message
):
    referrals, patients = Referral.objects.count(), Patient.objects.count()

    errors = refused(csv_file(tmp_path, row(**{column: value})), icc.email)

    assert len(errors) == 1, errors
    assert errors[0].startswith(f"row 2, column {column}: ")
    assert message in errors[0]
    assert (Referral.objects.count(), Patient.objects.count()) == (referrals, patients)


def test_one_bad_row_among_good_ones_imports_nothing(tmp_path, icc, destinations):
    rows = [row(external_id=f"EMIS-{i}") for i in range(5)]
    rows[2]["urgency"] = "whenever"

    errors = refused(csv_file(tmp_path, *rows), icc.email)

    # The header is line 1, so the third data row is line 4.
    assert [error.split(":")[0] for error in errors] == ["row 4, column urgency"]
    assert not Referral.objects.exists() and not Patient.objects.exists()


def test_row_numbers_stay_line_numbers_when_a_quoted_value_spans_lines(tmp_path, icc, destinations):
    declined = row(external_id="A", status="declined", decline_reason='"Full,\nsorry"')
    path = csv_file(tmp_path, declined, row(external_id="B", urgency="whenever"))

    errors = refused(path, icc.email)

    assert [error.split(":")[0] for error in errors] == ["row 4, column urgency"]


def test_every_error_in_the_file_is_reported_in_file_order(tmp_path, icc, destinations):
    errors = refused(
        csv_file(
            tmp_path,
            row(external_id="A", urgency="whenever", nhs_number="123"),
            row(external_id="B"),
            row(external_id="C", postcode="nowhere"),
        ),
        icc.email,
    )

    assert [error.split(":")[0] for error in errors] == [
        "row 2, column nhs_number",
        "row 2, column urgency",
        "row 4, column postcode",
    ]


def test_a_service_of_another_organisation_is_refused(tmp_path, icc, destinations, age_concern):
    ServiceFactory(organisation=age_concern, name="Telephone Befriending")

    errors = refused(csv_file(tmp_path, row(service="Telephone Befriending")), icc.email)

    assert errors == [
        "row 2, column service: Eastern Red Cross Home from Hospital has no service called "
        "'Telephone Befriending'."
    ]


def test_an_organisation_in_another_sector_is_refused(tmp_path, icc, destinations):
    errors = refused(csv_file(tmp_path, row(destination_sector="health", service="")), icc.email)

    assert errors == [
        "row 2, column organisation: Eastern Red Cross Home from Hospital is in the voluntary "
        "sector, not health."
    ]


def test_a_closed_referral_needs_a_closing_date_after_its_referral(tmp_path, icc, destinations):
    errors = refused(
        csv_file(
            tmp_path,
            row(external_id="A", status="closed"),
            row(external_id="B", status="closed", closed_at="2026-05-01"),
        ),
        icc.email,
    )

    assert errors == [
        "row 2, column closed_at: Required for a closed referral.",
        "row 3, column closed_at: Before referred_at.",
    ]


def test_the_same_external_id_twice_in_a_file_is_refused(tmp_path, icc, destinations):
    errors = refused(csv_file(tmp_path, row(), row()), icc.email)

    assert errors == ["row 3, column external_id: Also on row 2; one row per referral."]


def test_one_nhs_number_with_two_dates_of_birth_or_names_in_a_file_is_refused(
    tmp_path, icc, destinations
):
    errors = refused(
        csv_file(
            tmp_path,
            row(external_id="A"),
            row(external_id="B", date_of_birth="1939-05-17"),
            row(external_id="C", given_name="EDNA"),
            row(external_id="D", family_name="Smith"),
        ),
        icc.email,
    )

    assert errors == [
        "row 3, column date_of_birth: Row 2 gives another date of birth for this NHS number.",
        "row 5, column family_name: Row 2 gives another name for this NHS number.",
    ]


def test_a_referral_moved_after_its_first_contact_is_refused(tmp_path, icc, destinations):
    ReferralFactory(
        external_id="EMIS-1001",
        referred_at=datetime.datetime(2026, 5, 1, tzinfo=LONDON),
        first_contact_at=datetime.datetime(2026, 5, 2, tzinfo=LONDON),
    )

    errors = refused(csv_file(tmp_path, row(referred_at="2026-06-01")), icc.email)

    assert errors == [
        "row 2, column referred_at: After the first contact VSO Care records for this referral."
    ]


def test_a_referral_of_another_system_is_never_rewritten(tmp_path, icc, destinations):
    elsewhere = OrganisationFactory(system=SystemFactory(name="Western Health"))
    theirs = ReferralFactory(
        external_id="EMIS-1001", referrer=UserFactory(organisation=elsewhere), urgency="routine"
    )

    errors = refused(csv_file(tmp_path, row()), icc.email)

    assert errors == [
        "row 2, column external_id: Taken by a referral of another integrated care system."
    ]
    theirs.refresh_from_db()
    assert theirs.urgency == "routine"


def test_a_header_missing_columns_is_one_error_naming_them(tmp_path, icc, destinations):
    columns = [c for c in COLUMNS if c not in ("postcode", "urgency")]

    errors = refused(csv_file(tmp_path, row(), columns=columns), icc.email)

    assert errors == ["row 1, column postcode, urgency: Missing from the header."]


def test_the_optional_columns_may_be_left_out(tmp_path, icc, destinations):
    columns = [c for c in COLUMNS if c not in ("closed_at", "decline_reason")]

    run(csv_file(tmp_path, row(), columns=columns), icc)

    assert Referral.objects.count() == 1


def test_a_misspelt_column_is_refused_rather_than_ignored(tmp_path, icc, destinations):
    errors = refused(csv_file(tmp_path, row(), columns=[*COLUMNS, "closed_on"]), icc.email)

    assert errors == ["row 1, column closed_on: Not a column of this import."]


def test_a_row_with_too_few_values_names_the_first_missing_column(tmp_path, icc, destinations):
    path = tmp_path / "short.csv"
    path.write_text(",".join(COLUMNS) + "\nEMIS-1,9990001234\n", encoding="utf-8")

    errors = refused(str(path), icc.email)

    assert errors == [
        f"row 2, column given_name: Missing: the row has 2 values and the header "
        f"{len(COLUMNS)} columns."
    ]


def test_a_byte_order_mark_and_blank_lines_are_allowed(tmp_path, icc, destinations):
    good = ",".join(row().values())
    path = tmp_path / "excel.csv"
    path.write_text("\ufeff" + ",".join(COLUMNS) + "\n\n" + good + "\n", encoding="utf-8")

    run(str(path), icc)

    assert Referral.objects.count() == 1


def test_an_unknown_referrer_is_refused(tmp_path, destinations):
    errors = refused(csv_file(tmp_path, row()), "nobody@example.org")

    assert errors == ["--referrer nobody@example.org: No active user has this email address."]


def test_a_referrer_who_is_not_an_icc_is_refused(tmp_path, commissioner, destinations):
    errors = refused(csv_file(tmp_path, row()), commissioner.email)

    assert errors == [
        f"--referrer {commissioner.email}: Colin Mensah is a Commissioner, not an ICC."
    ]


def test_an_inactive_referrer_is_refused(tmp_path, destinations):
    gone = UserFactory(role=Role.ICC, is_active=False)

    errors = refused(csv_file(tmp_path, row()), gone.email)

    assert errors == [f"--referrer {gone.email}: No active user has this email address."]


def test_a_referral_before_the_patients_birth_is_refused(tmp_path, icc, destinations):
    young = row(date_of_birth="2010-05-01", referred_at="2009-06-01", consent_given_on="2009-06-01")

    errors = refused(csv_file(tmp_path, young), icc.email)

    assert errors == ["row 2, column referred_at: Before the patient's date of birth."]


# Plausible input (#14): every problem named by row and column, nothing written, no traceback.


def test_a_nul_byte_in_a_name_is_named_by_row_column_and_position(tmp_path, icc, destinations):
    errors = refused(csv_file(tmp_path, row(given_name="Ed\x00na")), icc.email)

    assert errors == [
        "row 2, column given_name: Contains a control character (U+0000) at position 3; remove it."
    ]
    assert not Referral.objects.exists() and not Patient.objects.exists()


@pytest.mark.parametrize("column", COLUMNS)
def test_a_control_character_in_any_column_is_refused_there_alone(
    tmp_path, icc, destinations, column
):
    # The escape that starts a terminal's control sequences: it must never reach one.
    value = row()[column] + "\x1b[2J"

    errors = refused(csv_file(tmp_path, row(**{column: value})), icc.email)

    position = len(row()[column]) + 1
    assert errors == [
        f"row 2, column {column}: Contains a control character (U+001B) at position "
        f"{position}; remove it."
    ]
    assert not Referral.objects.exists() and not Patient.objects.exists()


@pytest.mark.parametrize("column", ["decline_reason", "lawful_basis_reason"])
def test_a_tab_in_a_one_line_column_is_refused_but_free_text_may_hold_one(
    tmp_path, icc, destinations, column
):
    free_text = {
        "decline_reason": row(status="declined", decline_reason='"Full:\tno capacity"'),
        "lawful_basis_reason": row(
            lawful_basis="safeguarding",
            lawful_basis_reason='"Adult at risk;\nsee the notes"',
            consent_given_on="",
            consent_method="",
        ),
    }[column]
    run(csv_file(tmp_path, free_text), icc)
    assert "\t" in Referral.objects.get().decline_reason or "\n" in (
        Referral.objects.get().lawful_basis_reason
    )

    errors = refused(
        csv_file(tmp_path, row(external_id="EMIS-2", family_name="Mar\tsh")), icc.email
    )

    assert errors == [
        "row 2, column family_name: Contains a control character (U+0009) at position 4; remove it."
    ]


@pytest.mark.parametrize(("column", "limit"), TEXT_LIMITS.items())
def test_a_value_too_long_for_its_column_is_refused_there_alone(
    tmp_path, icc, destinations, column, limit
):
    errors = refused(csv_file(tmp_path, row(**{column: "x" * (limit + 1)})), icc.email)

    assert errors == [
        f"row 2, column {column}: Too long: {limit + 1:,} characters; the most is {limit:,}."
    ]


def test_the_names_fit_the_database_exactly(tmp_path, icc, destinations):
    run(csv_file(tmp_path, row(given_name="G" * 100, family_name="F" * 100)), icc)

    assert Patient.objects.get().given_name == "G" * 100


@pytest.mark.parametrize("born", ["0001-01-01", "1800-01-01", "1899-12-31"])
def test_a_date_of_birth_before_1900_is_refused(tmp_path, icc, destinations, born):
    errors = refused(csv_file(tmp_path, row(date_of_birth=born)), icc.email)

    assert errors == [
        "row 2, column date_of_birth: Cannot be before 1 January 1900; check the year."
    ]


def test_the_first_and_last_plausible_dates_are_accepted(tmp_path, icc, destinations):
    run(
        csv_file(
            tmp_path,
            row(
                date_of_birth="1900-01-01", referred_at="2000-01-01", consent_given_on="2000-01-01"
            ),
            row(
                external_id="EMIS-2",
                nhs_number=synthetic_nhs_number(101),
                date_of_birth="2026-11-23",
                referred_at="2026-11-23T10:00Z",
                consent_given_on="2026-11-23",
            ),
        ),
        icc,
    )

    assert Referral.objects.count() == 2


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        pytest.param("referred_at", "1999-12-31T23:59", "before 1 January 2000", id="in 1999"),
        pytest.param("referred_at", "0001-01-01T00:00+01:00", "before 1", id="in year 1"),
        pytest.param("referred_at", "9999-12-31T23:59-01:00", "in the future", id="in 9999"),
        pytest.param("referred_at", "2026-11-23T10:01Z", "in the future", id="a minute ahead"),
        pytest.param("referred_at", "2026-11-24", "in the future", id="tomorrow"),
        pytest.param("consent_given_on", "1999-12-31", "before 1 January 2000", id="consent 1999"),
        pytest.param("consent_given_on", "2026-11-24", "in the future", id="consent tomorrow"),
    ],
)
def test_a_referral_or_consent_date_before_2000_or_in_the_future_is_refused(
    tmp_path, icc, destinations, column, value, message
):
    errors = refused(csv_file(tmp_path, row(**{column: value})), icc.email)

    assert len(errors) == 1, errors
    assert errors[0].startswith(f"row 2, column {column}: Cannot be {message}")


def test_a_closing_date_in_the_future_is_refused(tmp_path, icc, destinations):
    closed = row(status="closed", closed_at="2026-11-24T09:00")

    errors = refused(csv_file(tmp_path, closed), icc.email)

    assert errors == ["row 2, column closed_at: Cannot be in the future."]


def test_a_header_name_with_a_control_character_is_printed_escaped(tmp_path, icc, destinations):
    errors = refused(csv_file(tmp_path, row(), columns=[*COLUMNS, "x\x1b[0m"]), icc.email)

    assert errors == ["row 1, column 'x\\x1b[0m': Not a column of this import."]


def test_a_file_over_the_row_limit_is_refused_at_the_first_row_past_it(
    tmp_path, icc, destinations, monkeypatch
):
    monkeypatch.setattr("referrals.importing.reading.MAX_ROWS", 2)
    rows = [row(external_id=f"EMIS-{i}") for i in range(3)]

    errors = refused(csv_file(tmp_path, *rows), icc.email)

    assert errors == [
        "row 4, column -: More than 2 rows, the most one import takes; split the file."
    ]


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(
    tmp_path, icc, destinations, monkeypatch
):
    monkeypatch.setattr("referrals.management.commands.import_referrals.MAX_FILE_BYTES", 100)
    path = csv_file(tmp_path, row())

    with pytest.raises(CommandError) as refusal:
        call_command("import_referrals", path, "--referrer", icc.email, stdout=StringIO())

    assert str(refusal.value) == (
        f"Nothing was imported from {path}: The file is larger than 100 bytes, the most one "
        "import takes; split it into smaller files."
    )
    assert not Referral.objects.exists()


def test_a_referral_moved_to_after_its_wait_was_escalated_is_refused(tmp_path, icc, destinations):
    ReferralFactory(
        external_id="EMIS-1001",
        referred_at=datetime.datetime(2026, 5, 1, tzinfo=LONDON),
        wait_escalated_at=datetime.datetime(2026, 5, 20, tzinfo=LONDON),
    )

    errors = refused(csv_file(tmp_path, row(referred_at="2026-06-01")), icc.email)

    assert errors == [
        "row 2, column referred_at: Not before the escalation of the wait VSO Care records for "
        "this referral."
    ]


def _history(*paths: str, referrer) -> dict[str, list[dict]]:
    """Every history event the imports of `paths` write, in order, with what differs from one
    run to the next (ids, context ids) replaced by what they stand for; then rolled back."""
    with transaction.atomic():
        for path in paths:
            run(path, referrer)
        numbers = dict(Patient.objects.values_list("pk", "nhs_number"))
        contexts = {
            context.pk: context.metadata for context in pghistory.models.Context.objects.all()
        }
        found = {}
        for model in (Patient, Referral):
            events = []
            for event in model.pgh_event_model.objects.order_by("pgh_id").values():
                assert event.pop("pgh_obj_id") == event.pop("id")
                del event["pgh_id"]
                event["pgh_context_id"] = contexts[event["pgh_context_id"]]
                if "patient_id" in event:
                    event["patient_id"] = numbers[event["patient_id"]]
                events.append(event)
            found[model.__name__] = events
        transaction.set_rollback(True)
    return found


def test_the_import_records_history_exactly_as_the_triggers_would(
    tmp_path, icc, destinations, monkeypatch
):
    """The import writes its own history events, one statement for all its rows; they must be
    the rows django-pghistory's triggers write, column for column."""
    paths = []
    for name, urgency in (("first", "soon"), ("changed", "urgent")):
        (tmp_path / name).mkdir()
        other = row(
            external_id="EMIS-1002",
            nhs_number=synthetic_nhs_number(101),
            given_name="Albert",
            status="declined",
            urgency=urgency,
        )
        paths.append(csv_file(tmp_path / name, row(urgency=urgency), other))
    # The changed file twice: the second changes nothing, so records nothing either way.
    paths.append(paths[-1])

    set_based = _history(*paths, referrer=icc)
    with monkeypatch.context() as by_trigger:
        # The import as it was: the triggers left on, each statement without its events.
        by_trigger.setattr(writing, "_set_history_triggers_aside", lambda cursor: "{}")
        by_trigger.setattr(writing, "_with_history", lambda statement, **kwargs: statement)
        recorded_by_triggers = _history(*paths, referrer=icc)

    assert set_based == recorded_by_triggers
    assert [event["pgh_label"] for event in set_based["Referral"]] == [
        "insert",
        "insert",
        "update",
        "update",
    ]
    assert [event["pgh_label"] for event in set_based["Patient"]] == ["insert", "insert"]
    assert set_based["Referral"][2]["pgh_context_id"] == {
        "user": icc.pk,
        "command": "import_referrals",
        "file": "referrals.csv",
    }


def test_changes_after_an_import_in_its_transaction_are_recorded_by_the_triggers(
    tmp_path, icc, destinations
):
    run(csv_file(tmp_path, row()), icc)
    referral = Referral.objects.get()

    # The test's own transaction is still the import's.
    Referral.objects.filter(pk=referral.pk).update(urgency="urgent")
    PatientFactory()

    assert [event.pgh_label for event in referral.events.order_by("pgh_id")] == [
        "insert",
        "update",
    ]
    assert Patient.pgh_event_model.objects.count() == 2


class Terminal(StringIO):
    def isatty(self) -> bool:
        return True


PROGRESS = re.compile(r"checked (\d+) rows, written (\d+), [\d,]+ rows/s")


def test_the_progress_line_is_printed_on_stderr_when_asked(tmp_path, icc, destinations):
    rows = [row(external_id=f"EMIS-{i}") for i in range(3)]
    err = StringIO()

    call_command(
        "import_referrals",
        csv_file(tmp_path, *rows),
        "--referrer",
        icc.email,
        "--progress",
        stdout=StringIO(),
        stderr=err,
    )

    said = err.getvalue().splitlines()
    assert [PROGRESS.fullmatch(line).groups() for line in said] == [("3", "0"), ("3", "3")]


def test_the_progress_line_is_rewritten_in_place_on_a_terminal(tmp_path, icc, destinations):
    err = Terminal()

    call_command(
        "import_referrals",
        csv_file(tmp_path, row()),
        "--referrer",
        icc.email,
        stdout=StringIO(),
        stderr=err,
    )

    said = err.getvalue()
    assert said.startswith("\rchecked 1 row, written 0, ")
    assert said.endswith(" rows/s\x1b[K\n")
    assert said.count("\r") == 2


@pytest.mark.parametrize("stderr", [StringIO, Terminal], ids=["not a terminal", "a terminal"])
def test_no_progress_line_unless_on_a_terminal_or_asked_and_never_with_quiet(
    tmp_path, icc, destinations, stderr
):
    path = csv_file(tmp_path, row())
    for options in ([], ["--quiet"]) if stderr is StringIO else (["--no-progress"], ["--quiet"]):
        err = stderr()
        call_command(
            "import_referrals",
            path,
            "--referrer",
            icc.email,
            *options,
            stdout=StringIO(),
            stderr=err,
        )
        assert err.getvalue() == ""


def test_the_progress_line_is_said_at_most_every_two_seconds():
    said: list[str] = []
    clock = iter([0.0, 1.0, 2.5, 3.0, 3.5])
    line = ProgressLine(said.append, in_place=False, clock=lambda: next(clock))

    line.checked(1000)  # 1 s
    line.checked(3000)  # 2.5 s: said
    line.checked(4000)  # 3 s
    line.written(4000)  # 3.5 s: said

    assert said == [
        "checked 3,000 rows, written 0, 1,200 rows/s\n",
        "checked 4,000 rows, written 4,000, 1,143 rows/s\n",
    ]


def test_a_file_that_stops_being_utf8_is_refused_naming_the_line(tmp_path, icc, destinations):
    rows = [row(external_id=f"EMIS-{i}") for i in range(3)]
    path = Path(csv_file(tmp_path, *rows))
    data = path.read_bytes().splitlines(keepends=True)
    data[3] = data[3].replace(b"Marsh", b"Ma\xffrsh")
    path.write_bytes(b"".join(data))

    with pytest.raises(CommandError) as refusal:
        call_command("import_referrals", path, "--referrer", icc.email, stdout=StringIO())

    assert str(refusal.value) == f"{path} is not a UTF-8 file (line 4): invalid start byte."
    assert not Referral.objects.exists()
