"""Parity of esteem: per voluntary service, and per place, its share of the system's voluntary
referrals in a period against its share of the voluntary sector's commissioned funding, and the
funding per referral accepted. A service that takes a third of the referrals on a tenth of the
money is what the Lancashire and South Cumbria study means by a sector not funded as an equal
partner.

- Referrals: those made in the period (whole UK days) to the system's voluntary services, of
  any status; accepted ones are accepted, in progress or closed (the VSO took the work on).
- Funding: a specification's `funding_gbp` is read as a year's funding. The period is given
  funding_gbp / 365 for each of its days on which that version is in force
  (commissioning.in_force: the newest published version whose contract covers the day), so a
  month's report compares a month's money with a month's referrals, and a version replaced
  mid-period counts for its own days only. Without a version in force there is no funding: a
  service taking referrals then shows 0.
- Shares are of the whole system's voluntary referrals and funding, whatever the scope; a
  scope only narrows the rows listed. Per place is over the services whose organisation is in
  the place; an organisation without a place works across the system and is listed under
  WHOLE_SYSTEM.

One statement. The days on which the version in force can change (the period's ends, and each
published version's first day and the day after its last) cut the period into spans with one
version in force throughout; the version is looked up once per span, not once per day.
"""

from datetime import date, timedelta
from typing import Any

from django.db import connection

from commissioning.in_force import PUBLISHED, specification_in_force_sql
from commissioning.models import (
    Organisation,
    Place,
    Sector,
    Service,
    ServiceSpecification,
    System,
)
from referrals.models import Referral, ReferralStatus
from referrals.reports.scope import IN_SYSTEM
from referrals.reports.split import period_bounds

WHOLE_SYSTEM = "Whole system"
# The VSO took the work on.
ACCEPTED = (ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS, ReferralStatus.CLOSED)
DAYS_A_YEAR = 365

