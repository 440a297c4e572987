"""How fast `manage.py import_referrals` loads a large file. See bench/README.md.

    .venv/bin/python bench/import_referrals.py --rows 100000

It builds its own database (`vsocare_bench`, or --database, through Django's test-database
machinery, on the same server as the app: the embedded cluster or DATABASE_URL's), fills a small
directory, writes a synthetic CSV file (NHS numbers only from the 999 range, which is never
issued), imports it, and drops the database at the end. The application's own database is only
read, to check that it holds synthetic data (bench/guard.py); the script refuses to run if not.
"""

import argparse
import csv
import os
import platform
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from io import StringIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vsocare.settings")

import django  # noqa: E402

django.setup()

from django.core.management import CommandError, call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from guard import refuse_unless_synthetic  # noqa: E402

from accounts.models import Role, User  # noqa: E402
from commissioning.models import Organisation, Place, Sector, Service, System  # noqa: E402
from core.nhs import synthetic_nhs_number  # noqa: E402
from referrals.importing.columns import COLUMNS  # noqa: E402
from referrals.models import Consent, Patient, Referral  # noqa: E402

BENCH_DATABASE = "vsocare_bench"
REFERRER = "bench.icc@example.org"
NEEDS = ["home_help", "shopping", "befriending", "transport", "care_coordination", "equipment"]
GIVEN = ["Edna", "Albert", "Margaret", "Harold", "Joan", "Stanley", "Doris", "Frank", "Irene"]
FAMILY = ["Marsh", "Hughes", "Patel", "Okafor", "Smith", "Nowak", "Campbell", "Davies", "Khan"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the file (100000)")
    parser.add_argument(
        "--keep-db", action="store_true", help="keep the bench database for the next run"
    )
    parser.add_argument(
        "--database", default=BENCH_DATABASE, help=f"the bench database's name ({BENCH_DATABASE})"
    )
    args = parser.parse_args()
    bench_database = args.database

    application_database = connection.settings_dict["NAME"]
    if application_database == bench_database:
        sys.exit(f"The application's database is called {bench_database}; refusing to touch it.")
    # Before the bench database is made: making it drops one of that name, and a kept one is
    # used as it is.
    refuse_unless_synthetic(connection, application_database, bench_database)
    connection.settings_dict["TEST"]["NAME"] = bench_database

    started = time.perf_counter()
    connection.creation.create_test_db(
        verbosity=0, autoclobber=True, serialize=False, keepdb=args.keep_db
    )
    try:
        # create_test_db has pointed the connection at the bench database; make sure of it
        # before anything is deleted.
        if connection.settings_dict["NAME"] != bench_database:
            raise SystemExit("Not connected to the bench database; stopping.")
        print(f"bench database ready in {time.perf_counter() - started:.1f} s")
        _report_machine()
        _empty()
        _directory()
        with tempfile.TemporaryDirectory() as folder:
            _runs(Path(folder), args.rows)
    finally:
        connection.creation.destroy_test_db(application_database, verbosity=0, keepdb=args.keep_db)


def _report_machine() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}, PostgreSQL {server}"
    )


def _empty() -> None:
    """A kept bench database still holds the last run's rows; start from nothing."""
    tables = {"pghistory_context"}
    for model in (Referral, Patient, Consent):
        tables.add(model._meta.db_table)
        tables.update(
            event._meta.db_table for event in getattr(model, "pgh_event_models", {}).values()
        )
    with connection.cursor() as cursor:
        # Concerns, marks, episodes and more point at referrals and patients; the bench makes
        # none, but TRUNCATE refuses a table others reference unless they go too.
        cursor.execute(f"TRUNCATE {', '.join(sorted(tables))} CASCADE")


def _directory() -> None:
    system, _ = System.objects.get_or_create(name="Bench Health")
    places = [Place.objects.get_or_create(system=system, name=f"Place {n}")[0] for n in range(3)]
    team, _ = Organisation.objects.get_or_create(
        system=system, name="Bench Community Trust", defaults={"sector": Sector.HEALTH}
    )
    User.objects.get_or_create(
        email=REFERRER, defaults={"full_name": "Bench ICC", "role": Role.ICC, "organisation": team}
    )
    for n in range(3):
        Organisation.objects.get_or_create(
            system=system, name=f"Bench Social Care {n}", defaults={"sector": Sector.SOCIAL_CARE}
        )
    for n in range(8):
        charity, _ = Organisation.objects.get_or_create(
            system=system,
            name=f"Bench Charity {n}",
            defaults={
                "sector": Sector.VOLUNTARY,
                "kind": "registered_charity",
                "place": places[n % 3],
            },
        )
        for s in range(2):
            Service.objects.get_or_create(organisation=charity, name=f"Service {s}")


