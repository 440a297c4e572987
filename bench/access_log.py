"""What the access log costs: the referral page with and without its access record, the
administrator's "who looked" page and CSV, the per-user lookup count and the nightly prune, on an
access log of a million rows (issue #11 point 4). See bench/README.md.

    .venv/bin/python bench/access_log.py --records 1000000

It builds a database of its own (`vsocare_bench_access_log`, or --database, through Django's
test-database machinery, on the server in DATABASE_URL: by default the machine's PostgreSQL on
127.0.0.1:5432), with one system, 5,000 patients (NHS numbers only from the 999 range, which is
never issued), a referral each, 50 people, and the access records of nine years written oldest
first, as they arrive. The default retention (eight years) then has about a ninth of them to
prune. The database is dropped at the end. It refuses to start unless the application's
database and the bench database, where they exist, hold synthetic data only (bench/guard.py).
"""

import argparse
import os
import platform
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

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402
from guard import refuse_unless_synthetic  # noqa: E402

from accounts.models import Role, User  # noqa: E402
from commissioning.models import Organisation, Sector, System  # noqa: E402
from core.nhs import synthetic_nhs_number  # noqa: E402
from referrals import referral_page  # noqa: E402
from referrals.models import AccessKind, AccessRecord, Patient, Referral  # noqa: E402
from referrals.selectors_access import lookups_by_user_since  # noqa: E402
from referrals.services_access import access_record, access_records_prune  # noqa: E402

BENCH_DATABASE = "vsocare_bench_access_log"
PATIENTS = 5_000
PEOPLE = 50
YEARS = 9
WARM_UP = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="access records (1000000)")
    parser.add_argument("--requests", type=int, default=300, help="timed page requests, each way")
    parser.add_argument(
        "--database", default=BENCH_DATABASE, help=f"the bench database's name ({BENCH_DATABASE})"
    )
    args = parser.parse_args()
    bench_database = args.database

    application_database = connection.settings_dict["NAME"]
    if application_database == bench_database:
        sys.exit(f"The application's database is called {bench_database}; refusing to touch it.")
    # Before the bench database is made, which drops one of that name.
    refuse_unless_synthetic(connection, application_database, bench_database)
    connection.settings_dict["TEST"]["NAME"] = bench_database
    started = time.perf_counter()
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        # create_test_db has pointed the connection at the bench database; make sure of it
        # before anything is written.
        if connection.settings_dict["NAME"] != bench_database:
            raise SystemExit("Not connected to the bench database; stopping.")
        print(f"bench database ready in {time.perf_counter() - started:.1f} s")
        print(f"machine: {_machine()}")
        world = _world()
        _generate(args.records, world)
        with (
            tempfile.TemporaryDirectory() as static_root,
            # The pages use hashed static names, so the manifest must exist; collected into a
            # temporary folder rather than the project's var/.
            override_settings(
                STATIC_ROOT=static_root, ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]
            ),
        ):
            call_command("collectstatic", interactive=False, verbosity=0)
            _referral_page(world, args.requests)
            _service_call(world)
            _lookup_count(world)
            _administrator_page(world)
        _prune()
        print(f"\ntotal {time.perf_counter() - started:.0f} s")
    finally:
        connection.creation.destroy_test_db(application_database, verbosity=0)


def _machine() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    return (
        f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"PostgreSQL {server}"
    )


def _world() -> dict:
    system = System.objects.create(name="Bay Integrated Care System")
    teams = Organisation.objects.bulk_create(
        Organisation(system=system, name=f"Bay Community Team {n}", sector=Sector.HEALTH)
        for n in range(5)
    )
    hospital = Organisation.objects.create(
        system=system, name="Bay Acute Hospitals NHS Trust", sector=Sector.HEALTH
    )
    board = Organisation.objects.create(
        system=system, name="Bay Integrated Care Board", sector=Sector.HEALTH
    )
    people = User.objects.bulk_create(
        User(
            email=f"icc{n}@bench.example.org",
            full_name=f"ICC {n}",
            role=Role.ICC,
            organisation=teams[n % len(teams)],
        )
        for n in range(PEOPLE)
    )
    administrator = User.objects.create(
        email="admin@bench.example.org",
        full_name="Bench Administrator",
        role=Role.ADMINISTRATOR,
        organisation=board,
    )
    patients = Patient.objects.bulk_create(
        Patient(
            nhs_number=synthetic_nhs_number(n),
            given_name="Edna",
            family_name=f"Marsh {n}",
            date_of_birth=date(1938, 5, 17),
            postcode="LA1 1AA",
        )
        for n in range(PATIENTS)
    )
    now = timezone.now()
    referrals = Referral.objects.bulk_create(
        Referral(
            patient=patient,
            referrer=people[n % PEOPLE],
            referrer_organisation=people[n % PEOPLE].organisation,
            source="icc",
            destination_sector=Sector.HEALTH,
            organisation=hospital,
            urgency="soon",
            reason="Home from hospital after a fall; lives alone.",
            referred_at=now - timedelta(days=n % 700),
        )
        for n, patient in enumerate(patients)
    )
    print(f"world: {PATIENTS:,} patients and referrals, {PEOPLE} people")
    return {
        "system": system,
        "people": people,
        "administrator": administrator,
        "referrals": referrals,
    }


