"""`manage.py import_costs`: patients' costs from the finance team, all or nothing (#13)."""

import csv
import io
import re
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.nhs import synthetic_nhs_number
from referrals.models import PatientCost, ReferralStatus
from referrals.services_costs import AMOUNT_COLUMNS, COLUMNS, CostImportError, costs_import
from tests.factories import (
    EpisodeFactory,
    PatientCostFactory,
    PatientFactory,
    ReferralFactory,
    ServiceFactory,
)

pytestmark = pytest.mark.django_db

# Patients 7000 onwards are cared for in Eastern Health; 7100 onwards in Western Health.
EASTERN, WESTERN = 7000, 7100


def number(index: int) -> str:
    return synthetic_nhs_number(index)


def cared_for(index: int, service):
    """A patient with an episode of wellbeing co-ordination on a referral to the service."""
    patient = PatientFactory(nhs_number=number(index))
    EpisodeFactory(
        referral=ReferralFactory(patient=patient, service=service, status=ReferralStatus.ACCEPTED)
    )
    return patient


@pytest.fixture
def eastern_patients(home_from_hospital):
    return [cared_for(EASTERN + i, home_from_hospital) for i in range(3)]


@pytest.fixture
def western_patient(western_people, western):
    charity = western_people["vso_lead"].organisation
    return cared_for(WESTERN, ServiceFactory(organisation=charity, name="Westbay Wellbeing"))


def row(index: int = EASTERN, before: str = "3467.00", after: str = "8196.00") -> dict:
    return {"nhs_number": number(index), "cost_12m_before": before, "cost_12m_after": after}


