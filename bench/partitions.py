"""What partitioning the referral table by month would change: the reports, the pages and the
import on a copy of the referrals PARTITIONED BY RANGE (referred_at), one partition a month,
against an unpartitioned copy built the same way (issue #16 point 6). See bench/README.md.

    .venv/bin/python bench/partitions.py [--database vsocare_bench_reports_5000000] [--repeat 5]

It works in a database the reports benchmark kept (`bench/reports.py --rows 5000000 --keep`),
once the check has found only synthetic data there and in the application's database
(bench/guard.py). Its tables are only read: both copies go into a schema of their own,
`part_bench`, dropped at the end unless --keep. Both are fresh: loaded in the same order, with
the same columns and the same indexes (as partitioned indexes on the partitioned one), then
VACUUM (ANALYZE), so neither has the other's bloat or statistics.

The statements are the application's own: the reports' and the pages' SQL is captured as the
code runs it on the real table, then replayed on each copy with the table's name changed, under
EXPLAIN (ANALYZE, BUFFERS), interleaved, planning and execution apart.
"""

import argparse
import json
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vsocare.settings")
# The machine's own servers. The application database named here is only read, to check that it
# holds synthetic data (bench/guard.py).
os.environ.setdefault("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/vsocare")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.utils import timezone  # noqa: E402
from guard import refuse_unless_synthetic  # noqa: E402

from accounts.models import Role, User  # noqa: E402
from commissioning.models import System  # noqa: E402
from core.pagination import keyset_page  # noqa: E402
from referrals import selectors  # noqa: E402
from referrals.models import Referral  # noqa: E402
from referrals.reports import snapshots  # noqa: E402

BENCH_DATABASE = "vsocare_bench_reports_5000000"
SOURCE = f"public.{Referral._meta.db_table}"
SCHEMA = "part_bench"
TABLES = {"flat": f"{SCHEMA}.referral_flat", "partitioned": f"{SCHEMA}.referral"}
# The referral table's name in the SQL the application sends: quoted by the ORM, bare in the
# reports' hand-written SQL; never a longer name such as the history table's.
REFERRAL_NAME = re.compile(rf'"{Referral._meta.db_table}"|\b{Referral._meta.db_table}\b')
REPORTS = {"referral split": "referral_split", "remit breaches": "remit_breaches"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database", default=BENCH_DATABASE, help=f"the bench database ({BENCH_DATABASE})"
    )
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the two copies")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each statement (5)")
    parser.add_argument("--import-rows", type=int, default=100_000, help="rows COPY'd (100000)")
    parser.add_argument(
        "--empty-months",
        type=int,
        default=0,
        help="empty monthly partitions to add before the oldest referral (0)",
    )
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args()

    application_database = connection.settings_dict["NAME"]
    refuse_unless_synthetic(connection, application_database, args.database)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.database])
        if cursor.fetchone() is None:
            sys.exit(f"No database {args.database}: run bench/reports.py with --keep first.")
    connection.close()
    connection.settings_dict["NAME"] = args.database
    started = time.perf_counter()
    figures: dict[str, Any] = {"database": args.database, "machine": _machine()}
    figures["load_average_start"] = os.getloadavg()
    print(f"machine: {figures['machine']}")
    print(f"load average at the start: {_load(figures['load_average_start'])}")
    try:
        with connection.cursor() as cursor:
            figures["build"] = _build(cursor, keep=args.keep)
            _add_empty_months(cursor, args.empty_months)
            figures["partitions"] = _partition_count(cursor)
            figures["sizes"] = _sizes(cursor)
        statements = _statements()
        figures["statements"] = _measure(statements, args.repeat)
        figures["import"] = _import(args.import_rows, args.repeat)
    finally:
        if not args.keep:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    figures["load_average_end"] = os.getloadavg()
    figures["seconds"] = round(time.perf_counter() - started)
    print()
    print(table(figures))
    print(f"\nload average at the end: {_load(figures['load_average_end'])}")
    print(f"total {figures['seconds']} s")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n")


def _machine() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    return (
        f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"PostgreSQL {server}"
    )


def _load(average: tuple[float, ...]) -> str:
    return " / ".join(f"{value:.2f}" for value in average)


# Building the copies