def _generate(records: int, world: dict) -> None:
    """Nine years of access records, oldest first: nine in ten open a referral, the rest are
    lookups and exports. Every patient is looked at; patient 0 the most."""
    started = time.perf_counter()
    people = world["people"]
    referrals = world["referrals"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {AccessRecord._meta.db_table}
                (at, user_id, organisation_id, system_id, patient_id, referral_id, kind,
                 nhs_number, detail)
            SELECT now() - make_interval(secs => %(span)s * (1 - g::float8 / %(n)s)),
                   (%(users)s::int[])[1 + g %% %(people)s],
                   (%(organisations)s::int[])[1 + g %% %(people)s],
                   %(system)s,
                   (%(patients)s::int[])[1 + p],
                   CASE WHEN g %% 10 < 9 THEN (%(referrals)s::int[])[1 + p] END,
                   CASE WHEN g %% 10 < 9 THEN 'referral_view'
                        WHEN g %% 10 = 9 AND g %% 20 < 19 THEN 'lookup_confirmed'
                        ELSE 'export' END,
                   '', ''
            FROM generate_series(1, %(n)s) AS g,
                 -- one record in a hundred is patient 0's: a long-stay patient
                 LATERAL (SELECT CASE WHEN g %% 100 = 0 THEN 0
                                      ELSE (g::int8 * 7919 %% %(patient_count)s)::int
                                 END AS p) AS pick
            """,
            {
                "n": records,
                "span": YEARS * 365.25 * 86400,
                "users": [u.pk for u in people],
                "organisations": [u.organisation_id for u in people],
                "people": len(people),
                "system": world["system"].pk,
                "patients": [r.patient_id for r in referrals],
                "referrals": [r.pk for r in referrals],
                "patient_count": len(referrals),
            },
        )
        generated = time.perf_counter() - started
        cursor.execute(f"VACUUM (ANALYZE) {AccessRecord._meta.db_table}")
        cursor.execute("SELECT pg_total_relation_size(%s)", [AccessRecord._meta.db_table])
        size = cursor.fetchone()[0]
    print(
        f"access records: {records:,} over {YEARS} years in {generated:.1f} s, then VACUUM "
        f"(ANALYZE) in {time.perf_counter() - started - generated:.1f} s; table and indexes "
        f"{size / 1024 / 1024:.0f} MB"
    )


def _percentiles(times: list[float]) -> str:
    ordered = sorted(times)

    def rank(percent: int) -> float:
        return ordered[max(0, -(-len(ordered) * percent // 100) - 1)]

    return f"p50 {rank(50):.2f} ms, p95 {rank(95):.2f} ms, mean {statistics.mean(times):.2f} ms"


def _timed(call, times: list[float]) -> None:
    started = time.perf_counter()
    call()
    times.append((time.perf_counter() - started) * 1000)


class _Statements:
    """Every statement run while installed, with its milliseconds: the count per request and
    the INSERT's own time, whatever DEBUG says."""

    def __init__(self) -> None:
        self.run: list[tuple[str, float]] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.run.append((sql, (time.perf_counter() - started) * 1000))


def _referral_page(world: dict, requests: int) -> None:
    """The referral page as its referrer opens it, with the access record and without it,
    request by request in turn so that both see the same machine."""
    referral = world["referrals"][0]
    client = Client()
    client.force_login(referral.referrer)
    url = reverse("referral_detail", args=[referral.pk])
    real = referral_page.access_record
    table = AccessRecord._meta.db_table

    def off(**kwargs):
        return None

    def get():
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")

    for _ in range(WARM_UP):
        get()
    with_log, without, inserts, counts = [], [], [], {True: set(), False: set()}
    try:
        for n in range(requests * 2):
            logging = bool(n % 2)
            referral_page.access_record = real if logging else off
            statements = _Statements()
            with connection.execute_wrapper(statements):
                _timed(get, with_log if logging else without)
            counts[logging].add(len(statements.run))
            inserts += [ms for sql, ms in statements.run if f'INSERT INTO "{table}"' in sql]
    finally:
        referral_page.access_record = real
    difference = statistics.median(with_log) - statistics.median(without)
    print(
        f"\nreferral page, {requests} requests each way, in turn, after {WARM_UP} warm-up:\n"
        f"  with the access record:    {_percentiles(with_log)}; queries {sorted(counts[True])}\n"
        f"  without it:                {_percentiles(without)}; queries {sorted(counts[False])}\n"
        f"  difference of the medians: {difference:.2f} ms\n"
        f"  the INSERT itself:         {_percentiles(inserts)} ({len(inserts)} of them)"
    )


def _service_call(world: dict) -> None:
    referral = world["referrals"][1]
    user = User.objects.select_related("organisation__system").get(pk=referral.referrer_id)
    times: list[float] = []
    for _ in range(2000):
        _timed(
            lambda: access_record(user=user, kind=AccessKind.REFERRAL_VIEW, referral=referral),
            times,
        )
    print(f"access_record alone, 2,000 calls (each its own commit): {_percentiles(times)}")


def _lookup_count(world: dict) -> None:
    user = world["people"][0]
    since = timezone.now() - timedelta(hours=1)
    times: list[float] = []
    for _ in range(500):
        _timed(lambda: lookups_by_user_since(user=user, since=since), times)
    rows = AccessRecord.objects.filter(user=user).count()
    print(
        f"lookups_by_user_since, a person with {rows:,} records, 500 calls: {_percentiles(times)}"
    )


def _administrator_page(world: dict) -> None:
    """The busiest patient's access log, as the administrator searches it and downloads it."""
    patient_id = world["referrals"][0].patient_id
    nhs_number = Patient.objects.get(pk=patient_id).nhs_number
    held = AccessRecord.objects.filter(patient_id=patient_id).count()
    # Not referral 1's patient, whom the service timing above has just looked at 2,000 times.
    typical_id = world["referrals"][2].patient_id
    quiet_number = Patient.objects.get(pk=typical_id).nhs_number
    typical = AccessRecord.objects.filter(patient_id=typical_id).count()
    client = Client()
    client.force_login(world["administrator"])
    for label, number in (("busiest", nhs_number), ("typical", quiet_number)):
        pages: list[float] = []
        downloads: list[float] = []
        for n in range(60):
            _timed(
                lambda number=number: client.post(reverse("access_log"), {"nhs_number": number}),
                pages,
            )
            if n % 3 == 0:
                _timed(
                    lambda number=number: client.post(
                        reverse("access_log_csv"), {"nhs_number": number}
                    ).content,
                    downloads,
                )
        with CaptureQueriesContext(connection) as queries:
            client.post(reverse("access_log"), {"nhs_number": number})
        print(
            f"administrator's page, {label} patient, 60 searches: {_percentiles(pages)}; "
            f"{len(queries)} queries\n"
            f"  its CSV, 20 downloads: {_percentiles(downloads)}"
        )
    print(f"  (the busiest patient has {held:,} access records, the typical one {typical:,})")


def _prune() -> None:
    table = AccessRecord._meta.db_table
    now = timezone.now()
    cutoff = now - timedelta(days=settings.ACCESS_LOG_RETENTION_DAYS)
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN DELETE FROM {table} WHERE at < %s", [cutoff])
        plan = [row[0] for row in cursor.fetchall()]
    total = AccessRecord.objects.count()
    started = time.perf_counter()
    deleted = access_records_prune(now=now)
    seconds = time.perf_counter() - started
    print(
        f"\nprune at {settings.ACCESS_LOG_RETENTION_DAYS} days: deleted {deleted:,} of {total:,} "
        f"records in {seconds:.2f} s\n  plan: " + "\n        ".join(plan)
    )
    started = time.perf_counter()
    again = access_records_prune(now=now)
    elapsed = (time.perf_counter() - started) * 1000
    print(f"prune again, nothing to delete: {again} rows in {elapsed:.1f} ms")


if __name__ == "__main__":
    main()
