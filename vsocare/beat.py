"""Celery beat's scheduler: django-celery-beat's, plus a heartbeat that /health/ reads.

The heartbeat is the time beat last sent a scheduled task (or started), kept in the broker's
Redis. A beat that has stopped, or that can no longer reach the broker, stops refreshing it, and
/health/ reports it once the time is older than HEALTH_BEAT_STALE_SECONDS. The `beat-heartbeat`
entry in the schedule makes sure something is sent every minute, since the real work is nightly.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler

from vsocare.health import BEAT_HEARTBEAT_KEY, redis_client

logger = logging.getLogger(__name__)


def record_heartbeat(*, broker_url: str) -> None:
    try:
        redis_client(url=broker_url, timeout=2).set(BEAT_HEARTBEAT_KEY, repr(time.time()))
    except Exception:
        # Never stop the schedule for the sake of its own health report.
        logger.exception("beat: could not record its heartbeat")


class Scheduler(DatabaseScheduler):
    def setup_schedule(self) -> None:
        super().setup_schedule()
        record_heartbeat(broker_url=settings.CELERY_BROKER_URL)

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        result = super().apply_async(entry, producer=producer, advance=advance, **kwargs)
        record_heartbeat(broker_url=settings.CELERY_BROKER_URL)
        return result
