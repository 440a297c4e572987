"""The page benchmark (bench/pages.py, issue #16 point 2): its options, its figures and its
table, without a database; that it refuses a live system's data like every bench script; and,
marked slow, its smallest run end to end through gunicorn."""

import importlib.util
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from referrals.models import Patient
from tests.bench.conftest import (
    BASE_DIR,
    NOT_SYNTHETIC,
    run_bench,
    scratch_name,
    server_databases,
)

_spec = importlib.util.spec_from_file_location("bench_pages", BASE_DIR / "bench" / "pages.py")
assert _spec is not None and _spec.loader is not None
pages = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pages)

PATIENTS = Patient._meta.db_table
ROWS = "300"  # the scratch database's name ends in _300: see the `scratch` fixture
# pytest-django makes the test database only for a run with a test marked for it, and the
# scratch database is named after it: so that this file alone runs as in the whole suite.
beside_the_test_database = pytest.mark.django_db


def test_the_defaults_measure_every_page_at_a_million_referrals():
    args = pages.arguments([])

    assert args.rows == [1_000_000]
    assert args.pages == list(pages.PAGES)
    assert (args.requests, args.warm_up, args.clients) == (200, 10, 10)
    assert not args.keep
    assert args.json is None
    assert args.database_prefix == "vsocare_bench_reports", "reports.py's, to share kept data"


def test_sizes_are_measured_once_each_smallest_first():
    args = pages.arguments(["--rows", "5000000", "--rows", "1000000", "--rows", "5000000"])

    assert args.rows == [1_000_000, 5_000_000]


def test_pages_are_chosen_by_commas_or_repeats_in_the_order_given_once_each():
    args = pages.arguments(["--pages", "remit, icc-list", "--pages", "detail,remit"])

    assert args.pages == ["remit", "icc-list", "detail"]


def test_every_page_is_requested_as_a_role_that_may_see_it():
    assert set(pages.PAGES) == {
        "icc-list", "lead-list", "waiting", "concerns", "patient-search", "remit", "detail",
        "directory", "episodes", "dashboard",
    }  # fmt: skip
    assert {page.role for page in pages.PAGES.values()} == set(pages.PEOPLE)
    assert pages.PAGES["icc-list"].role == "icc"
    assert pages.PAGES["lead-list"].role == pages.PAGES["remit"].role == "vso_lead"


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (["--pages", "icc-list,nope"], "unknown page nope; choose from icc-list, lead-list"),
        (["--pages", " , "], "unknown page (none)"),
        (["--requests", "0"], "must be at least 1, not 0"),
        (["--clients", "ten"], "'ten' is not a whole number"),
        (["--rows", "-5"], "must be at least 1, not -5"),
        (["--warm-up", "-1"], "--warm-up must be 0 or more"),
    ],
)
def test_a_bad_option_is_named_and_nothing_runs(capsys, options, said):
    with pytest.raises(SystemExit) as stopped:
        pages.arguments(options)

    assert stopped.value.code == 2
    assert said in capsys.readouterr().err


def test_percentiles_are_by_nearest_rank():
    values = [float(n) for n in range(100, 0, -1)]  # unsorted on purpose

    assert pages.percentile(values, 50) == 50
    assert pages.percentile(values, 95) == 95
    assert pages.percentile(values, 99) == 99
    assert pages.percentile([7.0, 3.0], 50) == 3
    assert pages.percentile([7.0, 3.0], 99) == 7
    assert pages.percentile([4.0], 99) == 4
    assert pages.percentile([], 50) is None


@given(
    st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=300),
    st.sampled_from([50, 95, 99]),
)
def test_a_percentile_is_a_value_with_that_share_at_or_below_it(values, percent):
    found = pages.percentile(values, percent)
    rank = math.ceil(len(values) * percent / 100)

    assert found in values
    assert sum(value <= found for value in values) >= rank
    assert sum(value < found for value in values) < rank


def test_timings_count_errors_as_requests_but_not_in_the_percentiles():
    figures = pages.timings([10.0, 20.0, 30.0, 40.0], errors=1, seconds=2.0)

    assert figures == {
        "requests": 5,
        "errors": 1,
        "p50_ms": 20.0,
        "p95_ms": 40.0,
        "p99_ms": 40.0,
        "per_second": 2.5,
    }
    assert pages.timings([], errors=0, seconds=0)["p50_ms"] is None


