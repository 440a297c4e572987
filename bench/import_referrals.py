"""How fast `manage.py import_referrals` loads a large file, against COPY, and how much memory it
takes. See bench/README.md.

    .venv/bin/python bench/import_referrals.py --rows 100000

It builds its own database (`vsocare_bench`, or --database, through Django's test-database
machinery, on the same server as the app: the embedded cluster or DATABASE_URL's), fills a small
directory, writes a synthetic CSV file (NHS numbers only from the 999 range, which is never
issued), imports it, and drops the database at the end. The application's own database is only
read, to check that it holds synthetic data (bench/guard.py); the script refuses to run if not.

Then, --repeat times, interleaved: the first import again, and a COPY of the very rows it wrote
(patients, referrals, their history events and context, consents) into the same tables, with
the same indexes, constraints and commit, from a dump taken once; the ratio of the medians is the
import's speed as a fraction of COPY's. Last, the peak memory of the import in a process of its
own (`manage.py import_referrals`): the rise of its maximum resident set over the same command
importing a one-row file.
"""

import argparse
import csv
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vsocare.settings")

import django  # noqa: E402

django.setup()

import pgtrigger  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import CommandError, call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
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
    parser.add_argument(
        "--repeat", type=int, default=3, help="first imports and COPY loads, interleaved (3)"
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
            _runs(Path(folder), args.rows, repeat=args.repeat, database=bench_database)
    finally:
        connection.creation.destroy_test_db(application_database, verbosity=0, keepdb=args.keep_db)


def _report_machine() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}, PostgreSQL {server}; {_load()}"
    )


def _load() -> str:
    # Other work on the machine slows every figure; the ratio to COPY, measured interleaved,
    # much less.
    return "load average " + " ".join(f"{load:.1f}" for load in os.getloadavg())


def _written_tables() -> list[str]:
    """Every table an import writes, in an order COPY can load them in."""
    tables = ["pghistory_context"]
    for model in (Patient, Referral, Consent):
        tables.append(model._meta.db_table)
        tables += sorted(
            {event._meta.db_table for event in getattr(model, "pgh_event_models", {}).values()}
        )
    return tables


def _empty() -> None:
    """A kept bench database still holds the last run's rows; start from nothing."""
    tables = set(_written_tables())
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


def _spoil(path: Path, spoiled: Path) -> None:
    """The file with its last row's status unknown, line by line, so that the bench itself does
    not hold the file and its peak memory stays the import's."""
    with path.open(encoding="utf-8", newline="") as source:
        last = None
        with spoiled.open("w", encoding="utf-8", newline="") as target:
            for line in source:
                if last is not None:
                    target.write(last)
                last = line
            cells = next(csv.reader([last or ""]))
            cells[COLUMNS.index("status")] = "lost"
            target.write(",".join(cells) + "\n")


def _import(path: Path) -> tuple[float, str]:
    out, err = StringIO(), StringIO()
    started = time.perf_counter()
    try:
        call_command("import_referrals", str(path), "--referrer", REFERRER, stdout=out, stderr=err)
    except CommandError as error:
        return time.perf_counter() - started, f"{error} (first: {err.getvalue().splitlines()[0]})"
    return time.perf_counter() - started, out.getvalue().strip()


def _runs(folder: Path, rows: int, *, repeat: int, database: str) -> None:
    path = folder / "referrals.csv"
    started = time.perf_counter()
    _write_file(path, rows)
    size = path.stat().st_size / 1_000_000
    print(f"wrote {rows:,} rows ({size:.1f} MB) in {time.perf_counter() - started:.1f} s\n")

    # The same file with its last row spoiled: everything is checked, then nothing is written.
    spoiled = folder / "spoiled.csv"
    _spoil(path, spoiled)
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
    _against_copy(folder, path, rows, repeat=repeat)
    _memory(folder, path, size, database=database)
    print(f"\nat the end: {_load()}")


