"""The remit page's figures, kept in the shared cache until a write changes them
(docs/remit-page.md, "How the page stays quick").

Each organisation has a generation in the cache: a random token that every write which can
change its remit page replaces (remit_page_changed). A page is kept under its organisation, month
and day together with the generation it was computed under, and is used only while that is still
the organisation's generation. The generation is read before the figures are computed, so a page
computed while a write commits is stored under the old generation and is never used.

Writes through a model's save() or delete(), the services' and the admin's alike, reach
remit_page_changed through the receivers connect_receivers() installs; writes through update()
or SQL call it themselves. Anything missed is stale for PAGE_SECONDS at most.
"""

import logging
import time
from collections.abc import Callable, Iterable
from datetime import date
from functools import partial
from typing import Any, TypeVar, cast
from uuid import uuid4

from django.core.cache import cache
from django.db import transaction
from django.db.models import Model, Q
from django.db.models.signals import post_delete, post_save
from redis.exceptions import RedisError

from commissioning.models import Sector, Service, ServiceSpecification
from referrals.models import Concern, Episode, Referral, RemitLimitMark

logger = logging.getLogger(__name__)

# The longest a page may lag a write that did not say so (an edit through SQL by hand, a name
# changed on an account). The figures depend on the day, not the time of day: the day is in the
# key, so midnight starts afresh.
PAGE_SECONDS = 15 * 60
# A generation that expires is simply made again, and the pages stored under it go unused.
GENERATION_SECONDS = 7 * 24 * 3600
WARN_EVERY_SECONDS = 60

T = TypeVar("T")


def _generation_key(organisation_id: int) -> str:
    return f"remit-page:{organisation_id}:generation"


# Raised when what is kept changes shape, so that a release never reads a page kept by the one
# before it.
PAGE_FORMAT = 2


def _page_key(organisation_id: int, month: date, today: date) -> str:
    return f"remit-page:v{PAGE_FORMAT}:{organisation_id}:{month:%Y-%m}:{today.isoformat()}"


def remit_page_cached(
    *, organisation_id: int, month: date, today: date, compute: Callable[[], T]
) -> T:
    """The organisation's figures for the month as of today: kept ones while no write has changed
    them since, else compute() (kept for the next request). One round trip to Redis when kept.
    When Redis fails the figures are computed, as if nothing were kept."""
    generation_key = _generation_key(organisation_id)
    page_key = _page_key(organisation_id, month, today)
    try:
        found = cache.get_many([generation_key, page_key])
        generation = found.get(generation_key)
        if generation is None:
            generation = uuid4().hex
            if not cache.add(generation_key, generation, GENERATION_SECONDS):
                # Another request made it first; None (expired at once) keeps nothing.
                generation = cache.get(generation_key)
        kept = found.get(page_key)
    except RedisError as error:
        _unreachable(error, "computing the page")
        return compute()
    if kept is not None and generation is not None and kept[0] == generation:
        return cast(T, kept[1])
    # In a transaction, which core.replica's router keeps on the primary: figures kept under the
    # newest generation must include the write that made it, and a replica may lag behind it.
    with transaction.atomic(savepoint=False):
        page = compute()
    if generation is not None:
        try:
            cache.set(page_key, (generation, page), PAGE_SECONDS)
        except RedisError as error:
            _unreachable(error, "page not kept")
    return page


def remit_page_changed(*, organisation_ids: Iterable[int | None]) -> None:
    """A write changed what these organisations' remit pages show: every page kept for them is
    dropped now, and again when the transaction commits. The second is what makes it exact: a
    page computed between the two, from the data before the commit, is dropped with it. The first
    shows the change at once to anything read later in the same transaction."""
    ids = sorted({pk for pk in organisation_ids if pk is not None})
    if not ids:
        return
    if transaction.get_connection().in_atomic_block:
        _new_generations(ids)
    transaction.on_commit(partial(_new_generations, ids))


def _new_generations(organisation_ids: list[int]) -> None:
    token = uuid4().hex
    try:
        cache.set_many({_generation_key(pk): token for pk in organisation_ids}, GENERATION_SECONDS)
    except RedisError as error:
        # The write stands; its pages catch up within PAGE_SECONDS.
        _unreachable(error, f"pages may lag a write by up to {PAGE_SECONDS} s")


_last_warned: list[float] = [-float(WARN_EVERY_SECONDS)]


def _unreachable(error: RedisError, consequence: str) -> None:
    """Warns at most once a minute: a command saving hundreds of rows while Redis is down
    would otherwise write hundreds of the same line."""
    now = time.monotonic()
    if now - _last_warned[0] >= WARN_EVERY_SECONDS:
        _last_warned[0] = now
        logger.warning("The remit page cache is unreachable (%r): %s", error, consequence)


def organisations_reading(*, referral_ids: Iterable[int]) -> set[int]:
    """The organisations whose remit pages read these referrals: those they went to and, for a
    statutory referral, the voluntary organisations covering its wait (the interim cover rule
    measures the wait)."""
    ids = list(referral_ids)
    if not ids:
        return set()
    return set(
        Referral.objects.filter(Q(pk__in=ids) | Q(interim_cover_for_id__in=ids))
        .order_by()
        .values_list("organisation_id", flat=True)
        .distinct()
    )


def referral_changed(*, referral: Referral) -> None:
    """remit_page_changed for a referral that changed, by its organisation and any covering it."""
    if referral.destination_sector == Sector.VOLUNTARY:
        remit_page_changed(organisation_ids=[referral.organisation_id])
    else:
        remit_page_changed(organisation_ids=organisations_reading(referral_ids=[referral.pk]))


# --- The receivers: every save() and delete() of what the page reads ----------------------------


def _referral_saved(sender: type[Model], instance: Referral, **kwargs: Any) -> None:
    if kwargs.get("created"):
        # Nothing covers a referral just made.
        remit_page_changed(organisation_ids=[instance.organisation_id])
    else:
        referral_changed(referral=instance)


def _by_referral(
    sender: type[Model], instance: RemitLimitMark | Episode | Concern, **kwargs: Any
) -> None:
    """A mark, an episode or a concern: the page of the organisation its referral went to."""
    if type(instance).referral.is_cached(instance):
        organisation_ids = [instance.referral.organisation_id]
    else:
        organisation_ids = list(
            Referral.objects.filter(pk=instance.referral_id).values_list(
                "organisation_id", flat=True
            )
        )
    remit_page_changed(organisation_ids=organisation_ids)


def _service_changed(sender: type[Model], instance: Service, **kwargs: Any) -> None:
    remit_page_changed(organisation_ids=[instance.organisation_id])


def _specification_changed(
    sender: type[Model], instance: ServiceSpecification, **kwargs: Any
) -> None:
    remit_page_changed(
        organisation_ids=Service.objects.filter(pk=instance.service_id).values_list(
            "organisation_id", flat=True
        )
    )


def connect_receivers() -> None:
    """Called once, from ReferralsConfig.ready()."""
    receivers: list[tuple[type[Model], Callable[..., None]]] = [
        (Referral, _referral_saved),
        (RemitLimitMark, _by_referral),
        (Episode, _by_referral),
        (Concern, _by_referral),
        (Service, _service_changed),
        (ServiceSpecification, _specification_changed),
    ]
    for model, receiver in receivers:
        uid = f"remit-page:{model._meta.label}"
        post_save.connect(receiver, sender=model, dispatch_uid=uid)
        post_delete.connect(receiver, sender=model, dispatch_uid=uid)
