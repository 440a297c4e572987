"""The reports on a queue of their own (#16 point 5, docs/deploy.md): two real `celery worker`
processes, one consuming the default queue and one the "reports" queue, against the broker this
run uses (REDIS_URL, or the embedded Redis) and the test database. Every report task lands on
the reports worker, and each report's snapshot lands once: a period asked for twice is computed
once, and one queued twice by the nights is stored once."""

import os
import subprocess
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from referrals.models import ReportKind, ReportRun, ReportSnapshot
from referrals.reports.loading import Period, reports_prepare
from referrals.tasks import nightly_reports, refresh_report_snapshot
from tests.factories import ReferralFactory
from vsocare.celery import app
from vsocare.tasks import ping

BASE_DIR = Path(settings.BASE_DIR)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def worker_database_url() -> str:
    """settings.DATABASE_URL (a server's, or the embedded cluster's socket) naming the test
    database, which the workers must use."""
    parts = urlsplit(settings.DATABASE_URL)
    return parts._replace(path="/" + connection.settings_dict["NAME"]).geturl()


def wait_until(check, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.fixture
def workers(tmp_path):
    """{queue: worker hostname}: one worker per queue, in processes of their own."""
    app.control.purge()  # what earlier tests queued with no worker to take it
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "vsocare.settings",
    }
    names = {queue: f"{queue}-{os.getpid()}@vsocare-test" for queue in ("celery", "reports")}
    processes = []
    for queue, hostname in names.items():
        log = (tmp_path / f"{queue}.log").open("w")
        processes.append(
            (
                subprocess.Popen(
                    [
                        sys.executable, "-m", "celery", "--app", "vsocare", "worker",
                        "--queues", queue, "--hostname", hostname, "--pool", "solo",
                        "--loglevel", "INFO", "--without-mingle", "--without-gossip",
                    ],
                    cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
                ),
                log,
            )
        )  # fmt: skip
    try:
        wait_until(
            lambda: len(app.control.ping(destination=list(names.values()), timeout=0.5)) == 2,
            timeout=60,
            what="both workers to answer",
        )
        yield names
    finally:
        for process, _ in processes:
            process.terminate()
        for process, log in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()


def test_two_workers_on_two_queues_each_report_lands_once_on_the_reports_worker(
    workers, system, starting_codes, home_from_hospital, patient, icc, tmp_path
):
    ReferralFactory.create_batch(3, service=home_from_hospital, patient=patient, referrer=icc)
    kinds = list(ReportKind.values)
    queues = app.control.inspect(destination=list(workers.values())).active_queues()
    assert {host: [q["name"] for q in found] for host, found in queues.items()} == {
        workers["celery"]: ["celery"], workers["reports"]: ["reports"],
    }  # fmt: skip

    # The nights: their fan-out (first, so that no snapshot yet makes it catch days up), and
    # one period queued twice, as a recovery beside a night would.
    nightly = nightly_reports.delay().get(timeout=20)
    for _ in range(2):
        refresh_report_snapshot.delay(
            ReportKind.REFERRAL_SPLIT, system.pk, "2024-03-01", "2024-03-31"
        )
    # A page asks for one period twice (the second request joins the first) and for two others.
    asked = [
        (date(2025, 1, 1), date(2025, 12, 31)),
        (date(2025, 1, 1), date(2025, 12, 31)),
        (date(2025, 4, 1), date(2025, 6, 30)),
        (date(2025, 7, 1), date(2025, 9, 30)),
    ]
    for date_from, date_to in asked:
        reports_prepare(period=Period(system, date_from, date_to), kinds=kinds)
    assert ping.delay().get(timeout=20) == "pong"

    def all_finished():
        runs = list(ReportRun.objects.values("outcome", "requested"))
        queued = sum(not run["requested"] for run in runs) == nightly + 2
        asked_for = sum(run["requested"] for run in runs) == 3 * len(kinds)
        finished = all(run["outcome"] != "running" for run in runs)
        return queued and asked_for and finished and runs

    runs = wait_until(all_finished, timeout=25, what="every report to finish")
    logs = "".join(path.read_text() for path in tmp_path.glob("*.log"))

    assert {run["outcome"] for run in runs} == {"succeeded"}, logs[-3000:]
    # One snapshot per kind and period, however often it was asked for or queued.
    yesterday = timezone.localdate() - timedelta(days=1)
    nights = {(yesterday, yesterday), (yesterday.replace(day=1), yesterday)}
    nights.add((yesterday.replace(month=1, day=1), yesterday))
    expected = {(kind, *period) for kind in kinds for period in nights | set(asked)}
    expected.add((ReportKind.REFERRAL_SPLIT, date(2024, 3, 1), date(2024, 3, 31)))
    snapshots = Counter(ReportSnapshot.objects.values_list("kind", "date_from", "date_to"))
    assert set(snapshots) == expected
    assert set(snapshots.values()) == {1}

    # Who ran what: each worker's count of the tasks it accepted, by name.
    totals = {
        host: stats["total"]
        for host, stats in app.control.inspect(destination=list(workers.values())).stats().items()
    }
    assert totals[workers["reports"]] == {
        "referrals.nightly_reports": 1,
        "referrals.refresh_report_snapshot": nightly + 2,
        "referrals.prepare_report": 3 * len(kinds),
    }
    assert totals[workers["celery"]] == {"vsocare.ping": 1}
