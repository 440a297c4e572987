"""How fast the nightly reports and the commissioner's dashboard are on millions of referrals,
against the speed targets of issue #5 (point 8). See bench/README.md.

    .venv/bin/python bench/reports.py --rows 1000000 --rows 5000000

For each size it builds a database of its own (`vsocare_bench_reports_<rows>`, or
--database-prefix, through Django's test-database machinery, on the server in DATABASE_URL: by
default the machine's PostgreSQL on 127.0.0.1:5432), fills it with a synthetic world
(bench/report_data.py: NHS numbers only from the 999 range, which is never issued), and
measures:

1. each nightly report, for yesterday, the month to date and the year to date, against the same
   aggregate as raw SQL run in the same process, interleaved; target: report / raw <= 1.3;
2. how each report's time grows from the smallest size to the others; target: 5x the rows in
   no more than 6x the time;
3. the plans of the month-to-date reports: the referral table must be read through an index
   (the BRIN index on referred_at), not a sequential scan;
4. the dashboard with its default period, served from the nightly snapshots: 95th percentile
   under 100 ms, at most 8 queries.

The database is dropped at the end unless --keep is given; a kept database is used again when
its rows, day, migrations and generator are the same. It refuses to start unless the
application's database and each bench database, where they exist, hold synthetic data only
(bench/guard.py).
"""

import argparse
import cProfile
import hashlib
import io
import json
import math
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vsocare.settings")
# The machine's own servers. The application database named here is only read, to check that
# it holds synthetic data (bench/guard.py): the benchmark creates its own database beside it.
os.environ.setdefault("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/vsocare")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")

import django  # noqa: E402

django.setup()

import report_data  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402
from guard import refuse_unless_synthetic  # noqa: E402

from accounts.models import User  # noqa: E402
from commissioning.models import Organisation, Place, System  # noqa: E402
from core.dates import day_start  # noqa: E402
from referrals.models import Referral, ReportRun, ReportSnapshot  # noqa: E402
from referrals.reports import snapshots  # noqa: E402

BENCH_PREFIX = "vsocare_bench_reports"
RATIO_TARGET = 1.3  # report / the same aggregate as raw SQL
GROWTH_TARGET = 6 / 5  # 5x the rows in at most 6x the time
P95_TARGET_MS = 100
QUERY_BUDGET = 8
WARM_UP_REQUESTS = 20
COUNTED_REQUESTS = 20

