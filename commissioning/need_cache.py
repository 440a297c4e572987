"""The need codes, kept in the shared cache: read on most pages (the labels on a referral's page
and in the directory, the choices of every form and filter with a need), changed only when an
administrator edits one. Every save and delete of a code drops what is kept, at once and again
at commit (connect_receivers), so every web and Celery process reads the change on its next
request; NEEDS_SECONDS bounds what a write by SQL alone would leave behind."""

import logging
from contextlib import suppress
from functools import partial
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from redis.exceptions import RedisError

from commissioning.models import Need, NeedGroup

logger = logging.getLogger(__name__)

NEEDS_KEY = "commissioning:needs"
NEEDS_SECONDS = 60 * 60

# (code, label, group), in the codes' own order.
NeedRow = tuple[str, str, str]


def need_rows() -> list[NeedRow]:
    """Every need code in its order. When Redis fails, read from the database as if nothing
    were kept: a page never fails for want of its cache."""
    try:
        kept = cache.get(NEEDS_KEY)
    except RedisError as error:
        logger.warning("The need codes cache is unreachable (%r)", error)
        kept = None
    if kept is not None:
        return list(kept)
    rows = list(Need.objects.values_list("code", "label", "group"))
    with suppress(RedisError):  # said when reading
        cache.set(NEEDS_KEY, rows, NEEDS_SECONDS)
    return rows


def group_label(group: str) -> str:
    return str(NeedGroup(group).label) if group in NeedGroup.values else group


def _drop() -> None:
    try:
        cache.delete(NEEDS_KEY)
    except RedisError as error:
        logger.warning("The need codes cache is unreachable (%r): codes may lag", error)


def _need_changed(sender: type[Need], instance: Need, **kwargs: Any) -> None:
    # At once, for what the same transaction reads next; at commit, for a page that read and
    # kept the codes in between.
    _drop()
    transaction.on_commit(partial(_drop))


def connect_receivers() -> None:
    """Called once, from CommissioningConfig.ready()."""
    post_save.connect(_need_changed, sender=Need, dispatch_uid="need-cache")
    post_delete.connect(_need_changed, sender=Need, dispatch_uid="need-cache")
