"""Keyset pagination for the lists people use all day.

A numbered page (`?page=40`) makes the database sort and skip every row before it, and the
"page 40 of 1,000" it shows needs a COUNT(*) of every visible row: on millions of referrals both
grow with the data. A keyset page asks for the rows after (or before) the last one shown, in the
order of an index, so the database reads only the rows it shows; the total is counted up to a
bound ("more than 1,000"), which is as much as anyone reads from it.

A cursor is the sort keys of the row at a page's edge, the id last, written as integers joined
by dots (a time as microseconds since the epoch): anything else in the query string is page one,
never an error. A cursor only narrows the rows the caller's querysets already allow, so a forged
one shows nothing that the first page's links would not reach.
"""

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db import models
from django.db.models import Count, Q, QuerySet, Window

M = TypeVar("M", bound=models.Model)
R = TypeVar("R")

AFTER, BEFORE = "after", "before"
# Stale numbered links (bookmarks from before keyset pages) are dropped from new links too.
PAGING_NAMES = (AFTER, BEFORE, "page")
COUNT_BOUND = 1000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
BIGINT_MAX = 2**63 - 1


@dataclass(frozen=True)
class SortKey:
    """One column of a list's order: a field or an annotation of the list's querysets, which
    way it runs, and whether it holds times (in a cursor, microseconds since the epoch) or whole
    numbers. The last key of every list is "pk", so that no two rows share a place."""

    name: str
    descending: bool = False
    time: bool = False

    def order(self, *, backwards: bool) -> str:
        return f"-{self.name}" if self.descending != backwards else self.name


KEY_VALUE = re.compile(r"-?[0-9]{1,19}")


def encode_keys(values: Sequence[object], keys: Sequence[SortKey]) -> str:
    """A row's place in the list, as its keys' values joined by dots."""
    return ".".join(str(_number(value, key)) for value, key in zip(values, keys, strict=True))


def _number(value: object, key: SortKey) -> int:
    if key.time:
        assert isinstance(value, datetime)
        return (value - EPOCH) // MICROSECOND
    assert isinstance(value, int)  # a boolean is one too
    return int(value)


def in_order(
    rows: Iterable[R],
    keys: Sequence[SortKey],
    *,
    backwards: bool = False,
    get: Callable[[R, str], object] = getattr,
) -> list[R]:
    """The rows in the order of `keys`, as PostgreSQL would give them: every key holds a
    number or a time (never null), so the keys' numbers order them the same way. For a few
    rows of a query of many joined tables, whose ORDER BY makes Django hash every selected
    column and PostgreSQL sort the joined rows (a referral's concerns: 24 → 12 ms). `get`
    reads a key of a row: an attribute of a model, or `dict.__getitem__` for values()."""

    def place(row: R) -> tuple[int, ...]:
        numbers = (_number(get(row, key.name), key) for key in keys)
        return tuple(
            -number if key.descending else number for key, number in zip(keys, numbers, strict=True)
        )

    return sorted(rows, key=place, reverse=backwards)


def decode_keys(text: str | None, keys: Sequence[SortKey]) -> tuple[object, ...] | None:
    """The values written in `text` for `keys`, or None for anything that is not a place in
    this list: a wrong number of parts, anything but ASCII digits, a number beyond a bigint,
    a time beyond the calendar."""
    pieces = (text or "").split(".")
    if len(pieces) != len(keys) or not all(KEY_VALUE.fullmatch(piece) for piece in pieces):
        return None
    values: list[object] = []
    for piece, key in zip(pieces, keys, strict=True):
        number = int(piece)
        if abs(number) > BIGINT_MAX:
            return None
        if not key.time:
            values.append(number)
            continue
        try:
            values.append(EPOCH + number * MICROSECOND)
        except OverflowError:  # a date before year 1 or beyond year 9999
            return None
    return tuple(values)


# The two-key order of the referral lists: a timestamp, then the id.
def _time_then_id(field: str, *, descending: bool) -> tuple[SortKey, SortKey]:
    return SortKey(field, descending=descending, time=True), SortKey("pk", descending=descending)


@dataclass(frozen=True)
class Cursor:
    """A row's place in a list ordered by a timestamp and then the id."""

    at: datetime
    pk: int

    def encode(self) -> str:
        return encode_keys((self.at, self.pk), _time_then_id("at", descending=False))

    @classmethod
    def decode(cls, text: str | None) -> "Cursor | None":
        """The cursor written in `text`, or None for anything that is not one."""
        values = decode_keys(text, _time_then_id("at", descending=False))
        if values is None:
            return None
        at, pk = values
        assert isinstance(at, datetime) and isinstance(pk, int)
        return cls(at=at, pk=pk)


@dataclass
class KeysetPage(Generic[M]):
    """One page of a keyset-paginated list, with the links to its neighbours.

    `count` is exact up to the list's bound (COUNT_BOUND unless it names another);
    `count_bounded` says the list holds more than that."""

    rows: list[M]
    count: int
    count_bounded: bool
    previous_url: str | None
    next_url: str | None
    first_url: str | None
    bound: int = COUNT_BOUND

    def __iter__(self) -> Iterator[M]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __bool__(self) -> bool:
        return bool(self.rows)

    @property
    def count_in_words(self) -> str:
        return f"More than {self.bound:,}" if self.count_bounded else f"{self.count:,}"