# The referral split written by hand as one statement: the same counts by sector, overall and
# by place, referrer team, source and month, over one pass of the period's referrals.
_SPLIT_SQL = """
SELECT GROUPING(place, team, source, month), place, team, source, month,
       count(*),
       count(*) FILTER (WHERE destination_sector = 'health'),
       count(*) FILTER (WHERE destination_sector = 'social_care'),
       count(*) FILTER (WHERE destination_sector = 'voluntary')
FROM (
    SELECT coalesce(p.name, 'No place recorded') AS place, t.name AS team, r.source,
           date_trunc('month', r.referred_at AT TIME ZONE %(tz)s) AS month,
           r.destination_sector
    FROM {referral} r
    JOIN {organisation} t ON t.id = r.referrer_organisation_id
    LEFT JOIN {place} p ON p.id = r.place_id
    WHERE r.referred_at >= %(start)s AND r.referred_at < %(end)s
) x
GROUP BY GROUPING SETS ((), (place), (team), (source), (month))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--rows", type=int, action="append", help="referrals; repeat for several sizes (1000000)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases for a re-run")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs of each report (7)")
    parser.add_argument("--requests", type=int, default=250, help="timed dashboard requests")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument(
        "--database-prefix",
        default=BENCH_PREFIX,
        help=f"the bench databases are called PREFIX_<rows> ({BENCH_PREFIX})",
    )
    args = parser.parse_args()
    sizes = sorted(set(args.rows or [1_000_000]))

    application_database = connection.settings_dict["NAME"]
    if application_database.startswith(args.database_prefix):
        sys.exit(f"The application's database is called {application_database}; refusing.")
    # Every database before the first is made: making one drops a database of that name, and a
    # kept one is used as it is.
    refuse_unless_synthetic(
        connection,
        application_database,
        *(_bench_database(args.database_prefix, rows) for rows in sizes),
    )

    started = time.perf_counter()
    results = {"sizes": {}}
    for rows in sizes:
        print(f"\n=== {rows:,} referrals ===")
        results["sizes"][rows] = _bench_size(rows, args, application_database)
    results["growth"] = _growth(results["sizes"])
    results["seconds"] = round(time.perf_counter() - started)
    _summary(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
        print(f"\nfigures written to {args.json}")


def _bench_database(prefix: str, rows: int) -> str:
    return f"{prefix}_{rows}"


def _bench_size(rows: int, args, application_database: str) -> dict:
    name = _bench_database(args.database_prefix, rows)
    result = {}
    connection.settings_dict["TEST"]["NAME"] = name
    started = time.perf_counter()
    connection.creation.create_test_db(
        verbosity=0, autoclobber=True, serialize=False, keepdb=args.keep
    )
    try:
        # create_test_db has pointed the connection at the bench database; make sure of it
        # before anything is written.
        if connection.settings_dict["NAME"] != name:
            raise SystemExit("Not connected to the bench database; stopping.")
        today = timezone.localdate()
        fingerprint = _fingerprint(rows, today)
        if args.keep and _kept_fingerprint() == fingerprint:
            print(f"kept database {name} already holds this data; not generating")
        else:
            if args.keep and _kept_fingerprint() is not None:
                print("kept database holds other data; starting again")
                connection.creation.destroy_test_db(application_database, verbosity=0)
                connection.settings_dict["TEST"]["NAME"] = name
                connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
            print(f"database {name} ready in {time.perf_counter() - started:.1f} s")
            result["generation"] = _generate(rows, today, fingerprint)
        result["machine"] = _machine()
        result["data"] = report_data.referrals_describe()
        print(f"machine: {result['machine']['summary']}")
        print(f"data: {json.dumps(result['data'], default=str)}")
        result["reports"] = _time_reports(today, args.repeat)
        result["plans"] = _plans(today)
        result["dashboard"] = _dashboard(today, args.requests)
    finally:
        connection.creation.destroy_test_db(application_database, verbosity=0, keepdb=args.keep)
    return result


def _fingerprint(rows: int, today: date) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT app || '.' || name FROM django_migrations ORDER BY app, name")
        migrations = ",".join(row[0] for row in cursor.fetchall())
    generator = Path(report_data.__file__).read_bytes()
    digest = hashlib.sha256(migrations.encode() + generator).hexdigest()[:16]
    return f"{rows}|{today.isoformat()}|{digest}"


def _kept_fingerprint() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('bench_meta')")
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute("SELECT fingerprint FROM bench_meta")
        row = cursor.fetchone()
    return row[0] if row else None


def _generate(rows: int, today: date, fingerprint: str) -> dict:
    started = time.perf_counter()
    world = report_data.world_create(rows=rows, today=today)
    print(f"  directory in {time.perf_counter() - started:.1f} s")
    generated = report_data.referrals_generate(rows=rows, today=today, world=world)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    # Straight after a bulk load no BRIN range is summarised yet, so the index narrows nothing;
    # VACUUM summarises them (as autovacuum would, later). Measured to show the difference.
    generated["month_split_before_vacuum"] = _brin_probe(today)
    vacuum_started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
        cursor.execute("CREATE TABLE bench_meta (fingerprint text NOT NULL)")
        cursor.execute("INSERT INTO bench_meta VALUES (%s)", [fingerprint])
    generated["seconds"]["vacuum_analyze"] = time.perf_counter() - vacuum_started
    generated["month_split_after_vacuum"] = _brin_probe(today)
    generated["seconds"]["total"] = time.perf_counter() - started
    print(
        f"  generated in {generated['seconds']['total']:.0f} s: {generated['counts']}; "
        f"month split before VACUUM {generated['month_split_before_vacuum']}, "
        f"after {generated['month_split_after_vacuum']}"
    )
    return generated


def _machine() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
        cursor.execute(
            "SELECT name, setting, unit FROM pg_settings WHERE name IN ('shared_buffers', "
            "'work_mem', 'effective_cache_size', 'jit', 'max_parallel_workers_per_gather', "
            "'random_page_cost')"
        )
        pg_settings = {name: f"{value}{'x' + unit if unit else ''}" for name, value, unit in cursor}
    memory = "?"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kb = int(meminfo.read_text().split("\n")[0].split()[1])
        memory = f"{kb / 1024 / 1024:.0f} GB"
    summary = (
        f"{os.cpu_count()} cores, {memory}, {platform.machine()}, Python "
        f"{platform.python_version()}, PostgreSQL {server}"
    )
    return {"summary": summary, "postgresql": server, "settings": pg_settings}


def _periods(today: date) -> dict[str, tuple[date, date]]:
    """The periods the nightly task computes (snapshots.nightly_periods, without catch-up)."""
    yesterday = today - timedelta(days=1)
    return {
        "yesterday": (yesterday, yesterday),
        "month to date": (yesterday.replace(day=1), yesterday),
        "year to date": (yesterday.replace(month=1, day=1), yesterday),
    }


def _statements(kind: str, date_from: date, date_to: date) -> list[tuple[str, object]]:
    """The SQL a report runs, with its parameters, as the database driver receives them."""
    captured = []

    def record(execute, sql, params, many, context):
        captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        snapshots.report_compute(kind=kind, system=_system(), date_from=date_from, date_to=date_to)
    return captured


def _system() -> System:
    """The bench world's one system (report_data.py)."""
    return System.objects.get()