def _build(cursor, *, keep: bool) -> dict[str, Any]:
    if keep and all(_exists(cursor, name) for name in TABLES.values()):
        print(f"reusing the copies kept in schema {SCHEMA}")
        return {"reused": True}
    cursor.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    cursor.execute(f"CREATE SCHEMA {SCHEMA}")
    # Building indexes on millions of rows; the session's own setting, for both copies alike.
    cursor.execute("SET maintenance_work_mem = '512MB'")
    # A sequential scan from the table's start every time: the copies get the rows in the order
    # they were written, the order the BRIN index relies on.
    cursor.execute("SET synchronize_seqscans = off")
    like = f"(LIKE {SOURCE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)"
    cursor.execute(f"CREATE TABLE {TABLES['flat']} {like}")
    cursor.execute(f"CREATE TABLE {TABLES['partitioned']} {like} PARTITION BY RANGE (referred_at)")
    months = _months(cursor)
    for start, end in months:
        cursor.execute(
            f"CREATE TABLE {SCHEMA}.referral_y{start:%Y}m{start:%m} PARTITION OF "
            f"{TABLES['partitioned']} FOR VALUES FROM ({_midnight(start)}) TO ({_midnight(end)})"
        )
    cursor.execute(
        f"CREATE TABLE {SCHEMA}.referral_default PARTITION OF {TABLES['partitioned']} DEFAULT"
    )
    seconds: dict[str, dict[str, float]] = {kind: {} for kind in TABLES}
    for kind, name in TABLES.items():
        seconds[kind]["load"] = _timed(cursor, f"INSERT INTO {name} SELECT * FROM {SOURCE}")
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
        "AND tablename = %s ORDER BY indexname",
        [Referral._meta.db_table],
    )
    indexes = cursor.fetchall()
    for kind in TABLES:
        seconds[kind]["indexes"] = 0.0
    for kind, name in TABLES.items():
        key = "id" if kind == "flat" else "id, referred_at"
        seconds[kind]["indexes"] += _timed(cursor, f"ALTER TABLE {name} ADD PRIMARY KEY ({key})")
    for index, definition in indexes:
        if index == f"{Referral._meta.db_table}_pkey":
            continue
        for kind, name in TABLES.items():
            statement = _index_on(definition, index, kind, name)
            seconds[kind]["indexes"] += _timed(cursor, statement)
    for kind, name in TABLES.items():
        # On the parent, VACUUM and ANALYZE go through every partition and gather the parent's
        # own statistics, which planning a query over several partitions uses.
        seconds[kind]["vacuum"] = _timed(cursor, f"VACUUM (ANALYZE) {name}")
    built = {"reused": False, "indexes": len(indexes)}
    built.update(
        {kind: {step: round(s, 1) for step, s in steps.items()} for kind, steps in seconds.items()}
    )
    print(
        f"built {len(months)} monthly partitions and a default one, {len(indexes)} indexes each: "
        + ", ".join(
            f"{kind} " + " + ".join(f"{step} {s:.0f} s" for step, s in steps.items())
            for kind, steps in seconds.items()
        )
    )
    return built


def _add_empty_months(cursor, count: int) -> None:
    """Empty partitions for the `count` months before the oldest referral's: as many partitions
    as years of history would make, whose planning the pages pay for even when they read none."""
    end = _months(cursor)[0][0]
    for _ in range(count):
        start = (end - timedelta(days=1)).replace(day=1)
        name = f"{SCHEMA}.referral_y{start:%Y}m{start:%m}"
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {TABLES['partitioned']} "
            f"FOR VALUES FROM ({_midnight(start)}) TO ({_midnight(end)})"
        )
        # Known to be empty: a table never vacuumed is planned as if it had ten pages.
        cursor.execute(f"VACUUM (ANALYZE) {name}")
        end = start


def _partition_count(cursor) -> int:
    cursor.execute(
        "SELECT count(*) FROM pg_partition_tree(%s) WHERE isleaf", [TABLES["partitioned"]]
    )
    count = cursor.fetchone()[0]
    print(f"{count} partitions")
    return count


def _exists(cursor, name: str) -> bool:
    cursor.execute("SELECT to_regclass(%s)", [name])
    return cursor.fetchone()[0] is not None


