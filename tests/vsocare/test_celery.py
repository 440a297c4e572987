from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from vsocare.celery import app
from vsocare.tasks import clear_expired_sessions, ping


def test_a_worker_on_the_configured_broker_runs_the_health_task():
    # A real worker thread consuming from the real broker (embedded or REDIS_URL), not eager mode.
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        assert ping.delay().get(timeout=20) == "pong"


def test_celery_reads_its_settings_from_django_with_the_celery_prefix():
    assert app.conf.broker_url == settings.REDIS_URL
    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_acks_late is True
    assert app.conf.task_time_limit == 30 * 60
    assert app.conf.task_soft_time_limit < app.conf.task_time_limit
    assert app.conf.beat_scheduler == "vsocare.beat:Scheduler"


@pytest.mark.django_db
def test_the_nightly_session_clean_up_deletes_only_expired_sessions(client, icc):
    import time_machine
    from django.contrib.sessions.models import Session

    with time_machine.travel("2026-11-22 09:00 +0000"):
        client.force_login(icc)
    client.force_login(icc)

    assert clear_expired_sessions() == 1
    assert Session.objects.count() == 1


# The reports' own queue (docs/deploy.md): a host of workers can be given to it alone.
REPORT_TASKS = {
    "referrals.nightly_reports", "referrals.refresh_report_snapshot", "referrals.prepare_report",
}  # fmt: skip


def test_the_reports_go_on_their_own_queue_and_every_other_task_on_the_default_one():
    app.loader.import_default_modules()
    ours = {name for name in app.tasks if not name.startswith("celery.")}

    queues = {name: app.amqp.router.route({}, name, (), {})["queue"].name for name in ours}

    assert ours > REPORT_TASKS
    assert {name for name, queue in queues.items() if queue == "reports"} == REPORT_TASKS
    assert {queue for name, queue in queues.items() if name not in REPORT_TASKS} == {"celery"}
    # What notices a dead reports worker must not wait behind the reports.
    assert queues["referrals.recover_report_runs"] == "celery"


def test_a_worker_told_no_queue_consumes_both_as_make_runs_does():
    assert set(app.amqp.queues.consume_from) == {"celery", "reports"}
    procfile = (Path(settings.BASE_DIR) / "Procfile").read_text().splitlines()
    worker = next(line for line in procfile if line.startswith("worker:"))
    assert " -Q" not in worker and "--queues" not in worker
