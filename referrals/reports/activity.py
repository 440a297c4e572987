"""Service activity: what the voluntary sector did with the referrals it was sent, and how widely
it is used. One SQL statement builds the whole report as a JSON document in PostgreSQL; Python
only adds the period and the "off the radar" list, which is the services rows with nothing
received.

Sections:

- services: every voluntary service that is active or received a referral in the period, with
  referrals received, accepted (decided and not declined), declined and withdrawn; the median
  hours from referral to first contact against the response target, and how many were
  contacted within it; referrals sent with an override reason; referrals the VSO marked "at the
  limit of our remit". Each service is read against the version of its specification in force
  on the period's last day, or else the newest version in force during the period.
- capacity, per service, over the calendar months the period touches, counted from the 1st as
  the remit-breaches report counts them: referrals that used capacity (not declined or
  withdrawn, from every place, since capacity is the service's), what was commissioned (the
  monthly capacity of the version in force on each month's first day in the period), and the
  months over capacity. Months with no set limit are counted apart.
- teams: per referrer team, its referrals, its voluntary referrals and how many distinct
  voluntary services and organisations they went to (the Oxfordshire study found most GPs
  linked with a single VSO).
- concerns: concerns open at the end of the period (or now, for a period not yet over), per
  organisation addressed and organisation raising them: open, awaiting acknowledgement, past
  their acknowledgement deadline, escalated (and the latest escalation, UK time), high or
  critical, and the oldest.

A place narrows the referrals, the services listed (those serving the place, or the whole
system) and the concerns, but not capacity, which is the service's whatever the place.
"""

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from commissioning.codes import ServiceStatus
from commissioning.in_force import (
    PUBLISHED,
    specification_for_period_sql,
    specification_in_force_sql,
)
from commissioning.models import Organisation, Place, Sector, Service, System
from core.dates import day_start, next_month_start
from referrals.models import (
    CAPACITY_STATUSES,
    Concern,
    ConcernSeverity,
    Referral,
    ReferralStatus,
    RemitLimitMark,
)
from referrals.reports.scope import IN_SYSTEM