def _replay(statements) -> None:
    """The same statements on a plain driver cursor, every row fetched, nothing built."""
    with connection.connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
            if cursor.description is not None:
                cursor.fetchall()


def _split_statement(date_from: date, date_to: date) -> tuple[str, dict]:
    sql = _SPLIT_SQL.format(
        referral=Referral._meta.db_table,
        organisation=Organisation._meta.db_table,
        place=Place._meta.db_table,
    )
    params = {
        "tz": settings.TIME_ZONE,
        "start": day_start(date_from),
        "end": day_start(date_to + timedelta(days=1)),
    }
    return sql, params


def _split_raw(date_from: date, date_to: date) -> list[tuple]:
    sql, params = _split_statement(date_from, date_to)
    with connection.connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _interleaved(runs: dict, repeat: int) -> dict[str, float]:
    """Median seconds of each function: one warm-up each, then rounds in rotating order, so
    every function sees the same cache state as often as the others."""
    for function in runs.values():
        function()
    seconds = {name: [] for name in runs}
    names = list(runs)
    for round_ in range(repeat):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        for name in order:
            started = time.perf_counter()
            runs[name]()
            seconds[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in seconds.items()}


def _time_reports(today: date, repeat: int) -> list[dict]:
    print(f"\nreports: median of {repeat} runs after a warm-up, interleaved with the raw SQL")
    print(f"{'report':18} {'period':14} {'report':>10} {'raw SQL':>10} {'ratio':>6}  target")
    rows = []
    system = _system()
    for kind in snapshots.REPORTS:
        for period, (date_from, date_to) in _periods(today).items():
            statements = _statements(kind, date_from, date_to)

            def report(kind=kind, date_from=date_from, date_to=date_to):
                return snapshots.report_compute(
                    kind=kind, system=system, date_from=date_from, date_to=date_to
                )

            runs = {"report": report}
            if kind == "referral_split":
                # Against the aggregate written by hand; the report's own statements replayed
                # are timed too, to tell the Python around the SQL from the shape of the SQL.
                _split_check(report(), _split_raw(date_from, date_to))
                runs["raw"] = lambda f=date_from, t=date_to: _split_raw(f, t)
                runs["replay"] = lambda s=statements: _replay(s)
                baseline = "hand-written GROUPING SETS statement"
            else:
                # Already raw SQL inside: the baseline is its own statements with the same
                # parameters, so the ratio is the cost of the Python around them.
                runs["raw"] = lambda s=statements: _replay(s)
                baseline = f"the report's {len(statements)} statement(s) replayed"
            medians = _interleaved(runs, repeat)
            # Judged against the faster baseline: for the split the report's own two-step
            # statement beats the single hand-written one, and the ratio must not hide that.
            ratio = medians["report"] / min(medians["raw"], medians.get("replay", math.inf))
            row = {
                "report": kind,
                "period": period,
                "from": date_from.isoformat(),
                "to": date_to.isoformat(),
                "report_ms": round(medians["report"] * 1000, 1),
                "raw_ms": round(medians["raw"] * 1000, 1),
                "ratio": round(ratio, 2),
                "baseline": baseline,
                "statements": len(statements),
                # The target is for the month and the year; a day's report takes a millisecond
                # or two, where a fixed tenth of a millisecond of Python decides the ratio.
                "pass": None if period == "yesterday" else ratio <= RATIO_TARGET,
            }
            if "replay" in medians:
                row["replay_ms"] = round(medians["replay"] * 1000, 1)
            rows.append(row)
            print(
                f"{kind:18} {period:14} {row['report_ms']:8.1f}ms {row['raw_ms']:8.1f}ms "
                f"{ratio:6.2f}  {_verdict(row['pass'], f'<= {RATIO_TARGET}')}"
                + (
                    f"  (its own SQL replayed: {row['replay_ms']:.1f} ms)"
                    if "replay" in row
                    else ""
                )
            )
    return rows