def _months(cursor) -> list[tuple[date, date]]:
    """Every month the referrals span, in UK time as the reports count days, and the month
    after the last, which a live system would have made ahead."""
    cursor.execute(
        f"SELECT min(referred_at AT TIME ZONE %s)::date, max(referred_at AT TIME ZONE %s)::date "
        f"FROM {SOURCE}",
        [settings.TIME_ZONE, settings.TIME_ZONE],
    )
    first, last = cursor.fetchone()
    if first is None:
        raise SystemExit(f"{SOURCE} has no referrals.")
    months = []
    start = first.replace(day=1)
    while start <= last.replace(day=1) + timedelta(days=31):
        end = (start + timedelta(days=32)).replace(day=1)
        months.append((start, end))
        start = end
    return months


def _midnight(day: date) -> str:
    return f"'{day.isoformat()} 00:00:00 {settings.TIME_ZONE}'"


def _index_on(definition: str, index: str, kind: str, table: str) -> str:
    """The real table's index, on a copy. A unique index of a partitioned table must contain the
    partition key: there, it gets referred_at as its last column, and so only promises unique
    values within one moment."""
    statement = definition.replace(
        f"INDEX {index} ON {SOURCE} ", f"INDEX {kind[0]}_{index} ON {table} ", 1
    )
    if statement == definition:
        raise SystemExit(f"Cannot read the definition of index {index}: {definition}")
    if kind == "partitioned" and definition.startswith("CREATE UNIQUE"):
        statement = re.sub(
            r"USING btree \(([^)]*)\)", r"USING btree (\1, referred_at)", statement, count=1
        )
    return statement


def _timed(cursor, sql: str) -> float:
    started = time.perf_counter()
    cursor.execute(sql)
    return time.perf_counter() - started


def _sizes(cursor) -> dict[str, int]:
    sizes = {}
    for kind, name in TABLES.items():
        # pg_partition_tree has no rows for a table that is not partitioned.
        cursor.execute(
            "SELECT coalesce((SELECT sum(pg_total_relation_size(relid)) "
            "FROM pg_partition_tree(%s)), pg_total_relation_size(%s))",
            [name, name],
        )
        sizes[kind] = int(cursor.fetchone()[0])
    print("sizes with indexes: " + ", ".join(f"{k} {v / 2**20:,.0f} MB" for k, v in sizes.items()))
    return sizes


# The statements


def _statements() -> dict[str, list[tuple[str, Any]]]:
    """The SQL of each report and page, as the application sends it for the real table, keyed
    by what it is. Captured while the code runs (and so run once on the real table)."""
    found: dict[str, list[tuple[str, Any]]] = {}
    system = _busiest_system()
    today = timezone.localdate(_newest()) + timedelta(days=1)
    yesterday = today - timedelta(days=1)
    periods = {
        "yesterday": yesterday,
        "month to date": yesterday.replace(day=1),
        "year to date": yesterday.replace(month=1, day=1),
    }
    for report, kind in REPORTS.items():
        for period, date_from in periods.items():
            found[f"report: {report}, {period}"] = _captured(
                lambda kind=kind, date_from=date_from: snapshots.report_compute(
                    kind=kind, system=system, date_from=date_from, date_to=yesterday
                )
            )
    icc, lead = _people()
    now = timezone.now()
    found["page: ICC list (first page)"] = _captured(
        lambda: list(
            keyset_page(
                selectors.referrals_visible_in_parts(icc),
                rows=selectors.referral_list_rows(),
                query={},
                field="referred_at",
                newest_first=True,
                size=25,
            )
        )
    )
    found["page: VSO lead list (first page)"] = _captured(
        lambda: list(
            keyset_page(
                selectors.referrals_visible_in_parts(lead),
                rows=selectors.referral_list_rows(),
                query={},
                field="referred_at",
                newest_first=True,
                size=25,
            )
        )
    )
    found["page: waiting list (ICC, first page)"] = _captured(
        lambda: list(
            keyset_page(
                selectors.waiting_in_parts(icc),
                rows=selectors.waiting_rows(now=now),
                query={},
                field="referred_at",
                newest_first=False,
                size=50,
            )
        )
    )
    newest = Referral.objects.filter(referrer_organisation_id=icc.organisation_id).latest(
        "referred_at", "pk"
    )
    found["page: a referral, by id (as the detail page)"] = _captured(
        lambda: selectors.get_referral_for_user(icc, newest.pk)
    )
    # The two lookups without the page's scope: what a URL with the referral's date in it
    # would let the partitioned table do, against the id alone.
    table = Referral._meta.db_table
    found["lookup: by id alone"] = [(f"SELECT * FROM {table} WHERE id = %s", [newest.pk])]
    found["lookup: by id and referred_at"] = [
        (
            f"SELECT * FROM {table} WHERE id = %s AND referred_at = %s",
            [newest.pk, newest.referred_at],
        )
    ]
    return found