def _beyond(values: Sequence[object], keys: Sequence[SortKey], *, forward: bool) -> Q:
    """The rows past a place in one direction: past it on the first key, or level on it and
    past it on the next, and so on. The first key's own bound, repeated outside the OR, is an
    index range; the rest only break ties."""
    beyond: Q | None = None
    for value, key in reversed(list(zip(values, keys, strict=True))):
        past = Q(**{f"{key.name}__{'gt' if key.descending != forward else 'lt'}": value})
        beyond = past if beyond is None else past | (Q(**{key.name: value}) & beyond)
    assert beyond is not None
    first = "gte" if keys[0].descending != forward else "lte"
    return Q(**{f"{keys[0].name}__{first}": values[0]}) & beyond


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
    """keyset_page_by for a list ordered by the timestamp `field` and then the id, newest or
    oldest first."""
    return keyset_page_by(
        parts,
        rows=rows,
        query=query,
        keys=_time_then_id(field, descending=newest_first),
        size=size,
    )


def keyset_page_by(
    parts: Sequence[QuerySet[M]],
    *,
    rows: QuerySet[M],
    query: Mapping[str, str],
    keys: Sequence[SortKey],
    size: int,
    bound: int | None = None,
    ids_first: bool = False,
) -> KeysetPage[M]:
    """The page of the union of `parts`, in the order of `keys`, that the query string's
    cursor asks for, fetched as `rows` (its select_related and annotations, which must include
    every key; its filters are ignored: `parts` decide).

    Each part is one index range (an OR of two columns cannot use one index in order, two
    halves can): each gives at most a page and one row, and their union is sorted again.
    Three queries at most: the page, and the count up to `bound` (COUNT_BOUND unless given)
    when there is more than one page. `ids_first` reads the page's ids in a query of their own
    (one more): PostgreSQL reorders the joins of at most eight tables (join_collapse_limit),
    and beyond that would join every row of `rows` to its parties before keeping the page's.
    """
    after, before = decode_keys(query.get(AFTER), keys), decode_keys(query.get(BEFORE), keys)
    backwards = after is None and before is not None
    cursor = after or before
    # "After" follows the list's own order; reading backwards flips it and the rows come back.
    order = [key.order(backwards=backwards) for key in keys]
    # With the ids first, each part's walk gives its keys too, so the page is cut here and
    # its rows read by id alone, without an ORDER BY over their many joined tables.
    walk = [key.name for key in keys] if ids_first else ["pk"]
    limited = []
    for part in parts:
        if cursor is not None:
            part = part.filter(_beyond(cursor, keys, forward=not backwards))
        limited.append(part.order_by(*order).values(*walk)[: size + 1])
    ids = limited[0].union(*limited[1:]) if len(limited) > 1 else limited[0]
    if ids_first:
        walked = in_order(ids, keys, backwards=backwards, get=dict.__getitem__)[: size + 1]
        place_of = {row["pk"]: n for n, row in enumerate(walked)}
        found = sorted(
            rows.filter(pk__in=list(place_of)).order_by(), key=lambda row: place_of[row.pk]
        )
    else:
        found = list(rows.filter(pk__in=ids).order_by(*order)[: size + 1])
    more = len(found) > size
    found = found[:size]
    if backwards:
        found.reverse()
    has_previous = more if backwards else cursor is not None
    has_next = True if backwards else more
    bound = COUNT_BOUND if bound is None else bound
    count, bounded = _bounded_count(
        parts, shown=len(found), first=cursor is None, more=more, bound=bound
    )

    def place(row: M) -> str:
        return encode_keys([getattr(row, key.name) for key in keys], keys)

    return KeysetPage(
        rows=found,
        count=count,
        count_bounded=bounded,
        previous_url=_link(query, **{BEFORE: place(found[0])}) if has_previous and found else None,
        next_url=_link(query, **{AFTER: place(found[-1])}) if has_next and found else None,
        first_url=_link(query) if cursor is not None else None,
        bound=bound,
    )


def _bounded_count(
    parts: Sequence[QuerySet[M]], *, shown: int, first: bool, more: bool, bound: int
) -> tuple[int, bool]:
    """How many rows the list holds, counted up to `bound`: no count at all when the first
    page holds them all. Each part is cut at the bound before the union, so when the union
    holds no more than the bound every part was counted whole."""
    if first and not more:
        return shown, False
    cut = [part.order_by().values("pk")[: bound + 1] for part in parts]
    counted = (cut[0].union(*cut[1:]) if len(cut) > 1 else cut[0]).count()
    return min(counted, bound), counted > bound


# The annotation counted_page adds: every matching row's count, on each row of the page.
_FOUND = "paged_total"


def counted_page(queryset: QuerySet[M], *, per_page: int, number: object) -> Page[M]:
    """A numbered page and the total of a short list (a system's services, hundreds at most)
    in one query: COUNT(*) OVER () on each row of the page. A page past the end, or not a
    number, is the last or the first, as Paginator.get_page gives; only a page past the end
    costs a second query, for the total."""
    paginator = Paginator(queryset, per_page, allow_empty_first_page=True)
    try:
        # Beyond any real list, and short of an OFFSET too big for the database.
        wanted = min(max(int(str(number)), 1), 10**6)
    except ValueError:
        wanted = 1
    start = (wanted - 1) * per_page
    rows = list(queryset.annotate(**{_FOUND: Window(Count("*"))})[start : start + per_page])
    if rows:
        paginator.count = getattr(rows[0], _FOUND)
        return Page(rows, wanted, paginator)
    if wanted == 1:
        paginator.count = 0
        return Page([], 1, paginator)
    return paginator.get_page(paginator.num_pages)
