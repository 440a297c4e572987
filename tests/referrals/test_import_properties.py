"""The referral import under bad input, as a property (#14 points 2 and 3): whatever a file's
cells hold (control characters, very long or odd text, dates far in and out of range, numbers
where text goes), the import either imports the file or refuses it with ReferralImportError,
every line of which names a row and a column, and a refused file changes nothing.

Hypothesis spoils a few cells of otherwise good rows, so that both ends are reached: files that
import, and files refused for one cell. The profile is bounded so the suite stays fast; raise
max_examples locally to search harder.
"""

import csv
import datetime
import io
import re

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from core.nhs import synthetic_nhs_number
from referrals.importing.columns import COLUMNS, ReferralImportError
from referrals.importing.run import referrals_import
from referrals.models import Consent, Patient, Referral
from tests.referrals.test_import_referrals import row

pytestmark = pytest.mark.django_db

NOW = "2026-11-23 10:00 +0000"
OFFSETS = [
    None,
    datetime.UTC,
    datetime.timezone(datetime.timedelta(hours=14)),
    datetime.timezone(-datetime.timedelta(hours=23, minutes=59)),
]
DATE_COLUMNS = ("date_of_birth", "referred_at", "closed_at", "consent_given_on")
# Each error names where it is: a row and a column, or the referrer.
NAMED = re.compile(r"(row \d+, column [^:]+|--referrer [^:]*): \S")
# Lengths about the database's columns and the import's limits.
EDGES = [8, 10, 12, 16, 20, 40, 50, 100, 200, 2000]
CONTROLS = ["\x00", "\x1b", "\x7f", "\x85", "\x9f", "\t", "\n", "\r", "\x0b", "\x1f"]


def with_a_control(good: str) -> st.SearchStrategy[str]:
    """The good value with one control character put somewhere in it: a row that is otherwise
    good, so that nothing but the character stops it reaching the database."""
    return st.tuples(st.sampled_from(CONTROLS), st.integers(0, len(good))).map(
        lambda drawn: good[: drawn[1]] + drawn[0] + good[drawn[1] :]
    )


def bad_value(column: str) -> st.SearchStrategy[str]:
    values = [
        with_a_control(row()[column] or "x"),
        st.text(max_size=40),
        # Mostly C0 and C1 controls, DEL and Latin-1.
        st.text(st.characters(max_codepoint=0xFF), min_size=1, max_size=12),
        st.sampled_from(EDGES).flatmap(lambda n: st.integers(n - 1, n + 2)).map(lambda n: "é" * n),
        st.integers().map(str),
        st.floats().map(str),
        st.sampled_from(["NaN", "-Infinity", "1e400", "true", "null", "None", "ß", "İ", "\u202e"]),
    ]
    if column in DATE_COLUMNS:
        values += [
            st.dates().map(datetime.date.isoformat),
            st.datetimes(timezones=st.sampled_from(OFFSETS)).map(datetime.datetime.isoformat),
        ]
    return st.one_of(values)


@st.composite
def rows(draw: st.DrawFn) -> list[dict[str, str]]:
    drawn = []
    for index in range(draw(st.integers(min_value=1, max_value=3))):
        values = row(external_id=f"EMIS-{index}", nhs_number=synthetic_nhs_number(200 + index))
        for column in draw(st.sets(st.sampled_from(COLUMNS), max_size=3)):
            values[column] = draw(bad_value(column))
        drawn.append(values)
    return drawn


def as_csv(drawn: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for values in drawn:
        writer.writerow([values[column] for column in COLUMNS])
    return out.getvalue()


def database_state() -> tuple[list[tuple], list[tuple], int]:
    return (
        list(Referral.objects.order_by("pk").values_list("pk", "version", "updated_at")),
        list(Patient.objects.order_by("pk").values_list("pk", "updated_at")),
        Consent.objects.count(),
    )


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(drawn=rows())
def test_any_file_is_imported_or_refused_by_row_and_column_leaving_the_database_as_it_was(
    icc, home_from_hospital, drawn
):
    with time_machine.travel(NOW, tick=False), transaction.atomic():
        # One referral already held, so that updates are tried too.
        referrals_import(lines=io.StringIO(as_csv([row()]), newline=""), referrer=icc)
        before = database_state()
        try:
            result = referrals_import(lines=io.StringIO(as_csv(drawn), newline=""), referrer=icc)
        except ReferralImportError as refused:
            event("refused")
            assert refused.errors
            for line in refused.errors:
                assert NAMED.match(line), line
            assert database_state() == before
        else:
            event("imported")
            assert result.rows == len(drawn)
            external_ids = {values["external_id"].strip() for values in drawn}
            assert Referral.objects.filter(external_id__in=external_ids).count() == len(
                external_ids
            )
        transaction.set_rollback(True)  # each drawn file starts from the same database