def csv_file(tmp_path, *rows: dict, columns=COLUMNS) -> str:
    lines = [",".join(columns)]
    lines += [",".join(str(values.get(column, "")) for column in columns) for values in rows]
    path = tmp_path / "costs.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def run(path: str, *args: str) -> str:
    out = StringIO()
    call_command("import_costs", path, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def refused(path: str, *args: str) -> list[str]:
    """The error lines printed for a file that must import nothing."""
    err = StringIO()
    with pytest.raises(CommandError, match="Nothing was imported") as refusal:
        call_command("import_costs", path, *args, stdout=StringIO(), stderr=err)
    # manage.py exits with a CommandError's returncode.
    assert refusal.value.returncode == 1
    return err.getvalue().splitlines()


def held() -> list[tuple]:
    return list(
        PatientCost.objects.order_by("pk").values_list(
            "system_id", "patient_id", "cost_12m_before", "cost_12m_after", "updated_at"
        )
    )


def test_a_good_file_adds_each_patients_costs_to_the_system(tmp_path, system, eastern_patients):
    first, second, third = eastern_patients
    path = csv_file(
        tmp_path,
        row(EASTERN),
        row(EASTERN + 1, before="0", after="12.5"),
        row(EASTERN + 2, before="28600", after="11340.99"),
    )

    output = run(path)

    assert output == (
        f"Imported 3 row(s) from {path} for Eastern Health: costs of 3 patient(s) added, "
        "0 replaced, 0 unchanged.\n"
    )
    costs = {cost.patient: cost for cost in PatientCost.objects.all()}
    assert (costs[first].cost_12m_before, costs[first].cost_12m_after) == (
        Decimal("3467.00"),
        Decimal("8196.00"),
    )
    assert costs[second].cost_12m_before == Decimal("0.00")
    assert costs[second].cost_12m_after == Decimal("12.50")
    assert costs[third].cost_12m_after == Decimal("11340.99")
    assert {cost.system for cost in costs.values()} == {system}
    assert all(cost.created_by is None for cost in costs.values())


def test_a_known_patients_costs_are_replaced_and_the_summary_says_so(
    tmp_path, system, eastern_patients
):
    first, second, _ = eastern_patients
    PatientCostFactory(system=system, patient=first, cost_12m_before=Decimal("1.00"))
    PatientCostFactory(
        system=system,
        patient=second,
        cost_12m_before=Decimal("3467.00"),
        cost_12m_after=Decimal("8196.00"),
    )
    untouched = PatientCost.objects.get(patient=second).updated_at

    output = run(csv_file(tmp_path, row(EASTERN), row(EASTERN + 1), row(EASTERN + 2)))

    assert "costs of 1 patient(s) added, 1 replaced, 1 unchanged." in output
    assert PatientCost.objects.count() == 3
    assert PatientCost.objects.get(patient=first).cost_12m_before == Decimal("3467.00")
    # A row that matches the one held is not written, so it records no history either.
    assert PatientCost.objects.get(patient=second).updated_at == untouched


def test_the_import_is_recorded_in_history_with_the_command_and_the_file(
    tmp_path, eastern_patients
):
    run(csv_file(tmp_path, row(EASTERN)))

    event = PatientCost.objects.get().events.get()
    assert event.pgh_label == "insert"
    assert event.pgh_context.metadata["command"] == "import_costs"
    assert event.pgh_context.metadata["file"] == "costs.csv"


def test_an_nhs_number_may_be_written_in_groups_and_a_byte_order_mark_and_blank_lines_pass(
    tmp_path, eastern_patients
):
    grouped = f"{number(EASTERN)[:3]} {number(EASTERN)[3:6]} {number(EASTERN)[6:]}"
    path = tmp_path / "excel.csv"
    path.write_text(
        "\ufeffNHS_Number,Cost_12m_Before,cost_12m_after\n\n" + f"{grouped},10.00,20.00\n\n",
        encoding="utf-8",
    )

    run(str(path))

    assert PatientCost.objects.get().patient == eastern_patients[0]


BAD_VALUES = [
    pytest.param("nhs_number", number(EASTERN)[:9] + "9", "modulus 11", id="check digit wrong"),
    pytest.param("nhs_number", "99900000", "Not a valid NHS number", id="NHS number too short"),
    pytest.param("nhs_number", "", "Required.", id="no NHS number"),
    pytest.param("cost_12m_before", "-5.00", "Cannot be below zero.", id="negative"),
    pytest.param("cost_12m_after", "-0.01", "Cannot be below zero.", id="a penny below zero"),
    pytest.param("cost_12m_before", "10.001", "More than 2 decimal places", id="three decimals"),
    pytest.param("cost_12m_after", "NaN", "Not an amount in pounds", id="NaN"),
    pytest.param("cost_12m_after", "Infinity", "Not an amount in pounds", id="Infinity"),
    pytest.param("cost_12m_before", "-Infinity", "Not an amount in pounds", id="-Infinity"),
    pytest.param("cost_12m_before", "1e400", "Not an amount in pounds", id="an exponent"),
    pytest.param("cost_12m_before", "£3467.00", "no £ sign or commas", id="a pound sign"),
    pytest.param("cost_12m_before", '"3,467.00"', "no £ sign or commas", id="a comma"),
    pytest.param("cost_12m_after", "100000000.00", "less than £100,000,000", id="too large"),
    pytest.param("cost_12m_after", "9" * 21, "Too long: 21 characters", id="huge"),
    pytest.param("cost_12m_after", "", "Required.", id="no cost after"),
    pytest.param("cost_12m_before", "12\x1b[2J", "control character (U+001B)", id="an escape"),
    pytest.param("nhs_number", "999\x000000018", "control character (U+0000)", id="a NUL"),
]


@pytest.mark.parametrize(("column", "value", "message"), BAD_VALUES)
def test_a_bad_value_is_refused_by_row_and_column_and_nothing_is_saved(
    tmp_path, system, eastern_patients, column, value, message
):
    PatientCostFactory(system=system, patient=eastern_patients[1])
    before = held()
    bad = row(EASTERN) | {column: value}

    errors = refused(csv_file(tmp_path, bad, row(EASTERN + 1, before="1.00")))

    assert len(errors) == 1, errors
    assert errors[0].startswith(f"row 2, column {column}: ")
    assert message in errors[0]
    assert held() == before


def test_no_message_carries_an_nhs_number(tmp_path, eastern_patients):
    mistyped = number(EASTERN)[:9] + "9"
    unknown = number(EASTERN + 50)
    path = csv_file(
        tmp_path,
        row(EASTERN) | {"nhs_number": mistyped},
        row(EASTERN + 50),
        row(EASTERN + 1),
        row(EASTERN + 1, before="-1"),
    )
    err = StringIO()
    with pytest.raises(CommandError) as refusal:
        call_command("import_costs", path, stdout=StringIO(), stderr=err)

    printed = err.getvalue() + str(refusal.value)
    for nhs_number in (mistyped, unknown, number(EASTERN + 1)):
        assert nhs_number not in printed
        assert nhs_number[:3] + " " + nhs_number[3:6] not in printed


def test_a_patient_vso_care_does_not_hold_is_refused(tmp_path, eastern_patients):
    errors = refused(csv_file(tmp_path, row(EASTERN), row(EASTERN + 50)))

    assert errors == ["row 3, column nhs_number: VSO Care holds no patient with this NHS number."]
    assert not PatientCost.objects.exists()


def test_a_patient_without_an_episode_in_the_system_is_refused_there_and_taken_in_theirs(
    tmp_path, eastern_patients, western_patient, western
):
    # Referred in Eastern Health, but never given an episode: no outcome to set a cost beside.
    PatientFactory(nhs_number=number(EASTERN + 10))
    path = csv_file(tmp_path, row(WESTERN), row(EASTERN + 10))

    errors = refused(path, "--system", "Eastern Health")

    assert errors == [
        "row 2, column nhs_number: This patient has no episode of wellbeing co-ordination in "
        "Eastern Health.",
        "row 3, column nhs_number: This patient has no episode of wellbeing co-ordination in "
        "Eastern Health.",
    ]

    run(csv_file(tmp_path, row(WESTERN)), "--system", "western health")

    assert PatientCost.objects.get().system == western


def test_each_systems_costs_are_its_own(tmp_path, eastern_patients, western_people):
    # One patient cared for in both systems: each system's finance team supplies its own costs.
    both = eastern_patients[0]
    westbay = ServiceFactory(organisation=western_people["vso_lead"].organisation)
    EpisodeFactory(
        referral=ReferralFactory(patient=both, service=westbay, status=ReferralStatus.ACCEPTED)
    )
    run(csv_file(tmp_path, row(EASTERN, before="1.00")), "--system", "Eastern Health")

    output = run(csv_file(tmp_path, row(EASTERN, before="2.00")), "--system", "Western Health")

    assert "1 patient(s) added, 0 replaced" in output
    assert sorted(PatientCost.objects.values_list("system__name", "cost_12m_before")) == [
        ("Eastern Health", Decimal("1.00")),
        ("Western Health", Decimal("2.00")),
    ]


def test_the_same_patient_twice_in_a_file_is_refused_whichever_way_the_number_is_written(
    tmp_path, eastern_patients
):
    grouped = f"{number(EASTERN)[:3]}-{number(EASTERN)[3:6]}-{number(EASTERN)[6:]}"

    errors = refused(
        csv_file(tmp_path, row(EASTERN), row(EASTERN + 1), row(EASTERN) | {"nhs_number": grouped})
    )

    assert errors == ["row 4, column nhs_number: Also on row 2; one row per patient."]
    assert not PatientCost.objects.exists()


def test_every_error_is_reported_in_file_order(tmp_path, eastern_patients):
    errors = refused(
        csv_file(
            tmp_path,
            row(EASTERN, before="x", after="-1"),
            row(EASTERN + 1),
            row(EASTERN + 2) | {"nhs_number": "123"},
        )
    )

    assert [error.split(":")[0] for error in errors] == [
        "row 2, column cost_12m_before",
        "row 2, column cost_12m_after",
        "row 4, column nhs_number",
    ]


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        pytest.param(
            ("nhs_number", "cost_12m_before"),
            "row 1, column cost_12m_after: Missing from the header.",
            id="missing",
        ),
        pytest.param(
            (*COLUMNS, "name"),
            "row 1, column name: Not a column of this import; the columns are nhs_number, "
            "cost_12m_before, cost_12m_after.",
            id="unknown",
        ),
        pytest.param(
            (*COLUMNS, "NHS_number"),
            "row 1, column nhs_number: In the header more than once.",
            id="twice",
        ),
        pytest.param(
            (*COLUMNS, "x\x1b[0m"),
            "row 1, column 'x\\x1b[0m': Not a column of this import; the columns are "
            "nhs_number, cost_12m_before, cost_12m_after.",
            id="escaped",
        ),
    ],
)
def test_a_bad_header_is_refused(tmp_path, eastern_patients, columns, message):
    assert refused(csv_file(tmp_path, row(), columns=columns)) == [message]


