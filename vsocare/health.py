"""The checks behind /health/: the database, the broker, a Celery worker, Celery beat and the
notification e-mails.

Each check returns a `Check` and never raises, and each has a deadline that covers reads as well
as connecting: a server that accepts a connection and then never answers (a frozen process) must
turn /health/ into a 503 within a few seconds, not hold a web worker until a load balancer gives
up on it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import redis
from django.db import connections
from django.utils import timezone
from kombu import Connection
from redis.backoff import NoBackoff
from redis.retry import Retry

from accounts.models import Notification

logger = logging.getLogger(__name__)

# Written by the beat process (vsocare.beat) each time it starts and each time it sends a task.
BEAT_HEARTBEAT_KEY = "vsocare:beat:last-sent"


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str


def redis_client(*, url: str, timeout: float) -> redis.Redis:
    """A Redis client for a Celery broker URL, with connect and read timeouts.

    Celery and kombu spell a Unix socket `redis+socket:///path?virtual_host=N`; redis-py spells
    it `unix:///path?db=N`. No retries: redis-py's default of three with back-off would turn a
    missing server into four seconds of waiting.
    """
    no_retry = Retry(NoBackoff(), 0)
    parts = urlsplit(url)
    if parts.scheme == "redis+socket":
        db = parse_qs(parts.query).get("virtual_host", ["0"])[0] or "0"
        return redis.Redis(
            unix_socket_path=parts.path,
            db=int(db),
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=no_retry,
        )
    return redis.Redis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=no_retry
    )


class _DatabaseProbe:
    """SELECT 1, then the notification e-mails that failed after every retry since `since` (a
    partial index holds only failures), on a connection of its own, so that a probe abandoned
    at its deadline never leaves the request's connection half-used."""

    def __init__(self, *, since: datetime):
        self.since = since
        self.failed_emails: int | None = None

    def __call__(self) -> None:
        conn = connections.create_connection("default")
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT 1")
                if cursor.fetchone() != (1,):
                    raise RuntimeError("SELECT 1 did not return 1")
                cursor.execute(
                    f"SELECT count(*) FROM {Notification._meta.db_table} "
                    "WHERE email_failed_at IS NOT NULL AND email_failed_at >= %s",
                    [self.since],
                )
                self.failed_emails = cursor.fetchone()[0]
        finally:
            conn.close()


class _Deadline:
    """Runs a probe in a daemon thread; `result()` waits no longer than the timeout.

    libpq has no read timeout, so a database that stops answering mid-query would otherwise
    block the request for as long as TCP keeps the connection.
    """

    def __init__(self, probe, *, timeout: float):
        self.timeout = timeout
        self.started = time.monotonic()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(probe,), daemon=True)
        self.thread.start()

    def _run(self, probe) -> None:
        try:
            probe()
        except BaseException as error:  # reported by result(), never raised
            self.error = error

    def result(self, *, what: str) -> Check:
        self.thread.join(max(0.0, self.timeout - (time.monotonic() - self.started)))
        if self.thread.is_alive():
            logger.error("health check: %s did not answer within %.1f s", what, self.timeout)
            return Check(False, f"did not answer within {self.timeout:g} s")
        if self.error is not None:
            logger.error("health check: %s failed: %s", what, self.error)
            return Check(False, f"{type(self.error).__name__}: {self.error}")
        return Check(True, "answered")


def broker_check(*, client: redis.Redis) -> Check:
    try:
        client.ping()
    except Exception as error:
        logger.error("health check: broker did not answer: %s", error)
        return Check(False, f"did not answer: {type(error).__name__}")
    return Check(True, "answered")


def worker_check(*, url: str, timeout: float) -> Check:
    """Asks every worker for a ping over the broker's control channel.

    The control channel is answered by the worker's main process even while all of its pool is
    busy with a long report, so a busy worker still counts as up.
    """
    options = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    try:
        from vsocare.celery import app

        with Connection(url, connect_timeout=timeout, transport_options=options) as conn:
            # One reply is enough, and waiting for more would hold every probe to the timeout.
            replies = app.control.ping(timeout=timeout, limit=1, connection=conn)
    except Exception as error:
        logger.error("health check: worker ping failed: %s", error)
        return Check(False, f"ping failed: {type(error).__name__}")
    if not replies:
        return Check(False, f"no worker answered a ping within {timeout:g} s")
    names = sorted(name for reply in replies for name in reply)
    return Check(True, f"{', '.join(names)} answered")


def beat_check(*, client: redis.Redis, stale_after: float) -> Check:
    try:
        raw = client.get(BEAT_HEARTBEAT_KEY)
    except Exception as error:
        logger.error("health check: could not read beat's heartbeat: %s", error)
        return Check(False, f"heartbeat unreadable: {type(error).__name__}")
    if raw is None:
        return Check(False, "has not run since the broker started")
    last = float(raw)
    age = time.time() - last
    when = datetime.fromtimestamp(last, UTC).isoformat(timespec="seconds")
    if age > stale_after:
        return Check(False, f"last ran a scheduled task at {when}, over {stale_after:g} s ago")
    return Check(True, f"last ran a scheduled task at {when}")


# An e-mail that failed after every retry is reported for a day: long enough for someone to
# see it, and it clears by itself once the mail server is mended and nothing new fails.
MAIL_FAILURE_WINDOW = timedelta(hours=24)


def mail_check(*, failed: int | None) -> Check:
    """Notification e-mails that failed after every retry in the last day. The notifications
    themselves are still in the app; the e-mails were not delivered."""
    if failed is None:
        return Check(False, "not checked: the database did not answer")
    if failed:
        plural = "s" if failed != 1 else ""
        logger.error(
            "health check: %s notification e-mail%s failed in the last 24 h", failed, plural
        )
        return Check(
            False, f"{failed} notification e-mail{plural} failed after every retry in the last 24 h"
        )
    return Check(True, "no notification e-mail failed in the last 24 h")


def run_checks(*, broker_url: str, timeout: float, beat_stale_after: float) -> dict[str, Check]:
    """Every check, within about `timeout` seconds in all (the database runs alongside)."""
    probe = _DatabaseProbe(since=timezone.now() - MAIL_FAILURE_WINDOW)
    database = _Deadline(probe, timeout=timeout)
    # One connection serves the broker check and beat's heartbeat.
    client = redis_client(url=broker_url, timeout=timeout / 2)
    try:
        broker = broker_check(client=client)
        if broker.ok:
            worker = worker_check(url=broker_url, timeout=timeout / 2)
            beat = beat_check(client=client, stale_after=beat_stale_after)
        else:
            worker = beat = Check(False, "not checked: the broker did not answer")
    finally:
        client.close()
    database_check = database.result(what="the database")
    return {
        "database": database_check,
        "broker": broker,
        "worker": worker,
        "beat": beat,
        "mail": mail_check(failed=probe.failed_emails if database_check.ok else None),
    }
