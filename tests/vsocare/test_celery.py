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