def test_an_empty_file_is_refused(tmp_path, eastern_patients):
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")

    assert refused(str(path)) == ["row 1, column -: The file is empty; it needs a header row."]


def test_a_row_with_too_few_or_too_many_values_is_refused(tmp_path, eastern_patients):
    path = tmp_path / "ragged.csv"
    path.write_text(
        f"{','.join(COLUMNS)}\n{number(EASTERN)},1.00\n{number(EASTERN + 1)},1.00,2.00,3.00\n",
        encoding="utf-8",
    )

    assert refused(str(path)) == [
        "row 2, column cost_12m_after: Missing: the row has 2 values and the header 3 columns.",
        "row 3, column 4: A value past the last of the header's 3 columns; is a comma inside a "
        "value not quoted?",
    ]


def test_a_file_that_is_not_utf8_is_refused(tmp_path, eastern_patients):
    path = tmp_path / "latin1.csv"
    path.write_bytes(f"{','.join(COLUMNS)}\n{number(EASTERN)},£1,2\n".encode("latin-1"))

    with pytest.raises(CommandError, match="is not a UTF-8 file"):
        run(str(path))
    assert not PatientCost.objects.exists()


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(
    tmp_path, eastern_patients, monkeypatch
):
    monkeypatch.setattr("referrals.management.commands.import_costs.MAX_FILE_BYTES", 50)
    path = csv_file(tmp_path, row(EASTERN))

    with pytest.raises(CommandError) as refusal:
        run(path)

    assert str(refusal.value) == (
        f"Nothing was imported from {path}: The file is larger than 50 bytes, the most one "
        "import takes; split it into smaller files."
    )


