"""Liveness checks used by /health/: each answers True or False and never raises."""

import logging

from django.db import connection
from kombu import Connection

logger = logging.getLogger(__name__)


def database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.exception("health check: database did not answer")
        return False


def broker_answers(*, url: str, timeout: float = 2.0) -> bool:
    try:
        with Connection(url, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
            return True
    except Exception:
        logger.exception("health check: broker did not answer")
        return False