def _verdict(passed: bool | None, target: str) -> str:
    return "recorded" if passed is None else f"{target} {'pass' if passed else 'FAIL'}"


def _split_check(report: dict, raw: list[tuple]) -> None:
    """The hand-written statement must count what the report counts, or the ratio means
    nothing."""
    overall = next(row for row in raw if row[0] == 0b1111)
    expected = (report["total"], *report["by_sector"].values())
    if tuple(overall[5:9]) != expected:
        raise SystemExit(f"hand-written split counts {overall[5:9]}, the report {expected}")
    by_place = {row[1]: row[5] for row in raw if row[0] == 0b0111}
    if by_place != {row["place"]: row["total"] for row in report["by_place"]}:
        raise SystemExit("hand-written split by place differs from the report")


def _brin_probe(today: date) -> dict:
    """EXPLAIN ANALYZE of the hand-written month-to-date split: how much of the table the BRIN
    index lets the scan skip."""
    plan = _explain(*_split_statement(*_periods(today)["month to date"]))
    heap = [n for n in _nodes(plan["Plan"]) if n.get("Relation Name") == Referral._meta.db_table]
    node = heap[0] if heap else {}
    return {
        "ms": round(plan["Execution Time"], 1),
        "scan": node.get("Node Type"),
        "heap_blocks": node.get("Exact Heap Blocks", 0) + node.get("Lossy Heap Blocks", 0),
        "rows_removed_by_recheck": node.get("Rows Removed by Index Recheck", 0),
    }


def _explain(sql: str, params) -> dict:
    with connection.connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
        document = cursor.fetchone()[0]
    if isinstance(document, str):
        document = json.loads(document)
    return document[0]


def _nodes(node: dict, depth: int = 0):
    node = {**node, "depth": depth}
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child, depth + 1)


def _node_line(node: dict) -> str:
    text = "  " * node["depth"] + node["Node Type"]
    if "Relation Name" in node:
        text += f" on {node['Relation Name']} {node.get('Alias', '')}".rstrip()
    if "Index Name" in node:
        text += f" using {node['Index Name']}"
    if "CTE Name" in node:
        text += f" ({node['CTE Name']})"
    text += f"  rows={node.get('Actual Rows', '?')} loops={node.get('Actual Loops', '?')}"
    text += f" time={node.get('Actual Total Time', '?')}ms"
    blocks = node.get("Exact Heap Blocks", 0) + node.get("Lossy Heap Blocks", 0)
    if blocks:
        text += f" heap_blocks={blocks}"
    if node.get("Rows Removed by Index Recheck"):
        text += f" removed_by_recheck={node['Rows Removed by Index Recheck']}"
    return text


def _plans(today: date) -> list[dict]:
    """Plans of every report's statements that read referrals: month to date (asserted: an
    index, never a sequential scan of the referral table) and year to date (recorded)."""
    table = Referral._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [table])
        referral_indexes = {row[0] for row in cursor.fetchall()}
    print("\nplans (EXPLAIN ANALYZE)")
    results = []
    for kind in snapshots.REPORTS:
        for period in ("month to date", "year to date"):
            date_from, date_to = _periods(today)[period]
            for number, (sql, params) in enumerate(_statements(kind, date_from, date_to), 1):
                if table not in sql:
                    continue
                plan = _explain(sql, params)
                nodes = list(_nodes(plan["Plan"]))
                seq_scans = [
                    n for n in nodes if n["Node Type"] == "Seq Scan" and n["Relation Name"] == table
                ]
                indexes = sorted(
                    {n["Index Name"] for n in nodes if n.get("Index Name") in referral_indexes}
                )
                result = {
                    "report": kind,
                    "period": period,
                    "statement": number,
                    "ms": round(plan["Execution Time"], 1),
                    "referral_indexes": indexes,
                    "referral_seq_scans": len(seq_scans),
                    "brin": "referral_referred_at_brin" in indexes,
                    "pass": bool(indexes) and not seq_scans,
                    "nodes": [_node_line(n) for n in nodes],
                }
                results.append(result)
                verdict = "pass" if result["pass"] else "FAIL"
                if period == "year to date":
                    verdict = "recorded"
                print(
                    f"{kind:18} {period:14} #{number} {result['ms']:8.1f}ms  referral read by "
                    f"{', '.join(indexes) or 'no index'}; seq scans of it: {len(seq_scans)}  "
                    f"{verdict}"
                )
                if period == "month to date":
                    for line in result["nodes"]:
                        print(f"      {line}")
    return results