def test_a_file_over_the_row_limit_is_refused_at_the_first_row_past_it(
    tmp_path, eastern_patients, monkeypatch
):
    monkeypatch.setattr("referrals.services_costs.MAX_ROWS", 2)

    errors = refused(csv_file(tmp_path, *(row(EASTERN + i) for i in range(3))))

    assert errors == [
        "row 4, column -: More than 2 rows, the most one import takes; split the file."
    ]


def test_with_several_systems_the_system_must_be_named(tmp_path, eastern_patients, western):
    path = csv_file(tmp_path, row(EASTERN))

    assert refused(path) == ["--system: There are several systems; name one with --system."]
    assert refused(path, "--system", "Northern") == [
        "--system 'Northern': No system called that. Systems: Eastern Health, Western Health."
    ]
    assert not PatientCost.objects.exists()


def test_with_no_system_nothing_can_be_imported(tmp_path):
    assert refused(csv_file(tmp_path, row(EASTERN))) == ["--system: There is no system yet."]


def test_the_import_takes_the_same_few_queries_for_three_rows_or_thirty(
    tmp_path, home_from_hospital
):
    for index in range(30):
        cared_for(EASTERN + index, home_from_hospital)

    def queries_for(indexes: range) -> int:
        with CaptureQueriesContext(connection) as queries:
            run(csv_file(tmp_path, *(row(EASTERN + i) for i in indexes)))
        return len(queries)

    assert queries_for(range(3)) == queries_for(range(3, 30))
    assert PatientCost.objects.count() == 30


def test_the_service_refuses_with_every_error_named_by_row_and_column(system, eastern_patients):
    lines = io.StringIO(f"{','.join(COLUMNS)}\n{number(EASTERN)},1.005,2\n", newline="")

    with pytest.raises(CostImportError) as refusal:
        costs_import(lines=lines, system=system)

    assert refusal.value.errors == [
        "row 2, column cost_12m_before: More than 2 decimal places; write pounds and pence, "
        "such as 3467.00."
    ]


def test_another_systems_import_never_touches_this_ones_costs(
    tmp_path, system, eastern_patients, western_patient, western
):
    PatientCostFactory(system=system, patient=eastern_patients[0])
    before = held()

    run(csv_file(tmp_path, row(WESTERN)), "--system", "Western Health")

    assert held()[: len(before)] == before
    assert PatientCost.objects.filter(system=western).count() == 1


# --- Bad rows, as a property -----------------------------------------------------------------

# Each error names where it is: a row and a column.
NAMED = re.compile(r"row \d+, column [^:]+: \S")
CONTROLS = ["\x00", "\x1b", "\x7f", "\x85", "\x9f", "\t", "\n", "\r"]
PENCE = st.decimals(min_value=0, max_value=Decimal("99999999.99"), places=2)


def amount_text(amount: Decimal) -> str:
    return f"{amount:.2f}"


def with_a_control(good: str) -> st.SearchStrategy[str]:
    """The good value with a control character inside it, where stripping cannot take it off."""
    return st.tuples(st.sampled_from(CONTROLS), st.integers(1, len(good) - 1)).map(
        lambda drawn: good[: drawn[1]] + drawn[0] + good[drawn[1] :]
    )


def wrong_check_digit(index: int) -> str:
    good = number(index)
    return good[:9] + str((int(good[9]) + 1) % 10)