def _busiest_system() -> System:
    row = (
        Referral.objects.values("organisation__system")
        .annotate(n=Count("id"))
        .order_by("-n", "organisation__system")
        .first()
    )
    if row is None:
        raise SystemExit("The bench database has no referrals.")
    return System.objects.get(pk=row["organisation__system"])


def _newest():
    return Referral.objects.latest("referred_at").referred_at


def _people() -> tuple[User, User]:
    """As bench/pages.py: the first ICC of the team that made the most referrals, the first
    VSO lead of the voluntary organisation sent the most."""

    def busiest(referrals, field: str) -> int:
        row = referrals.values(field).annotate(n=Count("id")).order_by("-n", field).first()
        if row is None:
            raise SystemExit("The bench database has no referrals.")
        return row[field]

    team = busiest(Referral.objects.all(), "referrer_organisation_id")
    vso = busiest(Referral.objects.filter(destination_sector="voluntary"), "organisation_id")
    icc = User.objects.filter(role=Role.ICC, organisation_id=team, is_active=True).earliest("pk")
    lead = User.objects.filter(role=Role.VSO_LEAD, organisation_id=vso, is_active=True)
    return icc, lead.earliest("pk")


def _captured(run: Callable[[], object]) -> list[tuple[str, Any]]:
    """The statements on the referral table that `run` sends, with their parameters."""
    captured = []

    def record(execute, sql, params, many, context):
        captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        run()
    return [(sql, params) for sql, params in captured if REFERRAL_NAME.search(sql)]


def _on(sql: str, table: str) -> str:
    return REFERRAL_NAME.sub(table, sql)


# Measuring


def _measure(statements: dict[str, list[tuple[str, Any]]], repeat: int) -> list[dict]:
    """Each group of statements on each copy under EXPLAIN (ANALYZE, BUFFERS): one warm-up each,
    then `repeat` rounds, the copies' order alternating; the medians of the planning and the
    execution time summed over the group's statements."""
    print(f"\nstatements: median of {repeat} after a warm-up, interleaved")
    rows = []
    kinds = list(TABLES)
    for name, group in statements.items():
        runs = {kind: [(_on(sql, TABLES[kind]), params) for sql, params in group] for kind in kinds}
        samples: dict[str, list[dict]] = {kind: [] for kind in kinds}
        with connection.cursor() as cursor:
            for kind in kinds:
                _explain_all(cursor, runs[kind])
            for round_ in range(repeat):
                for kind in kinds if round_ % 2 == 0 else kinds[::-1]:
                    samples[kind].append(_explain_all(cursor, runs[kind]))
        row: dict[str, Any] = {"name": name, "statements": len(group)}
        for kind in kinds:
            row[kind] = {
                "planning_ms": round(statistics.median(s["planning_ms"] for s in samples[kind]), 2),
                "execution_ms": round(
                    statistics.median(s["execution_ms"] for s in samples[kind]), 2
                ),
                "buffers": samples[kind][-1]["buffers"],
                "partitions": samples[kind][-1]["partitions"],
            }
        flat, part = (row[k]["planning_ms"] + row[k]["execution_ms"] for k in kinds)
        row["ratio"] = round(part / flat, 2) if flat else None
        rows.append(row)
        flat_ms, part_ms = row["flat"], row["partitioned"]
        print(
            f"{name:48} flat {flat_ms['planning_ms']:8.2f} + {flat_ms['execution_ms']:9.2f} ms"
            f"   partitioned {part_ms['planning_ms']:8.2f} + {part_ms['execution_ms']:9.2f} ms"
            f"   {row['ratio']}x"
        )
    return rows


