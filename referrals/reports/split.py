"""Referral split: referrals by destination sector for a period, overall and by place, referrer
team, source and month. Every figure comes from one statement in PostgreSQL (FILTER aggregates,
then GROUPING SETS); Python only turns the few aggregated rows into percentages."""

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from commissioning.models import Organisation, Place, Sector, System
from core.dates import day_start
from referrals.models import Referral, ReferralSource
from referrals.reports.scope import IN_SYSTEM

SECTORS = tuple(Sector.values)
NO_PLACE = "No place recorded"


def period_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """From the start of the first day to the start of the day after the last, in UK time."""
    return day_start(date_from), day_start(date_to + timedelta(days=1))


def percentages(counts: dict) -> dict[str, float]:
    total = counts["total"]
    return {s: round(100 * counts[s] / total, 1) if total else 0.0 for s in SECTORS}


# First the counts per place, referrer team, source and month, hashed in one pass over the
# period's referrals: a few thousand cells however many referrals there are. Then every
# grouping over those cells: GROUPING() says which set a row belongs to (the bit of each column
# not grouped is set), the empty set is the overall row. Grouping the referrals themselves by
# sets made PostgreSQL sort them all, which on five million referrals spilled to disk and grew
# faster than the rows (bench/RESULTS.md).
_SQL = """
WITH cells AS (
    SELECT r.place_id, r.referrer_organisation_id, r.source,
           date_trunc('month', r.referred_at AT TIME ZONE %(tz)s)::date AS month,
           count(*) AS total,
           {sector_counts}
    FROM {referral} r
    -- A plain range on the column, so the BRIN index on referred_at does the narrowing.
    WHERE r.referred_at >= %(start)s AND r.referred_at < %(end)s
      AND {in_system}
      {place_filter}
    GROUP BY r.place_id, r.referrer_organisation_id, r.source, month
)
SELECT GROUPING(x.place_name, x.team, x.source, x.month) AS grouping_set,
       x.place_name, x.team, x.source, x.month,
       coalesce(sum(x.total), 0)::bigint AS total,
       {sector_sums}
FROM (
    SELECT coalesce(p.name, %(no_place)s) AS place_name, t.name AS team, c.*
    FROM cells c
    JOIN {organisation} t ON t.id = c.referrer_organisation_id
    LEFT JOIN {place} p ON p.id = c.place_id
) x
GROUP BY GROUPING SETS ((), (x.place_name), (x.team), (x.source), (x.month))
ORDER BY grouping_set, x.place_name, x.team, x.source, x.month
"""
# GROUPING(place, team, source, month) for each set: the grouped column's bit is clear.
_SETS = {0b0111: "by_place", 0b1011: "by_team", 0b1101: "by_source", 0b1110: "by_month"}


