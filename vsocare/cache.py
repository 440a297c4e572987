"""The cache every process shares: Django's RedisCache on the application's Redis.

The cache lives in the same Redis database as the Celery broker's queues and results, under its
own key prefix. Django's RedisCache.clear() runs FLUSHDB, which there would also drop every task
waiting to run; this backend's clear() deletes only the keys under its prefix.
"""

from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured

# Keys deleted per command when clearing: a few thousand keys must not block Redis in one go.
CLEAR_BATCH = 1000


def redis_py_url(url: str) -> str:
    """The URL redis-py understands for a Celery broker URL: kombu spells a Unix socket
    `redis+socket:///path?virtual_host=N`, redis-py `unix:///path?db=N`."""
    parts = urlsplit(url)
    if parts.scheme != "redis+socket":
        return url
    db = parse_qs(parts.query).get("virtual_host", ["0"])[0] or "0"
    return f"unix://{parts.path}?db={db}"


class PrefixedRedisCache(RedisCache):
    """RedisCache whose clear() removes only its own keys, so it may share a Redis database."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        if not self.key_prefix or any(char in self.key_prefix for char in "*?[]\\"):
            raise ImproperlyConfigured(
                "The cache needs a plain KEY_PREFIX: clear() deletes the keys it starts"
            )

    def clear(self) -> None:
        client = self._cache.get_client(None, write=True)
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{self.key_prefix}:*", count=CLEAR_BATCH):
            batch.append(key)
            if len(batch) == CLEAR_BATCH:
                client.unlink(*batch)
                batch = []
        if batch:
            client.unlink(*batch)