# Drawn evenly by kind, so that no kind of bad amount is left untried.
BAD_AMOUNTS = st.sampled_from(
    [
        st.decimals(max_value=Decimal("-0.01"), places=2, allow_nan=False, allow_infinity=False)
        .filter(lambda amount: amount > -(10**15))
        .map(amount_text),
        st.tuples(PENCE, st.integers(1, 9), st.integers(1, 4)).map(
            # Three or more decimal places, the last of them not 0.
            lambda drawn: f"{drawn[0]:.2f}{'0' * (drawn[2] - 1)}{drawn[1]}"
        ),
        st.sampled_from(
            ["NaN", "nan", "Infinity", "-Infinity", "inf", "1e400", "1E5", "£12", "1,234"]
        ),
        st.integers(10**8, 10**19).map(str),
        st.text(st.characters(max_codepoint=0xFF), max_size=12).filter(
            lambda text: not re.fullmatch(r"-?\d+(\.\d+)?", text.strip(), re.ASCII)
        ),
        PENCE.map(amount_text).flatmap(with_a_control),
        st.just(""),
    ]
).flatmap(lambda kind: kind)


BAD_KINDS = ("number", "unknown", "amount")
LINE_BREAK = re.compile(r"\r\n|\r|\n")
REPEATED = ("duplicate", "first")


@st.composite
def a_file_with_bad_rows(draw: st.DrawFn) -> tuple[list[dict[str, str]], set[int]]:
    """Good rows for the patients 0-3 of eastern_patients, and at least one bad row; with the
    lines (the header is line 1) that the errors must name."""
    goods = [
        (
            {
                "nhs_number": number(EASTERN + index),
                "cost_12m_before": amount_text(draw(PENCE)),
                "cost_12m_after": amount_text(draw(PENCE)),
            },
            None,
        )
        for index in draw(st.sets(st.integers(0, 3), max_size=4))
    ]
    bads = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["number", "unknown", "amount", "duplicate"]))
        values = {
            "nhs_number": number(EASTERN + 4),
            "cost_12m_before": amount_text(draw(PENCE)),
            "cost_12m_after": amount_text(draw(PENCE)),
        }
        if kind == "number":
            values["nhs_number"] = draw(
                st.one_of(
                    st.integers(0, 5).map(lambda i: wrong_check_digit(EASTERN + i)),
                    st.text(max_size=14).filter(lambda text: not text.strip().isdigit()),
                    with_a_control(number(EASTERN)),
                )
            )
        elif kind == "unknown":
            values["nhs_number"] = number(draw(st.integers(EASTERN + 50, EASTERN + 90)))
        elif kind == "amount":
            values[draw(st.sampled_from(AMOUNT_COLUMNS))] = draw(BAD_AMOUNTS)
        else:
            # The patient of row 4 of eastern_patients (never among the good rows) twice.
            values["nhs_number"] = number(EASTERN + 5)
            bads.append((dict(values), "first"))
        bads.append((values, kind))
    ordered = draw(st.permutations(goods + bads))
    # A row's number is the line it starts on, and a quoted value may break lines.
    starts, line = [], 2
    for values, _ in ordered:
        starts.append(line)
        line += 1 + sum(len(LINE_BREAK.findall(value)) for value in values.values())
    lines = {at for at, (_, kind) in zip(starts, ordered, strict=True) if kind in BAD_KINDS}
    # The rows with the one number twice or more: each after the first is refused.
    repeated = [at for at, (_, kind) in zip(starts, ordered, strict=True) if kind in REPEATED]
    return [values for values, _ in ordered], lines | set(repeated[1:])


def as_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for values in rows:
        writer.writerow([values[column] for column in COLUMNS])
    return out.getvalue()


@pytest.fixture
def six_cared_for(home_from_hospital):
    return [cared_for(EASTERN + i, home_from_hospital) for i in range(6)]


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(drawn=a_file_with_bad_rows())
def test_a_file_with_any_bad_row_is_refused_naming_it_and_nothing_is_saved(
    system, six_cared_for, drawn
):
    rows, bad_lines = drawn
    with transaction.atomic():
        # A cost already held for one of the good rows' patients, so that replacing is tried.
        PatientCostFactory(system=system, patient=six_cared_for[0])
        before = held()

        with pytest.raises(CostImportError) as refusal:
            costs_import(lines=io.StringIO(as_csv(rows), newline=""), system=system)

        for message in refusal.value.errors:
            assert NAMED.match(message), message
            assert not any(n in message for n in (number(EASTERN + i) for i in range(6)))
        named = {int(re.match(r"row (\d+)", message)[1]) for message in refusal.value.errors}
        assert bad_lines <= named
        assert held() == before
        transaction.set_rollback(True)  # each drawn file starts from the same database