def test_the_table_is_markdown_a_row_per_page():
    measured = [
        {
            "label": "referral list",
            "role": "icc",
            "queries": {"min": 6, "max": 6},
            "one": pages.timings([140.0, 150.0, 173.4], 0, 1),
            "many": pages.timings([959.0, 1256.0, 1300.0], 2, 1),
        },
        {
            "label": "dashboard",
            "role": "commissioner",
            "queries": {"min": 5, "max": 7},
            "one": pages.timings([4.24], 0, 1),
            "many": pages.timings([9.5], 0, 0.5),
        },
        {"label": "episodes", "role": "vso_worker", "queries": None, "error": "404", "one": {}},
    ]

    lines = pages.table(1_000_000, measured, 10).splitlines()

    assert lines[0] == (
        "| page (1,000,000 referrals) | as | queries | 1 client p50 / p95 / p99 ms | "
        "10 clients p50 / p95 / p99 ms | 10 clients req/s | errors |"
    )
    assert lines[1] == "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
    assert lines[2] == (
        "| referral list | ICC | 6 | 150 / 173 / 173 | 1,256 / 1,300 / 1,300 | 5.0 | 2 |"
    )
    assert lines[3] == (
        "| dashboard | commissioner | 5-7 | 4.2 / 4.2 / 4.2 | 9.5 / 9.5 / 9.5 | 2.0 | 0 |"
    )
    assert lines[4] == (
        "| episodes | VSO worker | n/a | n/a / n/a / n/a | n/a / n/a / n/a | n/a | 404 |"
    )
    assert len(lines) == 5


def test_a_page_is_judged_against_issue_16_and_the_dashboard_against_issue_5():
    def measured(page, queries, one_p95, many_p95):
        return {
            "page": page,
            "queries": {"min": queries, "max": queries},
            "one": {"p95_ms": one_p95},
            "many": {"p95_ms": many_p95},
        }

    assert pages.misses(measured("icc-list", 6, 50.0, 250.0)) == []
    assert pages.misses(measured("icc-list", 7, 173.0, 1256.0)) == [
        "7 queries > 6",
        "1 client p95 173 ms > 50",
        "clients at once p95 1,256 ms > 250",
    ]
    assert pages.misses(measured("dashboard", 8, 99.0, 240.0)) == []
    assert pages.misses(measured("dashboard", 9, 101.0, 251.0)) == [
        "9 queries > 8",
        "1 client p95 101 ms > 100",
        "clients at once p95 251 ms > 250",
    ]
    assert pages.misses({"page": "remit", "queries": None, "one": {}}) == [], "not measured"


def _options(prefix: str) -> list[str]:
    return ["--rows", ROWS, "--requests", "2", "--clients", "2", "--warm-up", "0",
            "--database-prefix", prefix]  # fmt: skip


@beside_the_test_database
def test_it_refuses_a_server_whose_application_database_is_live(scratch):
    scratch.execute(f"INSERT INTO {PATIENTS} (nhs_number) VALUES (%s)", [NOT_SYNTHETIC])
    before = scratch.contents()
    prefix = scratch_name("bench_pages")

    run = run_bench("pages", *_options(prefix), database=scratch.name)

    assert run.returncode == 1, run.stdout + run.stderr
    assert "Refusing to run" in run.stderr
    assert f"database {scratch.name}:" in run.stderr
    assert NOT_SYNTHETIC not in run.stdout + run.stderr
    assert run.stdout == "", "refused before anything was made"
    assert f"{prefix}_{ROWS}" not in server_databases()
    assert scratch.contents() == before


@beside_the_test_database
def test_it_refuses_a_live_database_of_its_bench_databases_name(scratch):
    scratch.execute(f"INSERT INTO {PATIENTS} (nhs_number) VALUES (%s)", [NOT_SYNTHETIC])
    before = scratch.contents()

    run = run_bench(
        "pages",
        *_options(scratch.name.removesuffix(f"_{ROWS}")),
        "--keep",
        database=scratch_name("app_never_made"),
    )

    assert run.returncode == 1, run.stdout + run.stderr
    assert f"database {scratch.name}:" in run.stderr
    assert run.stdout == ""
    assert scratch.contents() == before


@beside_the_test_database
@pytest.mark.slow
def test_its_smallest_run_measures_every_page_through_gunicorn(scratch, tmp_path):
    before = scratch.contents()
    prefix = scratch_name("bench_pages")
    figures = tmp_path / "pages.json"

    run = run_bench("pages", *_options(prefix), "--json", str(figures), database=scratch.name)

    assert run.returncode == 0, run.stdout + run.stderr
    assert f"gunicorn -w {pages.WORKERS} on port" in run.stdout
    assert f"| page ({int(ROWS):,} referrals) |" in run.stdout
    assert f"{prefix}_{ROWS}" not in server_databases(), "dropped at the end"
    assert scratch.contents() == before, "the application's database is only read"
    measured = json.loads(figures.read_text())["sizes"][ROWS]["pages"]
    assert [page["page"] for page in measured] == list(pages.PAGES)
    for page in measured:
        assert "error" not in page, page
        assert isinstance(page["misses"], list), page
        assert page["queries"]["max"] >= 1, page
        for clients in ("one", "many"):
            assert page[clients]["requests"] == 2, page
            assert page[clients]["errors"] == 0, page