_SQL = """
WITH svc AS (
    SELECT s.id, s.name, s.status, s.last_verified_on, o.id AS organisation_id,
           o.name AS organisation, o.kind, o.active AS organisation_active,
           spec.version, spec.monthly_capacity, spec.response_target_hours,
           {serves_place} AS serves_place
    FROM {service} s
    JOIN {organisation} o ON o.id = s.organisation_id
    LEFT JOIN LATERAL {period_specification} spec ON true
    WHERE o.sector = %(voluntary)s AND o.system_id = %(system_id)s
),
refs AS (
    -- The plain range on referred_at lets the BRIN index narrow the scan.
    SELECT r.id, r.service_id, r.organisation_id, r.referrer_organisation_id,
           r.destination_sector, r.status, r.referred_at, r.decided_at, r.first_contact_at,
           r.override_reason
    FROM {referral} r
    WHERE r.referred_at >= %(start)s AND r.referred_at < %(end)s
      AND {in_system}
      {referral_place_filter}
),
per_service AS (
    SELECT r.service_id,
           count(*) AS received,
           count(*) FILTER (WHERE r.decided_at IS NOT NULL AND r.status <> %(declined)s)
               AS accepted,
           count(*) FILTER (WHERE r.status = %(declined)s) AS declined,
           count(*) FILTER (WHERE r.status = %(withdrawn)s) AS withdrawn,
           count(*) FILTER (WHERE r.first_contact_at IS NOT NULL) AS contacted,
           round((percentile_cont(0.5) WITHIN GROUP (
               ORDER BY extract(epoch FROM r.first_contact_at - r.referred_at)
           ) FILTER (WHERE r.first_contact_at IS NOT NULL) / 3600)::numeric, 1)
               AS median_hours_to_contact,
           count(*) FILTER (
               WHERE r.first_contact_at - r.referred_at
                     <= svc.response_target_hours * interval '1 hour'
           ) AS contacted_within_target,
           count(*) FILTER (WHERE r.override_reason <> '') AS overrides,
           count(k.id) AS marked_at_limit
    FROM refs r
    JOIN svc ON svc.id = r.service_id
    LEFT JOIN {mark} k ON k.referral_id = r.id
    WHERE r.destination_sector = %(voluntary)s
    GROUP BY r.service_id
),
months AS (
    SELECT month::date, greatest(month::date, %(first_day)s) AS judged_on
    FROM generate_series(%(months_first)s::date, %(months_last)s::date, interval '1 month')
        AS month
),
month_use AS (
    SELECT r.service_id,
           date_trunc('month', r.referred_at AT TIME ZONE %(tz)s)::date AS month,
           count(*) AS used
    FROM {referral} r
    -- Not "service_id IS NOT NULL", which PostgreSQL answers from the index on service_id:
    -- every voluntary referral ever made, where the month's are a small slice.
    WHERE coalesce(r.service_id, 0) <> 0
      AND r.status = ANY(%(capacity_statuses)s)
      AND r.referred_at >= %(months_start)s AND r.referred_at < %(months_end)s
      AND {in_system}
    GROUP BY 1, 2
),
capacity AS (
    SELECT svc.id AS service_id,
           coalesce(sum(coalesce(u.used, 0)) FILTER (WHERE cap.monthly_capacity IS NOT NULL), 0)
               AS used,
           sum(cap.monthly_capacity) AS commissioned,
           count(*) FILTER (WHERE cap.monthly_capacity IS NOT NULL) AS months_with_limit,
           coalesce(sum(coalesce(u.used, 0)) FILTER (WHERE cap.monthly_capacity IS NULL), 0)
               AS used_without_limit,
           count(*) FILTER (WHERE u.used > cap.monthly_capacity) AS months_over_capacity
    FROM svc
    CROSS JOIN months m
    LEFT JOIN month_use u ON u.service_id = svc.id AND u.month = m.month
    LEFT JOIN LATERAL {capacity_in_force} cap ON true
    GROUP BY svc.id
),
team_cells AS (
    -- Counted per team and destination first, by hashing: the distinct counts below then
    -- sort a few thousand cells, not every referral of the period.
    SELECT r.referrer_organisation_id, r.destination_sector, r.service_id, r.organisation_id,
           count(*) AS referrals
    FROM refs r
    GROUP BY r.referrer_organisation_id, r.destination_sector, r.service_id, r.organisation_id
),
teams AS (
    SELECT t.name AS team,
           sum(c.referrals)::bigint AS referrals,
           coalesce(sum(c.referrals) FILTER (WHERE c.destination_sector = %(voluntary)s), 0)
               ::bigint AS voluntary_referrals,
           count(DISTINCT c.service_id) FILTER (WHERE c.destination_sector = %(voluntary)s)
               AS voluntary_services,
           count(DISTINCT c.organisation_id) FILTER (WHERE c.destination_sector = %(voluntary)s)
               AS voluntary_organisations
    FROM team_cells c
    JOIN {organisation} t ON t.id = c.referrer_organisation_id
    GROUP BY t.id, t.name
),
concerns AS (
    SELECT a.name AS addressed_to, rb.name AS raised_by,
           count(*) AS open,
           count(*) FILTER (WHERE c.acknowledged_at IS NULL OR c.acknowledged_at >= %(as_of)s)
               AS awaiting_acknowledgement,
           count(*) FILTER (
               WHERE c.acknowledge_by < %(as_of)s
                 AND (c.acknowledged_at IS NULL OR c.acknowledged_at > c.acknowledge_by)
           ) AS past_deadline,
           count(*) FILTER (WHERE c.severity = ANY(%(serious)s)) AS serious,
           count(*) FILTER (WHERE c.escalated_at < %(as_of)s) AS escalated,
           to_char(max(c.escalated_at) FILTER (WHERE c.escalated_at < %(as_of)s)
                   AT TIME ZONE %(tz)s, 'YYYY-MM-DD HH24:MI') AS last_escalated_at,
           (min(c.raised_at) AT TIME ZONE %(tz)s)::date AS oldest_raised_on
    FROM {concern} c
    JOIN {referral} r ON r.id = c.referral_id
    JOIN {organisation} a ON a.id = c.addressed_to_id
    JOIN {organisation} rb ON rb.id = c.raised_by_organisation_id
    WHERE c.raised_at < %(as_of)s
      AND (c.resolved_at IS NULL OR c.resolved_at >= %(as_of)s)
      AND {in_system}
      {concern_place_filter}
    GROUP BY a.id, a.name, rb.id, rb.name
)
SELECT json_build_object(
    'services', (
        SELECT coalesce(json_agg(json_build_object(
            'organisation', svc.organisation,
            'organisation_id', svc.organisation_id,
            'service', svc.name,
            'service_id', svc.id,
            'kind', svc.kind,
            'active', svc.status = %(active)s AND svc.organisation_active,
            'last_verified_on', svc.last_verified_on,
            'specification_version', svc.version,
            'received', coalesce(p.received, 0),
            'accepted', coalesce(p.accepted, 0),
            'declined', coalesce(p.declined, 0),
            'withdrawn', coalesce(p.withdrawn, 0),
            'contacted', coalesce(p.contacted, 0),
            'median_hours_to_contact', p.median_hours_to_contact,
            'response_target_hours', svc.response_target_hours,
            'contacted_within_target',
                CASE WHEN svc.response_target_hours IS NOT NULL
                     THEN coalesce(p.contacted_within_target, 0) END,
            'overrides', coalesce(p.overrides, 0),
            'marked_at_limit', coalesce(p.marked_at_limit, 0),
            'capacity_used', cap.used,
            'capacity_commissioned', cap.commissioned,
            'capacity_months_with_limit', cap.months_with_limit,
            'capacity_used_without_limit', cap.used_without_limit,
            'months_over_capacity', cap.months_over_capacity
        ) ORDER BY svc.organisation, svc.organisation_id, svc.name, svc.id), '[]'::json)
        FROM svc
        LEFT JOIN per_service p ON p.service_id = svc.id
        JOIN capacity cap ON cap.service_id = svc.id
        WHERE (svc.status = %(active)s AND svc.organisation_active AND svc.serves_place)
           OR p.received > 0
    ),
    'teams', (
        SELECT coalesce(json_agg(row_to_json(teams) ORDER BY teams.team), '[]'::json)
        FROM teams
    ),
    'concerns', (
        SELECT coalesce(json_agg(row_to_json(concerns)
                                 ORDER BY concerns.addressed_to, concerns.raised_by), '[]'::json)
        FROM concerns
    )
)
"""


