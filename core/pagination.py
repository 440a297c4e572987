"""Keyset pagination for the lists people use all day.

A numbered page (`?page=40`) makes the database sort and skip every row before it, and the
"page 40 of 1,000" it shows needs a COUNT(*) of every visible row: on millions of referrals both
grow with the data. A keyset page asks for the rows after (or before) the last one shown, in the
order of an index, so the database reads only the rows it shows; the total is counted up to a
bound ("more than 1,000"), which is as much as anyone reads from it.

A cursor is the sort key and the id of the row at a page's edge, written as two integers
(microseconds since the epoch, and the id): anything else in the query string is page one, never
an error. A cursor only narrows the rows the caller's querysets already allow, so a forged one
shows nothing that the first page's links would not reach.
"""

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar
from urllib.parse import urlencode

from django.db import models
from django.db.models import Q, QuerySet

M = TypeVar("M", bound=models.Model)

AFTER, BEFORE = "after", "before"
# Stale numbered links (bookmarks from before keyset pages) are dropped from new links too.
PAGING_NAMES = (AFTER, BEFORE, "page")
COUNT_BOUND = 1000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
CURSOR = re.compile(r"(-?[0-9]{1,17})\.([0-9]{1,18})")
BIGINT_MAX = 2**63 - 1


@dataclass(frozen=True)
class Cursor:
    """A row's place in a list ordered by a timestamp and then the id."""

    at: datetime
    pk: int

    def encode(self) -> str:
        return f"{(self.at - EPOCH) // MICROSECOND}.{self.pk}"

    @classmethod
    def decode(cls, text: str | None) -> "Cursor | None":
        """The cursor written in `text`, or None for anything that is not one."""
        found = CURSOR.fullmatch(text or "")
        if found is None or int(found[2]) > BIGINT_MAX:
            return None
        try:
            at = EPOCH + int(found[1]) * MICROSECOND
        except OverflowError:  # a date beyond year 9999
            return None
        return cls(at=at, pk=int(found[2]))

    @classmethod
    def of(cls, row: models.Model, field: str) -> "Cursor":
        return cls(at=getattr(row, field), pk=row.pk)


@dataclass
class KeysetPage(Generic[M]):
    """One page of a keyset-paginated list, with the links to its neighbours.

    `count` is exact up to COUNT_BOUND; `count_bounded` says the list holds more than that."""

    rows: list[M]
    count: int
    count_bounded: bool
    previous_url: str | None
    next_url: str | None
    first_url: str | None

    def __iter__(self) -> Iterator[M]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __bool__(self) -> bool:
        return bool(self.rows)

    @property
    def count_in_words(self) -> str:
        return f"More than {COUNT_BOUND:,}" if self.count_bounded else f"{self.count:,}"


def _beyond(cursor: Cursor, *, field: str, later: bool) -> Q:
    """The rows past the cursor in one direction. The first condition alone bounds an index
    range scan on (…, field); the second breaks ties on the timestamp by id."""
    if later:
        return Q(**{f"{field}__gte": cursor.at}) & (
            Q(**{f"{field}__gt": cursor.at}) | Q(**{field: cursor.at, "pk__gt": cursor.pk})
        )
    return Q(**{f"{field}__lte": cursor.at}) & (
        Q(**{f"{field}__lt": cursor.at}) | Q(**{field: cursor.at, "pk__lt": cursor.pk})
    )


def _link(query: Mapping[str, str], **paging: str) -> str:
    kept = [(name, value) for name, value in query.items() if name not in PAGING_NAMES]
    return "?" + urlencode(kept + list(paging.items()))


def keyset_page(
    parts: Sequence[QuerySet[M]],
    *,
    rows: QuerySet[M],
    query: Mapping[str, str],
    field: str,
    newest_first: bool,
    size: int,
) -> KeysetPage[M]:
    """The page of the union of `parts` that the query string's cursor asks for, fetched as
    `rows` (its select_related and annotations; its filters are ignored: `parts` decide).

    Each part is one index range (an OR of two columns cannot use one index in order, two
    halves can): each gives at most a page and one row, and their union is sorted again.
    Three queries at most: the page, and the bounded count when there is more than one page.
    """
    after, before = Cursor.decode(query.get(AFTER)), Cursor.decode(query.get(BEFORE))
    backwards = after is None and before is not None
    cursor = after or before
    # "After" follows the list's own order; reading backwards flips it and the rows come back.
    ascending = newest_first == backwards
    order = [field, "pk"] if ascending else [f"-{field}", "-pk"]
    limited = []
    for part in parts:
        if cursor is not None:
            part = part.filter(_beyond(cursor, field=field, later=ascending))
        limited.append(part.order_by(*order).values("pk")[: size + 1])
    ids = limited[0].union(*limited[1:]) if len(limited) > 1 else limited[0]
    found = list(rows.filter(pk__in=ids).order_by(*order)[: size + 1])
    more = len(found) > size
    found = found[:size]
    if backwards:
        found.reverse()
    has_previous = more if backwards else cursor is not None
    has_next = True if backwards else more
    count, bounded = _bounded_count(parts, shown=len(found), first=cursor is None, more=more)
    return KeysetPage(
        rows=found,
        count=count,
        count_bounded=bounded,
        previous_url=(
            _link(query, **{BEFORE: Cursor.of(found[0], field).encode()})
            if has_previous and found
            else None
        ),
        next_url=(
            _link(query, **{AFTER: Cursor.of(found[-1], field).encode()})
            if has_next and found
            else None
        ),
        first_url=_link(query) if cursor is not None else None,
    )


def _bounded_count(
    parts: Sequence[QuerySet[M]], *, shown: int, first: bool, more: bool
) -> tuple[int, bool]:
    """How many rows the list holds, counted up to COUNT_BOUND: no count at all when the first
    page holds them all. Each part is cut at the bound before the union, so when the union
    holds no more than the bound every part was counted whole."""
    if first and not more:
        return shown, False
    cut = [part.order_by().values("pk")[: COUNT_BOUND + 1] for part in parts]
    counted = (cut[0].union(*cut[1:]) if len(cut) > 1 else cut[0]).count()
    return min(counted, COUNT_BOUND), counted > COUNT_BOUND
