"""Sessions read from the shared cache and kept in the database: Django's cached_db store, which
spares every request the session query, made to survive a Redis that does not answer.

Django's own store already ignores a failed read and a failed write to the cache; refilling the
cache after a read from the database, and dropping a session from it, still raise. Here neither
does: without Redis every page reads its session from the database, as it would with the plain
database store. The copy kept in Redis carries the expiry of its database row and is never read
past it, whatever Redis's own expiry does, so the idle limit (SESSION_IDLE_MINUTES) holds as it
did. A session ended while Redis is unreachable is gone from the database but may still be read
from Redis when it answers again, until that expiry.
"""

import logging
from datetime import datetime
from typing import Any, cast

from django.conf import settings
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.utils import timezone
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


# What is kept in the cache: the session and when it expires, so a copy is never read past the
# time its database row stops being read, whatever the cache's own expiry does.
SESSION, UNTIL = "session", "until"


class SessionStore(CachedDBStore):
    def load(self) -> dict[str, Any]:
        try:
            held = caches[settings.SESSION_CACHE_ALIAS].get(self.cache_key)
        except RedisError as error:
            logger.warning("Sessions are read from the database: the cache fails (%r)", error)
            return self._from_database(keep=False)
        kept_and_current = (
            isinstance(held, dict)
            and held.keys() == {SESSION, UNTIL}
            and held[UNTIL] > timezone.now().timestamp()
        )
        if kept_and_current:
            return cast(dict[str, Any], held[SESSION])
        return self._from_database(keep=True)

    def _from_database(self, *, keep: bool) -> dict[str, Any]:
        row = (
            Session.objects.filter(
                session_key=self.session_key, expire_date__gt=timezone.now()
            ).first()
            if self.session_key
            else None
        )
        if row is None:
            # As Django's database store: a key that was never issued, or has expired, is
            # replaced by a new one if anything is saved.
            self._session_key = None
            return {}
        data = self.decode(row.session_data)
        if keep:
            self._keep(data, row.expire_date)
        return data

    def _keep(self, data: dict[str, Any], until: datetime) -> None:
        try:
            caches[settings.SESSION_CACHE_ALIAS].set(
                self.cache_key,
                {SESSION: data, UNTIL: until.timestamp()},
                self.get_expiry_age(expiry=until),
            )
        except RedisError as error:
            logger.warning("A session was not kept in the cache (%r)", error)

    def save(self, must_create: bool = False) -> None:
        # The database's save, without cached_db's own copy in the cache, which has no expiry.
        super(CachedDBStore, self).save(must_create)
        # The save has read or made the session: items() reads it again from memory.
        self._keep(dict(self.items()), self.get_expiry_date())

    def exists(self, session_key: str | None) -> bool:
        # Asked of every new session key, at sign-in: the database alone answers for certain.
        return Session.objects.filter(session_key=session_key).exists()

    def delete(self, session_key: str | None = None) -> None:
        try:
            super().delete(session_key)
        except RedisError as error:
            # The database row is gone, and with it the session once the kept copy expires.
            logger.error("An ended session stays in the cache until it expires (%r)", error)


def session_end(session_key: str) -> None:
    """End one session wherever it is kept: in the database and in the cache."""
    SessionStore().delete(session_key)
