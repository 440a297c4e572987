"""How fast the pages people use all day are on millions of referrals, through a real gunicorn,
with one client and with several at once (issue #16 point 2). See bench/README.md.

    .venv/bin/python bench/pages.py --rows 1000000 --rows 5000000 [--keep] [--json figures.json]

For each size it uses the reports benchmark's database and generator (bench/reports.py and
bench/report_data.py: the same names, `vsocare_bench_reports_<rows>`, and the same --keep rules,
so a database kept by either script serves the other), signs in one person of each role where
the data is (an ICC of the busiest referrer team, the VSO lead and a worker of the busiest
voluntary organisation, the commissioner), starts gunicorn against that database as production
runs it (DJANGO_ENV=production, DEBUG off, two-factor sign-in on, static files collected and
served by whitenoise), and for each page measures:

- the 50th, 95th and 99th percentile of --requests timed requests with one client, after a
  warm-up, and the same with --clients clients at once (threads, each with its own session),
  sharing the same number of requests, with the requests a second they achieved;
- the queries one request makes, counted in this process with Django's test client on the same
  database, as the same person (gunicorn's queries cannot be seen from here).

It prints a Markdown table per size to paste into bench/RESULTS.md. It refuses to start unless
the application's database and each bench database, where they exist, hold synthetic data only
(bench/guard.py).
"""

import argparse
import http.client
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_PREFIX = "vsocare_bench_reports"  # reports.py's: a database kept by either serves both
HOST = "127.0.0.1"
WORKERS = 2  # the Procfile's default, and the table
STARTUP_SECONDS = 90


@dataclass(frozen=True)
class Page:
    label: str
    role: str  # one of PEOPLE
    path: str  # {referral} and {search} are filled in from the data
    htmx: bool = False
    # Issue #16 point 1, for every list and detail page; the dashboard keeps issue #5's.
    p95_ms: float = 50
    queries: int = 6


# With the clients at once, for every page (issue #16 point 1).
MANY_P95_MS = 250

# The people the pages are requested as, by the role they play.
PEOPLE = ("icc", "vso_lead", "vso_worker", "commissioner")
PAGES = {
    "icc-list": Page("referral list", "icc", "/referrals/"),
    "lead-list": Page("referral list", "vso_lead", "/referrals/"),
    "waiting": Page("waiting list", "icc", "/referrals/waiting/"),
    "concerns": Page("concerns", "vso_lead", "/concerns/"),
    "patient-search": Page(
        "patient search", "icc", "/referrals/patient-search/?q={search}", htmx=True
    ),
    "remit": Page("remit page", "vso_lead", "/remit/"),
    "detail": Page("referral detail", "icc", "/referrals/{referral}/"),
    "directory": Page("directory", "commissioner", "/directory/"),
    "episodes": Page("episodes", "vso_worker", "/episodes/"),
    "dashboard": Page(
        "dashboard", "commissioner", "/commissioner/dashboard/", p95_ms=100, queries=8
    ),
}
ROLE_NAMES = {
    "icc": "ICC",
    "vso_lead": "VSO lead",
    "vso_worker": "VSO worker",
    "commissioner": "commissioner",
}


def page_names(text: str) -> list[str]:
    """--pages: names separated by commas."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in PAGES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown page {', '.join(unknown) or '(none)'}; choose from {', '.join(PAGES)}"
        )
    return names


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--rows", type=positive, action="append", help="referrals; repeat for several sizes"
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases for a re-run")
    parser.add_argument(
        "--pages",
        type=page_names,
        action="append",
        help=f"pages to measure, separated by commas (all): {', '.join(PAGES)}",
    )
    parser.add_argument(
        "--requests", type=positive, default=200, help="timed requests per page and clients (200)"
    )
    parser.add_argument(
        "--warm-up", type=int, default=10, help="untimed requests before one client's (10)"
    )
    parser.add_argument("--clients", type=positive, default=10, help="clients at once (10)")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument(
        "--database-prefix",
        default=BENCH_PREFIX,
        help=f"the bench databases are called PREFIX_<rows> ({BENCH_PREFIX})",
    )
    args = parser.parse_args(argv)
    args.rows = sorted(set(args.rows or [1_000_000]))
    chosen = [name for names in args.pages or [list(PAGES)] for name in names]
    args.pages = list(dict.fromkeys(chosen))
    if args.warm_up < 0:
        parser.error("--warm-up must be 0 or more")
    return args


def percentile(values: list[float], percent: float) -> float | None:
    """Nearest rank, as reports.py and load.py count it; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * percent / 100) - 1)]