def _dashboard(today: date, requests: int) -> dict:
    """The nightly snapshots, then the dashboard's default period as a commissioner sees it."""
    ReportSnapshot.objects.all().delete()
    ReportRun.objects.all().delete()
    nightly = []
    system_id = _system().pk
    for kind in snapshots.REPORTS:
        for date_from, date_to in snapshots.nightly_periods(
            kind=kind, system_id=system_id, today=today
        ):
            started = time.perf_counter()
            snapshot = snapshots.report_snapshot_refresh(
                kind=kind, system_id=system_id, date_from=date_from, date_to=date_to
            )
            nightly.append({
                "report": kind,
                "from": date_from.isoformat(),
                "to": date_to.isoformat(),
                "ms": round((time.perf_counter() - started) * 1000),
                "snapshot_kb": round(len(json.dumps(snapshot.data)) / 1024),
                "referral_ids_kb": round(len(json.dumps(snapshot.referral_ids)) / 1024),
            })  # fmt: skip
    print("\nnightly snapshots: " + ", ".join(
        f"{n['report']} {n['from']}..{n['to']} {n['ms']} ms ({n['snapshot_kb']} kB, "
        f"ids {n['referral_ids_kb']} kB)"
        for n in nightly
    ))  # fmt: skip

    result = {"nightly": nightly, "requests": requests}
    with (
        tempfile.TemporaryDirectory() as static_root,
        # The pages use hashed static names, so the manifest must exist; collected into a
        # temporary folder rather than the project's var/.
        override_settings(
            STATIC_ROOT=static_root, ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]
        ),
    ):
        call_command("collectstatic", interactive=False, verbosity=0)
        client = Client()
        client.force_login(User.objects.get(email=report_data.COMMISSIONER))
        url = reverse("dashboard")
        try:
            for _ in range(WARM_UP_REQUESTS):
                _get(client, url)
            times = _timed(client, url, requests)
            # The same page with its report sections rendered on every request, as the first
            # request after each night's snapshots is (referrals/reports/loading.py).
            uncached = _timed(client, url, requests, before=cache.clear)
            response = _get(client, url)
            counted = []
            for _ in range(COUNTED_REQUESTS):
                with CaptureQueriesContext(connection) as queries:
                    started = time.perf_counter()
                    _get(client, url)
                    elapsed = (time.perf_counter() - started) * 1000
                counted.append((elapsed, list(queries.captured_queries)))
        except Exception as error:  # the page is being changed by others; record, go on
            result["error"] = f"{type(error).__name__}: {error}"
            print(f"dashboard: {result['error']}")
            return result
        content = response.content
        counts = [len(q) for _, q in counted]
        database_ms = [sum(float(q["time"]) for q in qs) * 1000 for _, qs in counted]
        result.update(
            p50_ms=round(_percentile(times, 50), 1),
            p95_ms=round(_percentile(times, 95), 1),
            max_ms=round(times[-1], 1),
            uncached_p50_ms=round(_percentile(uncached, 50), 1),
            uncached_p95_ms=round(_percentile(uncached, 95), 1),
            uncached_max_ms=round(uncached[-1], 1),
            queries_min=min(counts),
            queries_max=max(counts),
            database_ms_median=round(statistics.median(database_ms), 1),
            page_kb=round(len(content) / 1024),
            from_snapshot=b"From the nightly report" in content,
            queries=[_query_line(q) for q in counted[len(counted) // 2][1]],
        )
        # Judged on both: a night's first commissioner waits for the render too.
        result["pass_p95"] = max(result["p95_ms"], result["uncached_p95_ms"]) < P95_TARGET_MS
        result["pass_queries"] = result["queries_max"] <= QUERY_BUDGET
        print(
            f"dashboard {url}: {requests} requests after {WARM_UP_REQUESTS} warm-up: "
            f"p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, max {result['max_ms']} ms; "
            f"rendered every time: p50 {result['uncached_p50_ms']} ms, p95 "
            f"{result['uncached_p95_ms']} ms, max {result['uncached_max_ms']} ms "
            f"(< {P95_TARGET_MS} {'pass' if result['pass_p95'] else 'FAIL'}); queries "
            f"{result['queries_min']}-{result['queries_max']} (<= {QUERY_BUDGET} "
            f"{'pass' if result['pass_queries'] else 'FAIL'}); database "
            f"{result['database_ms_median']} ms of each; page {result['page_kb']} kB; from the "
            f"snapshot: {result['from_snapshot']}"
        )
        if not (result["pass_p95"] and result["pass_queries"]):
            slowest = sorted((q for _, qs in counted for q in qs), key=lambda q: -float(q["time"]))[
                :8
            ]
            result["slowest_queries"] = [_query_line(q) for q in slowest]
            result["profile"] = _profile(client, url)
            print("  the queries of one request:")
            for line in result["queries"]:
                print(f"    {line}")
            print("  slowest queries seen:")
            for line in result["slowest_queries"]:
                print(f"    {line}")
            print("  where the time goes (cProfile of 20 requests, by cumulative time):")
            print("    " + "\n    ".join(result["profile"]))
    return result


def _timed(client: Client, url: str, requests: int, before=None) -> list[float]:
    """Milliseconds per request, sorted."""
    times = []
    for _ in range(requests):
        if before is not None:
            before()
        started = time.perf_counter()
        _get(client, url)
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)


def _get(client: Client, url: str):
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    return response


def _percentile(ordered: list[float], percent: int) -> float:
    """Nearest rank."""
    return ordered[max(0, -(-len(ordered) * percent // 100) - 1)]


def _query_line(query: dict) -> str:
    sql = " ".join(query["sql"].split())
    return f"{float(query['time']) * 1000:7.2f} ms  {sql[:160]}{'…' if len(sql) > 160 else ''}"


def _profile(client: Client, url: str) -> list[str]:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(20):
        cache.clear()  # the rendering is what is worth seeing
        client.get(url)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    return lines[start : start + 26]


def _growth(sizes: dict) -> list[dict]:
    """Each report's time at each larger size over its time at the smallest."""
    if len(sizes) < 2:
        return []
    base_rows = min(sizes)
    base = {(r["report"], r["period"]): r for r in sizes[base_rows]["reports"]}
    growth = []
    for rows, result in sizes.items():
        if rows == base_rows:
            continue
        allowed = GROWTH_TARGET * rows / base_rows
        for row in result["reports"]:
            before = base.get((row["report"], row["period"]))
            if before is None:
                continue
            factor = row["report_ms"] / before["report_ms"]
            growth.append({
                "report": row["report"],
                "period": row["period"],
                "rows": f"{base_rows:,} -> {rows:,}",
                "before_ms": before["report_ms"],
                "after_ms": row["report_ms"],
                "factor": round(factor, 2),
                "target": round(allowed, 2),
                "pass": factor <= allowed,
            })  # fmt: skip
        dashboard, base_dashboard = result.get("dashboard", {}), sizes[base_rows].get("dashboard")
        if "p95_ms" in dashboard and base_dashboard and "p95_ms" in base_dashboard:
            growth.append({
                "report": "dashboard p95",
                "period": "default",
                "rows": f"{base_rows:,} -> {rows:,}",
                "before_ms": base_dashboard["p95_ms"],
                "after_ms": dashboard["p95_ms"],
                "factor": round(dashboard["p95_ms"] / base_dashboard["p95_ms"], 2),
                "target": None,
                "pass": None,
            })  # fmt: skip
    return growth


def _summary(results: dict) -> None:
    print("\n=== summary ===")
    for rows, result in results["sizes"].items():
        failed = [r for r in result["reports"] if r["pass"] is False]
        judged = [r for r in result["reports"] if r["pass"] is not None]
        plans = [p for p in result["plans"] if p["period"] == "month to date"]
        dashboard = result["dashboard"]
        print(
            f"{rows:,} rows: ratio <= {RATIO_TARGET}: {len(judged) - len(failed)}/{len(judged)} "
            "pass; month plans on an index: "
            f"{sum(p['pass'] for p in plans)}/{len(plans)}; dashboard p95 "
            f"{dashboard.get('p95_ms', dashboard.get('error'))} ms, queries "
            f"{dashboard.get('queries_max')}"
        )
    for row in results["growth"]:
        verdict = "" if row["pass"] is None else ("pass" if row["pass"] else "FAIL")
        target = "" if row["target"] is None else f"<= {row['target']}"
        print(
            f"{row['report']:18} {row['period']:14} {row['rows']}: {row['before_ms']} ms -> "
            f"{row['after_ms']} ms = x{row['factor']} {target} {verdict}"
        )
    print(f"whole run {results['seconds']} s")


if __name__ == "__main__":
    main()
