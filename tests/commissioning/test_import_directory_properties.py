"""The directory import under bad input, as a property (#14 points 2 and 3): whatever a file's
records hold (any JSON value in any field, NaN and infinities, huge numbers, control characters,
lone surrogates, long text), the import either imports them or refuses them with
DirectoryImportError, every line of which names the file or a record and a field, and a refused
file changes nothing.

Records are good ones with a few fields replaced, so that files that import are drawn as well as
files refused. Both ways in are tried: the records as Python values, and as the text of a file.
The profile is bounded so the suite stays fast.
"""

import json
import re
import uuid

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from commissioning.hsds.importing import directory_import
from commissioning.hsds.reading import (
    DirectoryImportError,
    document_from_json,
    records_from_document,
)
from commissioning.models import Organisation, Service
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db

GOOD_NEIGHBOURS = "5b7c1e1a-6f0e-4a55-9d3c-2f1f6f0c9a01"
# Fields a good record leaves out, which a drawn one may give.
OPTIONAL_FIELDS = ["description", "eligibility_description", "url", "email", "assured_date"]
# "file: …" or "record N (id …, name …): field: …"
NAMED = re.compile(r"(file: |record \d+ \(id .*, name .*\): [\w.\[\]]+: )\S")

CONTROLS = ["\x00", "\x1b", "\x7f", "\x85", "\t", "\n", "\ud800"]
odd_text = st.one_of(
    st.tuples(st.sampled_from(CONTROLS), st.sampled_from(["Lifts", "Northbridge", ""])).map(
        lambda drawn: drawn[1][:2] + drawn[0] + drawn[1][2:]
    ),
    st.text(max_size=20),
    st.text(st.characters(max_codepoint=0xFF), min_size=1, max_size=8),
    st.sampled_from(["\ud800", "a\udfffb", "\u202e", "Northbridge", "shopping", "active"]),
    st.integers(min_value=195, max_value=260).map(lambda n: "é" * n),
    st.just("x" * 10_001),
)
json_values = st.recursive(
    st.one_of(
        st.sampled_from([None, True, 0, -1, 12.5, 10**30, float("nan"), float("inf"), [], {}]),
        st.integers(),
        st.floats(),  # NaN and the infinities included
        odd_text,
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(["name", "number", "code", "id", "x"]), children),
    ),
    max_leaves=8,
)


def good_record(index: int) -> dict:
    return {
        "id": str(uuid.UUID(int=index + 1)),
        "name": f"Service {index}",
        "status": "active",
        "minimum_age": 18,
        "service_areas": [{"name": "Northbridge"}],
        "attributes": [
            {"taxonomy_term": {"code": "shopping", "taxonomy": "vsocare-needs"}},
        ],
        "phones": [{"number": "01234 567890"}],
        "organization": {
            "id": GOOD_NEIGHBOURS,
            "name": "Northbridge Good Neighbours",
            "organization_identifiers": [{"identifier_scheme": "GB-CHC", "identifier": "1234"}],
        },
    }


def paths(value: object, path: tuple = ()) -> list[tuple]:
    """Every place in a good record a value can be put: each key and index, at every depth."""
    if isinstance(value, dict):
        children = list(value.items())
    elif isinstance(value, list):
        children = list(enumerate(value))
    else:
        return []
    return [(*path, step) for step, _ in children] + [
        place for step, child in children for place in paths(child, (*path, step))
    ]


PATHS = paths(good_record(0)) + [(name,) for name in OPTIONAL_FIELDS]


def put(record: dict, path: tuple, value: object) -> None:
    """value at path, unless an earlier replacement has taken the way there away."""
    target: object = record
    for step in path[:-1]:
        there = (isinstance(target, dict) and step in target) or (
            isinstance(target, list) and isinstance(step, int) and step < len(target)
        )
        if not there:
            return
        target = target[step]
    last = path[-1]
    if isinstance(target, dict) or (
        isinstance(target, list) and isinstance(last, int) and last < len(target)
    ):
        target[last] = value


@st.composite
def records(draw: st.DrawFn) -> list[object]:
    drawn: list[object] = []
    for index in range(draw(st.integers(min_value=1, max_value=3))):
        if draw(st.integers(min_value=0, max_value=19)) == 0:
            drawn.append(draw(json_values))  # not even an object
            continue
        record = good_record(index)
        for path in draw(st.lists(st.sampled_from(PATHS), max_size=3)):
            put(record, path, draw(json_values))
        drawn.append(record)
    return drawn


def database_state() -> tuple[list[tuple], list[tuple]]:
    return (
        list(Organisation.objects.order_by("pk").values_list("pk", "name", "updated_at")),
        list(Service.objects.order_by("pk").values_list("pk", "name", "updated_at")),
    )


def imports_or_refuses_naming_where(system, load) -> None:
    before = database_state()
    try:
        directory_import(
            records=load(), sector="voluntary", kind="registered_charity", system=system
        )
        event("imported")
    except DirectoryImportError as refused:
        event("refused")
        assert refused.errors
        for line in refused.errors:
            assert NAMED.match(line), line
        assert database_state() == before


PROFILE = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@PROFILE
@given(drawn=records())
def test_any_records_are_imported_or_refused_by_record_and_field(
    system, northbridge, red_cross, drawn
):
    with transaction.atomic():
        ServiceFactory(organisation=red_cross, hsds_id=uuid.UUID(int=2), name="Held")
        imports_or_refuses_naming_where(system, lambda: drawn)
        transaction.set_rollback(True)


@PROFILE
@given(drawn=records())
def test_any_file_is_imported_or_refused_by_file_record_and_field(
    system, northbridge, red_cross, drawn
):
    # allow_nan: the file then holds NaN and Infinity as Python writes them, which JSON has not.
    text = json.dumps({"contents": drawn}, allow_nan=True)
    with transaction.atomic():
        ServiceFactory(organisation=red_cross, hsds_id=uuid.UUID(int=2), name="Held")
        imports_or_refuses_naming_where(
            system, lambda: records_from_document(document_from_json(text))
        )
        transaction.set_rollback(True)
