"""Small tables read on most pages and changed only by an administrator (the need codes, each
system's concern deadlines), kept in the shared cache until a write changes them.

Every save and delete of a row drops what is kept, at once and again at commit, so every web
and Celery process reads the change on its next request: at once for what the same transaction
reads next, at commit for a request that read and kept the old rows in between. `seconds`
bounds what a write by SQL alone, which sends no signal, would leave behind. When Redis fails,
the rows are read from the database as if nothing were kept: a page never fails for want of
its cache.
"""

import logging
from collections.abc import Callable
from contextlib import suppress
from functools import partial
from typing import Any, Generic, TypeVar, cast

from django.core.cache import cache
from django.db import models, transaction
from django.db.models.signals import post_delete, post_save
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Kept(Generic[T]):
    """What `load(part)` reads, kept under `key:part` (a part per system, or "" for one)."""

    def __init__(self, *, key: str, seconds: int, load: Callable[[str], T]) -> None:
        self.key = key
        self.seconds = seconds
        self.load = load

    def _key(self, part: str) -> str:
        return f"{self.key}:{part}"

    def get(self, part: str = "") -> T:
        try:
            kept = cache.get(self._key(part))
        except RedisError as error:
            logger.warning("%s: the cache is unreachable (%r), read again", self.key, error)
            kept = None
        if kept is not None:
            return cast(T, kept)
        value = self.load(part)
        with suppress(RedisError):  # said when reading
            cache.set(self._key(part), value, self.seconds)
        return value

    def drop(self, part: str = "") -> None:
        try:
            cache.delete(self._key(part))
        except RedisError as error:
            logger.warning("%s: the cache is unreachable (%r), it may lag", self.key, error)

    def drop_on_write(
        self, model: type[models.Model], *, part_of: Callable[[Any], str] = lambda row: ""
    ) -> None:
        """Called once, from the app's ready(): each save and delete of `model` drops the part
        `part_of(row)` names."""

        def changed(sender: type[models.Model], instance: Any, **kwargs: Any) -> None:
            part = part_of(instance)
            self.drop(part)
            transaction.on_commit(partial(self.drop, part))

        uid = f"kept-{self.key}-{model._meta.label}"
        post_save.connect(changed, sender=model, dispatch_uid=uid, weak=False)
        post_delete.connect(changed, sender=model, dispatch_uid=uid, weak=False)