def _against_copy(folder: Path, path: Path, rows: int, *, repeat: int) -> None:
    """The first import and a COPY of the rows it writes, interleaved, each from empty tables."""
    print(f"\nfirst import against COPY of the same rows, {repeat} of each, interleaved:")
    dump = folder / "dump"
    dump.mkdir()
    imports, copies, referrals_only = [], [], []
    for run in range(repeat):
        _empty()
        seconds, summary = _import(path)
        imports.append(seconds)
        if run == 0:
            _dump(dump)
        _empty()
        steps = _copy_load(dump)
        copies.append(sum(steps.values()))
        referrals_only.append(steps[Referral._meta.db_table])
        written = summary.split(": ", 1)[-1][:44]
        print(f"  import {seconds:6.2f} s   COPY {copies[-1]:6.2f} s   {written}")
        print("    COPY by step: " + ", ".join(f"{name} {t:.2f} s" for name, t in steps.items()))
    imported, copied = statistics.median(imports), statistics.median(copies)
    referrals = statistics.median(referrals_only)
    print(
        f"median: import {imported:.2f} s ({rows / imported:,.0f} rows/s), COPY {copied:.2f} s; "
        f"the import runs at {copied / imported:.2f}x COPY"
    )
    # Issue #16 compared with COPY of the referrals alone, without their history or patients.
    print(
        f"against the COPY of the referrals alone ({referrals:.2f} s, without their history, the "
        f"patients or the commit): {referrals / imported:.2f}x"
    )


def _dump(folder: Path) -> None:
    with connection.cursor() as cursor:
        for table in _written_tables():
            with (
                (folder / table).open("wb") as file,
                cursor.cursor.copy(f"COPY {table} TO STDOUT") as copy,
            ):
                for data in copy:
                    file.write(data)


def _copy_load(folder: Path) -> dict[str, float]:
    """Seconds to COPY the dumped rows back, table by table, then to commit (when the deferred
    foreign keys are checked). The history triggers are set aside as the import sets them, since
    the history rows are copied too."""
    names = [
        trigger.get_pgid(model)
        for model, trigger in pgtrigger.registered()
        if model in (Patient, Referral) and trigger.name in ("insert_insert", "update_update")
    ]
    steps = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('pgtrigger.ignore', %s, true)", ["{" + ",".join(names) + "}"]
        )
        for table in _written_tables():
            started = time.perf_counter()
            with (
                (folder / table).open("rb") as file,
                cursor.cursor.copy(f"COPY {table} FROM STDIN") as copy,
            ):
                while data := file.read(1 << 20):
                    copy.write(data)
            steps[table] = time.perf_counter() - started
        started = time.perf_counter()
    steps["commit"] = time.perf_counter() - started
    return steps


# Runs manage.py, then writes the process's peak resident set (VmHWM) to a file. Not ru_maxrss:
# Linux carries the parent's peak into a child's over fork and exec, so a child of this bench,
# which has held more, would report the bench's own peak.
_PEAK = """
import runpy, sys
sys.argv = ["manage.py", *sys.argv[2:]]
try:
    runpy.run_path("manage.py", run_name="__main__")
finally:
    with open("/proc/self/status") as status, open(PEAK_FILE, "w") as out:
        out.write(next(line for line in status if line.startswith("VmHWM")).split()[1])
"""


def _memory(folder: Path, path: Path, size: float, *, database: str) -> None:
    """The import's peak memory, in a process of its own so that nothing else the bench did
    counts: the rise of its peak resident set over the same command on a one-row file."""
    one_row = folder / "one_row.csv"
    with path.open(encoding="utf-8") as source, one_row.open("w", encoding="utf-8") as target:
        target.write(next(source) + next(source))
    env = dict(os.environ)
    env["DATABASE_URL"] = urlunsplit(urlsplit(settings.DATABASE_URL)._replace(path=f"/{database}"))
    peak_file, errors = folder / "peak", folder / "stderr"
    peaks = []
    for file in (one_row, path):
        _empty()
        with errors.open("wb") as stderr:
            finished = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    _PEAK.replace("PEAK_FILE", repr(str(peak_file))),
                    "manage.py",
                    "import_referrals",
                    file,
                    "--referrer",
                    REFERRER,
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                check=False,
            )
        if finished.returncode:
            print(f"  {file.name}: the import failed: {errors.read_text()[-500:]}")
        # VmHWM is in kB.
        peaks.append(int(peak_file.read_text()) / 1000)
    rise = peaks[1] - peaks[0]
    print(
        f"\npeak memory of a first import in its own process: {peaks[1]:.0f} MB resident at most, "
        f"{peaks[0]:.0f} MB for a one-row file: {rise:.0f} MB for a {size:.1f} MB file "
        f"({rise / size:.1f}x its size)"
    )


if __name__ == "__main__":
    main()