def timings(milliseconds: list[float], errors: int, seconds: float) -> dict:
    """The figures of one measurement: percentiles of the answered requests, and the rate."""
    return {
        "requests": len(milliseconds) + errors,
        "errors": errors,
        "p50_ms": _round(percentile(milliseconds, 50)),
        "p95_ms": _round(percentile(milliseconds, 95)),
        "p99_ms": _round(percentile(milliseconds, 99)),
        "per_second": round((len(milliseconds) + errors) / seconds, 1) if seconds > 0 else None,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _ms(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def table(rows: int, pages: list[dict], clients: int) -> str:
    """One size's figures as Markdown, a row per page."""
    lines = [
        f"| page ({rows:,} referrals) | as | queries | 1 client p50 / p95 / p99 ms | "
        f"{clients} clients p50 / p95 / p99 ms | {clients} clients req/s | errors |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for page in pages:
        queries = page.get("queries")
        if queries is None:
            counted = "n/a"
        elif queries["min"] == queries["max"]:
            counted = str(queries["max"])
        else:
            counted = f"{queries['min']}-{queries['max']}"
        one, many = page.get("one") or {}, page.get("many") or {}
        errors = one.get("errors", 0) + many.get("errors", 0)
        lines.append(
            f"| {page['label']} | {ROLE_NAMES[page['role']]} | {counted} | "
            + " | ".join(
                " / ".join(_ms(figures.get(f"p{p}_ms")) for p in (50, 95, 99))
                for figures in (one, many)
            )
            + f" | {many.get('per_second') or 'n/a'} | {errors or page.get('error') or 0} |"
        )
    return "\n".join(lines) + "\n"


def misses(page: dict) -> list[str]:
    """What of its targets a measured page misses, in words; [] when it meets them all. The
    targets are for five million referrals: at smaller sizes they are a guide."""
    target = PAGES[page["page"]]
    found = []
    queries = (page.get("queries") or {}).get("max")
    if queries is not None and queries > target.queries:
        found.append(f"{queries} queries > {target.queries}")
    for clients, limit in (("one", target.p95_ms), ("many", MANY_P95_MS)):
        p95 = (page.get(clients) or {}).get("p95_ms")
        if p95 is not None and p95 > limit:
            who = "1 client" if clients == "one" else "clients at once"
            found.append(f"{who} p95 {_ms(p95)} ms > {limit:g}")
    return found


def main(argv: list[str] | None = None) -> None:
    args = arguments(argv)
    # Django only now: the arguments and figures above are tested without a database.
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vsocare.settings")
    # As reports.py: the application database named here is only read, by the guard.
    os.environ.setdefault("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/vsocare")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
    import django

    django.setup()

    from django.db import connection
    from guard import refuse_unless_synthetic

    application_database = connection.settings_dict["NAME"]
    if application_database.startswith(args.database_prefix):
        sys.exit(f"The application's database is called {application_database}; refusing.")
    refuse_unless_synthetic(
        connection,
        application_database,
        *(f"{args.database_prefix}_{rows}" for rows in args.rows),
    )

    import reports

    started = time.perf_counter()
    results: dict = {"command": " ".join(["bench/pages.py", *(argv or sys.argv[1:])])}
    results["sizes"] = {}
    for rows in args.rows:
        print(f"\n=== {rows:,} referrals ===", flush=True)
        results["sizes"][rows] = _bench_size(rows, args, application_database, reports)
    results["seconds"] = round(time.perf_counter() - started)
    print(f"\n{date.today().isoformat()} · {results['command']}")
    for rows, result in results["sizes"].items():
        print(f"\n{result['machine']['summary']}\n")
        print(table(rows, result["pages"], args.clients))
        missed = [(page, misses(page)) for page in result["pages"]]
        print(
            f"targets (issue #16: p95 <= 50 ms with 1 client, <= {MANY_P95_MS} ms with "
            f"{args.clients}, at most 6 queries; the dashboard 100 ms and 8): "
            f"{sum(not m for _, m in missed)} of {len(missed)} pages meet them"
        )
        for page, found in missed:
            if found:
                print(f"  {page['label']} ({ROLE_NAMES[page['role']]}): {'; '.join(found)}")
    print(f"whole run {results['seconds']} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
        print(f"figures written to {args.json}")


def _bench_size(rows: int, args, application_database: str, reports) -> dict:
    """The bench database as reports.py makes or keeps it, then the pages."""
    from django.db import connection
    from django.utils import timezone

    name = reports._bench_database(args.database_prefix, rows)
    connection.settings_dict["TEST"]["NAME"] = name
    connection.creation.create_test_db(
        verbosity=0, autoclobber=True, serialize=False, keepdb=args.keep
    )
    try:
        if connection.settings_dict["NAME"] != name:
            raise SystemExit("Not connected to the bench database; stopping.")
        today = timezone.localdate()
        fingerprint = reports._fingerprint(rows, today)
        if args.keep and reports._kept_fingerprint() == fingerprint:
            print(f"kept database {name} already holds this data; not generating")
        else:
            if args.keep and reports._kept_fingerprint() is not None:
                print("kept database holds other data; starting again")
                connection.creation.destroy_test_db(application_database, verbosity=0)
                connection.settings_dict["TEST"]["NAME"] = name
                connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
            reports._generate(rows, today, fingerprint)
        result = {"machine": reports._machine(), "database": name}
        print(f"machine: {result['machine']['summary']}", flush=True)
        result.update(_measure_pages(args))
    finally:
        connection.creation.destroy_test_db(application_database, verbosity=0, keepdb=args.keep)
    return result


def _people() -> dict:
    """One person of each role, where the data is: the first ICC of the team that made the most
    referrals, the first lead and worker of the voluntary organisation sent the most, the
    commissioner of report_data.py."""
    import report_data
    from django.db.models import Count

    from accounts.models import Role, User
    from referrals.models import Referral

    def busiest(referrals, field: str) -> int:
        row = referrals.values(field).annotate(n=Count("id")).order_by("-n", field).first()
        if row is None:
            raise SystemExit("The bench database has no referrals.")
        return row[field]

    team = busiest(Referral.objects.all(), "referrer_organisation_id")
    vso = busiest(Referral.objects.filter(destination_sector="voluntary"), "organisation_id")

    def first(role: str, organisation_id: int) -> User:
        people = User.objects.filter(role=role, organisation_id=organisation_id, job_title="")
        return people.earliest("pk")

    return {
        "icc": first(Role.ICC, team),
        "vso_lead": first(Role.VSO_LEAD, vso),
        "vso_worker": first(Role.VSO_WORKER, vso),
        "commissioner": User.objects.get(email=report_data.COMMISSIONER),
    }


def _signed_in(user, sessions: int) -> list[str]:
    """Session keys of `user` signed in with their password and code, as django-otp leaves a
    session; the authenticator is made once and kept with the database."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Bench authenticator", confirmed=True)
    keys: list[str] = []
    for _ in range(sessions):
        client = Client()
        client.force_login(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        keys.append(str(session.session_key))  # saved, so it has one
    return keys


def _nightly_snapshots() -> None:
    """The dashboard reads the nightly snapshots; make the ones missing for today's periods, as
    the night would have."""
    from django.utils import timezone

    from commissioning.models import System
    from referrals.models import ReportSnapshot
    from referrals.reports import snapshots

    today = timezone.localdate()
    for system_id in System.objects.values_list("pk", flat=True):
        for kind in snapshots.REPORTS:
            for date_from, date_to in snapshots.nightly_periods(
                kind=kind, system_id=system_id, today=today
            ):
                if not ReportSnapshot.objects.filter(
                    system_id=system_id,
                    kind=kind,
                    place__isnull=True,
                    date_from=date_from,
                    date_to=date_to,
                ).exists():
                    snapshots.report_snapshot_refresh(
                        kind=kind, system_id=system_id, date_from=date_from, date_to=date_to
                    )


def _paths(people: dict) -> dict[str, str]:
    """Each page's address: the ICC team's newest referral for its page, and the first letters
    of its patient's family name as a typical search."""
    from referrals.models import Referral

    newest = (
        Referral.objects.filter(referrer_organisation_id=people["icc"].organisation_id)
        .select_related("patient")
        .latest("referred_at")
    )
    fill = {"referral": newest.pk, "search": newest.patient.family_name[:4]}
    return {name: page.path.format(**fill) for name, page in PAGES.items()}


def _measure_pages(args) -> dict:
    from django.conf import settings

    from core.sessions import session_end

    people = _people()
    roles = {PAGES[name].role for name in args.pages}
    print(
        "as: "
        + ", ".join(
            f"{ROLE_NAMES[role]} {people[role].email} ({people[role].organisation.name})"
            for role in PEOPLE
            if role in roles
        )
    )
    if "dashboard" in args.pages:
        started = time.perf_counter()
        _nightly_snapshots()
        print(f"nightly snapshots ready in {time.perf_counter() - started:.1f} s", flush=True)
    paths = _paths(people)
    sessions = {role: _signed_in(people[role], args.clients) for role in sorted(roles)}
    result: dict = {
        "people": {role: people[role].email for role in sorted(roles)},
        "requests": args.requests,
        "clients": args.clients,
        "pages": [],
    }
    try:
        with tempfile.TemporaryDirectory(prefix="vsocare_bench_pages_") as var_dir:
            environment = _production_environment(var_dir, settings.SECRET_KEY)
            _collectstatic(environment)
            for name in args.pages:
                page = PAGES[name]
                result["pages"].append({
                    "page": name,
                    "label": page.label,
                    "role": page.role,
                    "path": paths[name],
                    "queries": None,
                })  # fmt: skip
            _count_queries(result["pages"], sessions, Path(var_dir) / "staticfiles")
            with _gunicorn(environment) as port:
                for row in result["pages"]:
                    page = PAGES[row["page"]]
                    keys, path = sessions[page.role], row["path"]
                    row["one"] = _run(port, path, keys[:1], args.requests, args.warm_up, page)
                    row["many"] = _run(port, path, keys, args.requests, 1, page)
                    row["misses"] = misses(row)
                    print(
                        f"{row['page']:15} {ROLE_NAMES[page.role]:12} queries "
                        f"{(row['queries'] or {}).get('max', 'n/a')}; 1 client "
                        f"{_figures(row['one'])}; {args.clients} clients {_figures(row['many'])}",
                        flush=True,
                    )
    finally:
        # Wherever they are kept: the database and the cache (core.sessions).
        for keys in sessions.values():
            for key in keys:
                session_end(key)
    return result


def _figures(figures: dict) -> str:
    text = " / ".join(_ms(figures[f"p{p}_ms"]) for p in (50, 95, 99)) + " ms"
    if figures["errors"]:
        text += f", {figures['errors']} errors ({figures.get('first_error')})"
    return text


def _count_queries(rows: list[dict], sessions: dict, static_root: Path) -> None:
    """The queries of one request to each page, as its person, after one untimed request (the
    first fills per-process caches). Three are counted; a page whose count varies says so."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    with override_settings(
        STATIC_ROOT=static_root,
        ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"],
        TWO_FACTOR_REQUIRED=True,  # as in production: the code's device is read per request
    ):
        for row in rows:
            client = Client()
            client.cookies[settings.SESSION_COOKIE_NAME] = sessions[row["role"]][0]
            headers = {"HX-Request": "true"} if PAGES[row["page"]].htmx else {}
            counts = []
            try:
                for attempt in range(4):
                    with CaptureQueriesContext(connection) as queries:
                        response = client.get(row["path"], secure=True, headers=headers)
                    if response.status_code != 200:
                        raise RuntimeError(f"{row['path']} answered {response.status_code}")
                    if attempt:
                        counts.append(len(queries.captured_queries))
            except Exception as error:  # a page being changed by others: record, go on
                row["error"] = f"{type(error).__name__}: {error}"
                print(f"{row['page']}: {row['error']}")
                continue
            row["queries"] = {"min": min(counts), "max": max(counts)}


def _production_environment(var_dir: str, secret_key: str) -> dict[str, str]:
    """gunicorn's environment: production mode on the bench database, with the settings it
    requires; mail goes nowhere. The secret key is this process's, so the sessions made here
    are valid there."""
    from django.db import connection

    environment = {
        key: value
        for key, value in os.environ.items()
        # The caller's own mode and database are not the bench's.
        if not key.startswith("DJANGO_") and key not in ("TWO_FACTOR_REQUIRED", "DATABASE_URL")
    }
    url = urlsplit(os.environ["DATABASE_URL"])
    environment.update(
        DJANGO_SETTINGS_MODULE="vsocare.settings",
        DJANGO_ENV="production",
        DJANGO_SECRET_KEY=secret_key,
        DJANGO_ALLOWED_HOSTS=HOST,
        DATABASE_URL=urlunsplit(url._replace(path=f"/{connection.settings_dict['NAME']}")),
        REDIS_URL=os.environ["REDIS_URL"],
        EMAIL_URL="dummymail://",
        DEFAULT_FROM_EMAIL="VSO Care bench <bench@example.org>",
        SITE_URL="https://vsocare.bench.invalid",
        VSOCARE_VAR_DIR=var_dir,
        LOG_LEVEL="WARNING",
    )
    return environment


def _collectstatic(environment: dict[str, str]) -> None:
    """Into the temporary var folder's staticfiles, where production settings look for them."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=environment,
        check=True,
    )


@contextmanager
def _gunicorn(environment: dict[str, str]) -> Iterator[int]:
    """gunicorn as the Procfile starts it, on a free port; yields the port once it serves."""
    port = _free_port()
    with tempfile.NamedTemporaryFile(prefix="vsocare_bench_gunicorn_", suffix=".log") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "vsocare.wsgi",
                "--bind", f"{HOST}:{port}", "--workers", str(WORKERS), "--graceful-timeout", "4",
            ],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while process.poll() is None and time.monotonic() < deadline:
                try:
                    if _get(port, "/sign-in/", None)[0] == 200:
                        break
                except OSError:
                    pass
                time.sleep(0.5)
            else:
                log.flush()
                tail = Path(log.name).read_text(errors="replace")[-3000:]
                raise SystemExit(f"gunicorn did not start:\n{tail}")
            print(f"gunicorn -w {WORKERS} on port {port}", flush=True)
            yield port
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _get(port: int, path: str, session_key: str | None, htmx: bool = False) -> tuple[int, str]:
    """One request as a browser behind the TLS proxy makes it: a new connection (gunicorn's
    sync workers close each), the whole body read. Returns the status and where it redirects."""
    headers = {"Host": HOST, "X-Forwarded-Proto": "https", "Accept": "text/html"}
    if session_key:
        headers["Cookie"] = f"sessionid={session_key}"
    if htmx:
        headers["HX-Request"] = "true"
    connection = http.client.HTTPConnection(HOST, port, timeout=120)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Location") or ""
    finally:
        connection.close()


def _run(port: int, path: str, keys: list[str], requests: int, warm_up: int, page: Page) -> dict:
    """`requests` timed requests shared by one client per session key, each after `warm_up`
    untimed ones of its own; a request answered other than 200 is an error."""
    times: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    remaining = [requests]
    ready = threading.Barrier(len(keys) + 1)

    def client(key: str) -> None:
        try:
            for _ in range(warm_up):
                _get(port, path, key, page.htmx)
        finally:
            ready.wait()
        while True:
            with lock:
                if remaining[0] == 0:
                    return
                remaining[0] -= 1
            started = time.perf_counter()
            try:
                status, location = _get(port, path, key, page.htmx)
            except OSError as error:
                status, location = 0, f"{type(error).__name__}: {error}"
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if status == 200:
                    times.append(elapsed)
                else:
                    errors.append(f"{status} {location}".strip())

    threads = [threading.Thread(target=client, args=(key,), daemon=True) for key in keys]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    figures = timings(times, len(errors), time.perf_counter() - started)
    if errors:
        figures["first_error"] = errors[0]
    return figures


if __name__ == "__main__":
    main()