def service_activity(
    *,
    system: System,
    date_from: date,
    date_to: date,
    place: Place | None = None,
    today: date | None = None,
) -> dict:
    """Activity of the voluntary services for referrals made from date_from to date_to inclusive
    (UK time). Concerns are read as they stood at the end of the period, or at this moment
    when the period has not ended yet."""
    end = day_start(date_to + timedelta(days=1))
    as_of = min(end, timezone.now()) if today is None else min(end, day_start(today))
    params: dict[str, Any] = {
        "tz": settings.TIME_ZONE,
        "start": day_start(date_from),
        "end": end,
        "as_of": as_of,
        "first_day": date_from,
        "last_day": date_to,
        "months_first": date_from.replace(day=1),
        "months_last": date_to.replace(day=1),
        "months_start": day_start(date_from.replace(day=1)),
        "months_end": day_start(next_month_start(date_to)),
        "published": list(PUBLISHED),
        "capacity_statuses": list(CAPACITY_STATUSES),
        "declined": ReferralStatus.DECLINED,
        "withdrawn": ReferralStatus.WITHDRAWN,
        "voluntary": Sector.VOLUNTARY,
        "active": ServiceStatus.ACTIVE,
        "serious": [ConcernSeverity.HIGH, ConcernSeverity.CRITICAL],
        "place_id": place.pk if place is not None else None,
        "system_id": system.pk,
    }
    places = Service.places.through._meta.db_table
    sql = _SQL.format(
        referral=Referral._meta.db_table,
        service=Service._meta.db_table,
        organisation=Organisation._meta.db_table,
        period_specification=specification_for_period_sql(
            service="s.id", columns=("version", "monthly_capacity", "response_target_hours")
        ),
        capacity_in_force=specification_in_force_sql(
            service="svc.id", day="m.judged_on", columns=("monthly_capacity",)
        ),
        concern=Concern._meta.db_table,
        mark=RemitLimitMark._meta.db_table,
        # A service with no places listed serves the whole system, as the directory says.
        serves_place=(
            f"(NOT EXISTS (SELECT 1 FROM {places} sp WHERE sp.service_id = s.id)"
            f" OR EXISTS (SELECT 1 FROM {places} sp"
            " WHERE sp.service_id = s.id AND sp.place_id = %(place_id)s))"
        )
        if place is not None
        else "true",
        referral_place_filter="AND r.place_id = %(place_id)s" if place is not None else "",
        concern_place_filter="AND r.place_id = %(place_id)s" if place is not None else "",
        in_system=IN_SYSTEM,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        (document,) = cursor.fetchone()

    services = document["services"]
    return {
        "from": date_from.isoformat(),
        "to": date_to.isoformat(),
        "place": place.name if place else None,
        "services": services,
        "off_the_radar": [s for s in services if s["active"] and s["received"] == 0],
        "teams": document["teams"],
        "concerns": document["concerns"],
    }