def referral_split(
    *, system: System, date_from: date, date_to: date, place: Place | None = None
) -> dict:
    start, end = period_bounds(date_from, date_to)
    sql = _SQL.format(
        sector_counts=",\n           ".join(
            f"count(*) FILTER (WHERE r.destination_sector = %(sector_{s})s) AS {s}" for s in SECTORS
        ),
        sector_sums=",\n       ".join(f"coalesce(sum(x.{s}), 0)::bigint AS {s}" for s in SECTORS),
        referral=Referral._meta.db_table,
        organisation=Organisation._meta.db_table,
        place=Place._meta.db_table,
        place_filter="AND r.place_id = %(place_id)s" if place is not None else "",
        in_system=IN_SYSTEM,
    )
    params = {
        "tz": settings.TIME_ZONE,
        "start": start,
        "end": end,
        "no_place": NO_PLACE,
        "system_id": system.pk,
        "place_id": place.pk if place is not None else None,
        **{f"sector_{s}": s for s in SECTORS},
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        gaps, waits_past_limit = _gaps_and_late_waits(cursor, params=params, place=place)

    source_labels = dict(ReferralSource.choices)
    labels = {
        "by_place": lambda row: {"place": row[1]},
        "by_team": lambda row: {"team": row[2]},
        "by_source": lambda row: {"source": row[3], "label": source_labels.get(row[3], row[3])},
        "by_month": lambda row: {"month": row[4].strftime("%Y-%m")},
    }
    sections: dict[str, list] = {name: [] for name in _SETS.values()}
    overall = dict.fromkeys(("total", *SECTORS), 0)
    for row in rows:
        counts = {"total": row[5], **dict(zip(SECTORS, row[6:], strict=True))}
        if row[0] == 0b1111:
            overall = counts
            continue
        section = _SETS[row[0]]
        sections[section].append({**labels[section](row), **counts, "percent": percentages(counts)})
    return {
        "from": date_from.isoformat(),
        "to": date_to.isoformat(),
        "place": place.name if place else None,
        "total": overall["total"],
        "by_sector": {sector: overall[sector] for sector in SECTORS},
        "percent": percentages(overall),
        **sections,
        "gap_referrals": gaps,
        "statutory_waits_past_limit": waits_past_limit,
    }


# Two figures of the gap between services, in one statement. Gap referrals: voluntary referrals
# made after a health or social care service declined or disputed the need first (the gap the
# voluntary sector is asked to bridge), by who declined and why; reasons are free text, grouped as
# written ignoring case and the spaces around them. Late waits: referrals to health and social
# care made in the period whose first contact came after their urgency's limit
# (settings.STATUTORY_WAIT_LIMITS), or has still not come and the limit is past. The one row of
# `late` comes back with every reason row, or alone when there is none.
_GAPS_SQL = """
WITH gaps AS (
    SELECT d.name, lower(btrim(r.statutory_decline_reason)) AS reason_key,
           min(btrim(r.statutory_decline_reason)) AS reason, count(*) AS n
    FROM {referral} r
    -- `+ 0`: read the period's referrals by date, then find each decliner. Joined on the bare
    -- column, PostgreSQL walked the whole statutory_declined_by_id index in a merge join
    -- (2.4 s for a month to date at 5M referrals, 83 ms this way).
    JOIN {organisation} d ON d.id = r.statutory_declined_by_id + 0
    WHERE r.referred_at >= %(start)s AND r.referred_at < %(end)s
      AND {in_system} {place_filter}
      AND r.destination_sector = %(sector_voluntary)s
    GROUP BY d.name, reason_key
), late AS (
    SELECT count(*) FILTER (
               WHERE coalesce(r.first_contact_at, %(now)s) > r.referred_at + l.allowed) AS n
    FROM {referral} r
    JOIN (VALUES {limits}) AS l (urgency, allowed) ON l.urgency = r.urgency
    WHERE r.referred_at >= %(start)s AND r.referred_at < %(end)s
      AND {in_system} {place_filter}
      AND r.destination_sector <> %(sector_voluntary)s
      AND r.status NOT IN ('declined', 'withdrawn')
)
SELECT late.n, gaps.name, gaps.reason, gaps.n
FROM late LEFT JOIN gaps ON true
ORDER BY gaps.name, gaps.n DESC, gaps.reason_key
"""


def _gaps_and_late_waits(cursor, *, params: dict, place: Place | None) -> tuple[dict, int]:
    limits = settings.STATUTORY_WAIT_LIMITS
    cursor.execute(
        _GAPS_SQL.format(
            referral=Referral._meta.db_table,
            organisation=Organisation._meta.db_table,
            in_system=IN_SYSTEM,
            place_filter="AND r.place_id = %(place_id)s" if place is not None else "",
            limits=", ".join(
                f"(%(urgency_{n})s, %(allowed_{n})s::interval)" for n in range(len(limits))
            ),
        ),
        {
            **params,
            "now": timezone.now(),
            **{f"urgency_{n}": urgency for n, urgency in enumerate(limits)},
            **{f"allowed_{n}": allowed for n, allowed in enumerate(limits.values())},
        },
    )
    rows = cursor.fetchall()
    late = rows[0][0] if rows else 0
    by_organisation: dict[str, dict] = {}
    for _late, name, reason, count in rows:
        if name is None:
            continue
        entry = by_organisation.setdefault(name, {"organisation": name, "total": 0, "reasons": []})
        entry["total"] += count
        entry["reasons"].append({"reason": reason, "count": count})
    gaps = {
        "total": sum(entry["total"] for entry in by_organisation.values()),
        "by_statutory_organisation": list(by_organisation.values()),
    }
    return gaps, int(late)
