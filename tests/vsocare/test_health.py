"""/health/: the database, the broker, a worker and beat, each within a deadline."""

import copy
import socket
import time

import pytest
from celery.beat import SchedulingError
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import connections

from vsocare.beat import Scheduler, record_heartbeat
from vsocare.celery import app
from vsocare.health import BEAT_HEARTBEAT_KEY, redis_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker():
    # A real worker thread on the real broker; /health/ pings it over the control channel.
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield


@pytest.fixture
def broker():
    client = redis_client(url=settings.CELERY_BROKER_URL, timeout=2)
    saved = client.get(BEAT_HEARTBEAT_KEY)
    yield client
    if saved is None:
        client.delete(BEAT_HEARTBEAT_KEY)
    else:
        client.set(BEAT_HEARTBEAT_KEY, saved)


@pytest.fixture
def beat_just_ran(broker):
    record_heartbeat(broker_url=settings.CELERY_BROKER_URL)


@pytest.fixture
def frozen_server():
    """A TCP port that accepts connections and never answers, like a SIGSTOPped server."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)  # the kernel completes each handshake; nothing ever reads or writes
    yield listener.getsockname()[1]
    listener.close()


def get_health(client):
    started = time.monotonic()
    response = client.get("/health/")
    return response, time.monotonic() - started


def test_health_is_ok_when_the_database_broker_worker_and_beat_all_answer(
    client, worker, beat_just_ran
):
    response, _ = get_health(client)

    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in ("status", "database", "broker", "worker", "beat")} == {
        "status": "ok", "database": True, "broker": True, "worker": True, "beat": True,
    }  # fmt: skip
    assert body["failing"] == []
    assert "answered" in body["detail"]["worker"]
    assert "last ran a scheduled task at" in body["detail"]["beat"]


def test_health_names_a_missing_worker(client, beat_just_ran, settings):
    settings.HEALTH_TIMEOUT_SECONDS = 1

    response, elapsed = get_health(client)

    assert response.status_code == 503
    assert response.json()["failing"] == ["worker"]
    assert response.json()["detail"]["worker"] == "no worker answered a ping within 0.5 s"
    assert elapsed < 2


def test_health_names_a_beat_that_has_not_sent_a_task_for_too_long(client, worker, broker):
    broker.set(BEAT_HEARTBEAT_KEY, repr(time.time() - settings.HEALTH_BEAT_STALE_SECONDS - 5))

    response, _ = get_health(client)

    assert response.status_code == 503
    assert response.json()["failing"] == ["beat"]
    assert "over 600 s ago" in response.json()["detail"]["beat"]


def test_health_names_a_beat_that_never_ran(client, worker, broker):
    broker.delete(BEAT_HEARTBEAT_KEY)

    response, _ = get_health(client)

    assert response.status_code == 503
    assert response.json()["failing"] == ["beat"]
    assert response.json()["detail"]["beat"] == "has not run since the broker started"


def test_health_reports_a_broker_that_does_not_answer(client, settings, tmp_path):
    settings.CELERY_BROKER_URL = f"redis+socket://{tmp_path}/nothing-listens-here.sock"

    response, _ = get_health(client)

    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["database"], body["broker"]) == ("failing", True, False)
    assert body["failing"] == ["broker", "worker", "beat"]
    assert body["detail"]["worker"] == "not checked: the broker did not answer"


def test_a_frozen_broker_gives_503_within_three_seconds_not_a_hung_web_worker(
    client, settings, frozen_server
):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{frozen_server}/0"

    response, elapsed = get_health(client)

    assert response.status_code == 503
    assert response.json()["broker"] is False
    assert response.json()["detail"]["broker"] == "did not answer: TimeoutError"
    assert elapsed < 3


def test_a_frozen_database_gives_503_within_three_seconds(
    client, worker, beat_just_ran, frozen_server, monkeypatch
):
    frozen = copy.deepcopy(connections.settings["default"])
    frozen.update(HOST="127.0.0.1", PORT=str(frozen_server))
    frozen["OPTIONS"].pop("host", None)
    monkeypatch.setitem(connections.settings, "default", frozen)

    response, elapsed = get_health(client)

    assert response.status_code == 503
    # The failed e-mails are counted in the database, so they cannot be counted now either.
    assert response.json()["failing"] == ["database", "mail"]
    assert response.json()["detail"]["database"] == "did not answer within 2 s"
    assert elapsed < 3


def test_health_needs_no_sign_in_and_is_never_cached(client):
    response = client.get("/health/")

    assert "no-cache" in response["Cache-Control"]


def test_beat_records_a_heartbeat_when_it_sends_a_task_and_not_when_sending_fails(broker):
    scheduler = Scheduler(app=app, lazy=True)
    entry = scheduler.Entry.from_entry(
        "beat-heartbeat", app=app, **app.conf.beat_schedule["beat-heartbeat"]
    )
    broker.set(BEAT_HEARTBEAT_KEY, "0")

    scheduler.apply_async(entry)

    assert time.time() - float(broker.get(BEAT_HEARTBEAT_KEY)) < 5

    broker.set(BEAT_HEARTBEAT_KEY, "0")

    class BrokenProducer:
        def __getattr__(self, name):
            raise ConnectionError("broker gone")

    with pytest.raises(SchedulingError):
        scheduler.apply_async(entry, producer=BrokenProducer())
    assert broker.get(BEAT_HEARTBEAT_KEY) == b"0"


def test_beat_sends_a_heartbeat_every_minute_that_expires_unconsumed():
    entry = settings.CELERY_BEAT_SCHEDULE["beat-heartbeat"]

    assert entry["task"] == "vsocare.beat_heartbeat"
    assert entry["schedule"].total_seconds() == 60
    assert entry["options"]["expires"] < 60
    assert settings.CELERY_BEAT_SCHEDULER == "vsocare.beat:Scheduler"