_SQL = """
WITH svc AS (
    SELECT s.id, s.name, o.id AS organisation_id, o.name AS organisation, o.place_id
    FROM {service} s
    JOIN {organisation} o ON o.id = s.organisation_id
    WHERE o.sector = %(voluntary)s AND o.system_id = %(system_id)s
),
referred AS (
    SELECT r.service_id, count(*) AS referrals,
           count(*) FILTER (WHERE r.status = ANY(%(accepted)s)) AS accepted
    FROM {referral} r
    WHERE r.referred_at >= %(start)s AND r.referred_at < %(end)s
      AND {in_system}
      AND r.destination_sector = %(voluntary)s
      AND coalesce(r.service_id, 0) <> 0
    GROUP BY r.service_id
),
cuts AS (
    SELECT svc.id AS service_id, %(first_day)s::date AS day FROM svc
    UNION
    SELECT svc.id, %(after_last)s::date FROM svc
    UNION
    SELECT spec.service_id, cut.day
    FROM {specification} spec
    JOIN svc ON svc.id = spec.service_id
    CROSS JOIN LATERAL (VALUES (spec.starts_on), (spec.ends_on + 1)) AS cut (day)
    WHERE spec.status = ANY(%(published)s)
      AND cut.day > %(first_day)s AND cut.day < %(after_last)s
),
spans AS (
    SELECT c.service_id, c.day AS first_day,
           lead(c.day) OVER (PARTITION BY c.service_id ORDER BY c.day) AS next_day
    FROM cuts c
),
funded AS (
    SELECT g.service_id,
           coalesce(sum(f.funding_gbp * (g.next_day - g.first_day) / %(days_a_year)s), 0)
               AS funding,
           bool_or(f.version IS NOT NULL) AS commissioned,
           bool_or(f.version IS NOT NULL AND f.funding_gbp IS NULL) AS funding_missing
    FROM spans g
    LEFT JOIN LATERAL {in_force} f ON true
    WHERE g.next_day IS NOT NULL
    GROUP BY g.service_id
),
listed AS (
    SELECT svc.*, coalesce(rf.referrals, 0) AS referrals, coalesce(rf.accepted, 0) AS accepted,
           fd.funding, fd.commissioned, fd.funding_missing
    FROM svc
    JOIN funded fd ON fd.service_id = svc.id
    LEFT JOIN referred rf ON rf.service_id = svc.id
    WHERE rf.referrals > 0 OR fd.commissioned
),
totals AS (
    SELECT coalesce(sum(referrals), 0) AS referrals, coalesce(sum(funding), 0) AS funding
    FROM listed
),
places AS (
    SELECT x.place_id, sum(x.referrals) AS referrals, sum(x.accepted) AS accepted,
           sum(x.funding) AS funding, bool_or(x.funding_missing) AS funding_missing
    FROM listed x
    GROUP BY x.place_id
)
SELECT json_build_object(
    'by_service', (
        SELECT coalesce(json_agg(json_build_object(
            'organisation', x.organisation,
            'organisation_id', x.organisation_id,
            'service', x.name,
            'service_id', x.id,
            'place', coalesce(p.name, %(whole_system)s),
            'referrals', x.referrals,
            'referral_share_percent', round(x.referrals * 100.0 / nullif(t.referrals, 0), 1),
            'accepted', x.accepted,
            'funding', round(x.funding, 2),
            'funding_share_percent', round(x.funding * 100 / nullif(t.funding, 0), 1),
            'cost_per_accepted', round(nullif(x.funding, 0) / nullif(x.accepted, 0), 2),
            'commissioned', x.commissioned,
            'funding_missing', x.funding_missing
        ) ORDER BY x.organisation, x.organisation_id, x.name, x.id), '[]'::json)
        FROM listed x
        CROSS JOIN totals t
        LEFT JOIN {place} p ON p.id = x.place_id
        WHERE true {service_scope}
    ),
    'by_place', (
        SELECT coalesce(json_agg(json_build_object(
            'place', coalesce(p.name, %(whole_system)s),
            'referrals', coalesce(b.referrals, 0),
            'referral_share_percent',
                round(coalesce(b.referrals, 0) * 100.0 / nullif(t.referrals, 0), 1),
            'accepted', coalesce(b.accepted, 0),
            'funding', round(coalesce(b.funding, 0), 2),
            'funding_share_percent',
                round(coalesce(b.funding, 0) * 100 / nullif(t.funding, 0), 1),
            'cost_per_accepted', round(nullif(b.funding, 0) / nullif(b.accepted, 0), 2),
            'funding_missing', coalesce(b.funding_missing, false)
        ) ORDER BY p.id IS NULL, p.name), '[]'::json)
        FROM (SELECT id, name FROM {place} WHERE system_id = %(system_id)s) p
        FULL JOIN places b ON b.place_id = p.id
        CROSS JOIN totals t
        WHERE true {place_scope}
    ),
    'totals', (
        SELECT json_build_object('referrals', t.referrals, 'funding', round(t.funding, 2))
        FROM totals t
    )
)
"""


def parity_of_esteem(
    *,
    system: System,
    date_from: date,
    date_to: date,
    organisation: Organisation | None = None,
    service: Service | None = None,
    place: Place | None = None,
) -> dict[str, Any]:
    """Parity of esteem for the period, from date_from to date_to inclusive (UK time). One
    query. The caller checks that the scope belongs to the system."""
    start, end = period_bounds(date_from, date_to)
    service_scope = " ".join(
        condition
        for chosen, condition in (
            (organisation, "AND x.organisation_id = %(organisation_id)s"),
            (service, "AND x.id = %(service_id)s"),
            (place, "AND x.place_id = %(place_id)s"),
        )
        if chosen is not None
    )
    sql = _SQL.format(
        service=Service._meta.db_table,
        organisation=Organisation._meta.db_table,
        referral=Referral._meta.db_table,
        specification=ServiceSpecification._meta.db_table,
        place=Place._meta.db_table,
        in_system=IN_SYSTEM,
        in_force=specification_in_force_sql(
            service="g.service_id", day="g.first_day", columns=("version", "funding_gbp")
        ),
        service_scope=service_scope,
        place_scope="AND p.id = %(place_id)s" if place is not None else "",
    )
    params: dict[str, Any] = {
        "system_id": system.pk,
        "voluntary": Sector.VOLUNTARY.value,
        "accepted": [status.value for status in ACCEPTED],
        "published": list(PUBLISHED),
        "start": start,
        "end": end,
        "first_day": date_from,
        "after_last": date_to + timedelta(days=1),
        "days_a_year": DAYS_A_YEAR,
        "whole_system": WHOLE_SYSTEM,
        "organisation_id": organisation.pk if organisation else None,
        "service_id": service.pk if service else None,
        "place_id": place.pk if place else None,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        (document,) = cursor.fetchone()
    return document