def _write_file(path: Path, rows: int, *, urgency_shift: int = 0) -> None:
    """A file like a few years of an ICS's referrals: 22% health, 53% social care, 25% voluntary
    (docs/domain.md), about two referrals per patient, a third of them closed."""
    rng = random.Random(2026)
    patients = min(max(rows // 2, 1), 500_000)
    now = timezone.now().replace(tzinfo=None)
    urgencies = ["routine", "soon", "urgent", "emergency"]
    statuses = ["received", "accepted", "in_progress", "closed", "closed", "declined", "withdrawn"]
    with path.open("w", encoding="utf-8", newline="") as file:
        file.write(",".join(COLUMNS) + "\n")
        for index in range(rows):
            person = rng.randrange(patients)
            born = date(1925, 1, 1) + timedelta(days=person * 7 % 23_000)
            referred = now - timedelta(minutes=rng.randrange(60, 3 * 365 * 24 * 60))
            pick = rng.random()
            if pick < 0.22:
                sector, organisation, service = "health", "Bench Community Trust", ""
            elif pick < 0.75:
                sector, service = "social_care", ""
                organisation = f"Bench Social Care {rng.randrange(3)}"
            else:
                sector, organisation = "voluntary", f"Bench Charity {rng.randrange(8)}"
                service = f"Service {rng.randrange(2)}"
            status = rng.choice(statuses)
            closed = ""
            if status == "closed":
                closed = min(referred + timedelta(days=rng.randrange(1, 60)), now)
                closed = closed.isoformat(timespec="minutes")
            needs = ";".join(rng.sample(NEEDS, rng.randrange(1, 3)))
            # A voluntary referral shares the patient's details, so it needs a lawful basis;
            # most rest on consent given on the day (docs/referral-import.md).
            basis = consent_on = method = ""
            if sector == "voluntary":
                basis, consent_on, method = "consent", referred.date().isoformat(), "in_person"
            values = {
                "external_id": f"BENCH-{index:07d}",
                "nhs_number": synthetic_nhs_number(person),
                "given_name": GIVEN[person % len(GIVEN)],
                "family_name": FAMILY[person // len(GIVEN) % len(FAMILY)],
                "date_of_birth": born.isoformat(),
                "postcode": f"EH{person % 30 + 1} {person % 10}AB",
                "referred_at": referred.isoformat(timespec="minutes"),
                "source": rng.choice(["gp", "mdt_hub", "icc", "social_prescriber", "paramedic"]),
                "destination_sector": sector,
                "organisation": organisation,
                "service": service,
                "urgency": urgencies[(index + urgency_shift) % 3],
                "needs": needs,
                "activities": needs.split(";")[0],
                "status": status,
                "closed_at": closed,
                "decline_reason": "",
                "lawful_basis": basis,
                "lawful_basis_reason": "",
                "consent_given_on": consent_on,
                "consent_method": method,
            }
            file.write(",".join(values[column] for column in COLUMNS) + "\n")


def _import(path: Path) -> tuple[float, str]:
    out, err = StringIO(), StringIO()
    started = time.perf_counter()
    try:
        call_command("import_referrals", str(path), "--referrer", REFERRER, stdout=out, stderr=err)
    except CommandError as error:
        return time.perf_counter() - started, f"{error} (first: {err.getvalue().splitlines()[0]})"
    return time.perf_counter() - started, out.getvalue().strip()


def _runs(folder: Path, rows: int) -> None:
    path = folder / "referrals.csv"
    started = time.perf_counter()
    _write_file(path, rows)
    size = path.stat().st_size / 1_000_000
    print(f"wrote {rows:,} rows ({size:.1f} MB) in {time.perf_counter() - started:.1f} s\n")

    # The same file with its last row spoiled: everything is checked, then nothing is written.
    spoiled = folder / "spoiled.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    last = next(csv.reader(lines[-1:]))
    last[COLUMNS.index("status")] = "lost"
    lines[-1] = ",".join(last) + "\n"
    spoiled.write_text("".join(lines), encoding="utf-8")
    changed = folder / "changed.csv"
    _write_file(changed, rows, urgency_shift=1)

    for label, file in (
        ("refused (last row bad)", spoiled),
        ("first import", path),
        ("same file again", path),
        ("every row changed", changed),
    ):
        seconds, summary = _import(file)
        print(f"{label:24} {seconds:6.1f} s  {rows / seconds:9,.0f} rows/s   {summary}")
    print(
        f"\nin the database: {Referral.objects.count():,} referrals, "
        f"{Patient.objects.count():,} patients"
    )


if __name__ == "__main__":
    main()