def _explain_all(cursor, statements: list[tuple[str, Any]]) -> dict[str, Any]:
    total = {"planning_ms": 0.0, "execution_ms": 0.0, "buffers": 0, "partitions": 0}
    for sql, params in statements:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
        found = cursor.fetchone()[0]
        plan = (json.loads(found) if isinstance(found, str) else found)[0]
        total["planning_ms"] += plan["Planning Time"]
        total["execution_ms"] += plan["Execution Time"]
        top = plan["Plan"]
        total["buffers"] += top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0)
        total["partitions"] += len(_partitions_read(top))
    return total


def _partitions_read(node: dict) -> set[str]:
    """The partitions a plan reads: scans of them that were planned and not pruned at run time
    (a pruned subplan shows "never executed", no loops)."""
    found = set()
    relation = node.get("Relation Name", "")
    if (
        relation.startswith("referral_")
        and relation != "referral_flat"
        and node.get("Actual Loops")
    ):
        found.add(relation)
    for child in node.get("Plans", []):
        found |= _partitions_read(child)
    return found


def _import(rows: int, repeat: int) -> dict[str, Any]:
    """COPY of `rows` new referrals into each copy, with all its indexes, in a transaction rolled
    back after each (so every round starts from the same table): the newest referrals again,
    under new ids, external ids and submissions, so they land where new referrals do, in the
    newest month."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {SOURCE}")
        shift = cursor.fetchone()[0]
        cursor.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
            "AND NOT attisdropped ORDER BY attnum",
            [SOURCE],
        )
        columns = [column for (column,) in cursor.fetchall()]
    replaced = {
        "id": f"id + {shift}",
        "external_id": f"CASE WHEN external_id IS NOT NULL THEN md5((id + {shift})::text) END",
        "submission": "CASE WHEN submission IS NOT NULL THEN gen_random_uuid() END",
    }
    select = ", ".join(replaced.get(column, column) for column in columns)
    source = f"SELECT {select} FROM {SOURCE} ORDER BY referred_at DESC, id DESC LIMIT {int(rows)}"
    raw = connection.connection
    data = bytearray()
    with raw.cursor() as cursor, cursor.copy(f"COPY ({source}) TO STDOUT") as copy:
        for block in copy:
            data += block
    seconds: dict[str, list[float]] = {kind: [] for kind in TABLES}
    kinds = list(TABLES)
    for round_ in range(repeat + 1):
        for kind in kinds if round_ % 2 == 0 else kinds[::-1]:
            with raw.transaction(force_rollback=True), raw.cursor() as cursor:
                started = time.perf_counter()
                with cursor.copy(f"COPY {TABLES[kind]} FROM STDIN") as copy:
                    copy.write(data)
                if round_:  # the first round warms up
                    seconds[kind].append(time.perf_counter() - started)
    # The rolled-back rows are dead at the end of each heap: VACUUM cuts them off, so copies kept
    # for the next run are measured as they were built, bar some index pages.
    with connection.cursor() as cursor:
        for name in TABLES.values():
            cursor.execute(f"VACUUM {name}")
    medians = {kind: statistics.median(values) for kind, values in seconds.items()}
    result = {
        "rows": rows,
        "megabytes": round(len(data) / 2**20, 1),
        **{f"{kind}_s": round(value, 2) for kind, value in medians.items()},
        "ratio": round(medians["partitioned"] / medians["flat"], 2),
    }
    print(
        f"\nimport: COPY of {rows:,} rows ({result['megabytes']} MB), median of {repeat}: "
        f"flat {result['flat_s']} s, partitioned {result['partitioned_s']} s, "
        f"{result['ratio']}x"
    )
    return result


def table(figures: dict[str, Any]) -> str:
    """The figures as a Markdown table for RESULTS.md."""
    lines = [
        "| statement | flat planning / execution ms | partitioned planning / execution ms "
        "| partitions read | buffers flat / partitioned | partitioned ÷ flat |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in figures["statements"]:
        flat, part = row["flat"], row["partitioned"]
        lines.append(
            f"| {row['name']} | {flat['planning_ms']:.2f} / {flat['execution_ms']:.2f} "
            f"| {part['planning_ms']:.2f} / {part['execution_ms']:.2f} | {part['partitions']} "
            f"| {flat['buffers']:,} / {part['buffers']:,} | {row['ratio']}x |"
        )
    imported = figures["import"]
    lines.append(
        f"| import: COPY of {imported['rows']:,} rows, s | {imported['flat_s']} "
        f"| {imported['partitioned_s']} | | | {imported['ratio']}x |"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
