"""Remit breaches: referrals to voluntary services that went beyond the specification in force
when they were made, per organisation, service and rule, with the referrals behind each count.

Each referral is judged in PostgreSQL by the newest published (active or retired) version of its
service's specification whose contract dates cover the referral's day in UK time, as
commissioning.in_force does, so that last spring's referrals are judged
by last spring's words. A referral with no version in force is "not commissioned": the referral
form reports that itself, and it is not one of these rules, so it is left out here.

The rules, each a column of one statement:

- urgency: the referral's urgency ranks above the highest the specification accepts.
- excluded_activity: the referral asks for an activity the specification excludes.
- capacity: declined and withdrawn referrals take no capacity; every other referral to the
  service, in remit or not and from any place, takes the next place in its calendar month (UK
  time) in the order referred; those numbered beyond the monthly capacity of the version in
  force are breaches. No capacity means no limit.
- episode_length: the episode lasted longer than the longest episode allowed. A referral with
  an Episode is measured by it, in whole days from the day it started to the day it ended, or to
  `today` while it runs. Without one, the episode is the referral's own: from first contact (or,
  without one, the acceptance) to the close, the withdrawal, or the end of `today` while the
  referral is still accepted or in progress.
- interim_cover: the referral covers for a statutory referral, was not declined by the VSO, and
  the statutory referral waited longer than the specification's longest interim cover: from
  its referral to the first of its first contact, close, withdrawal or decline, or to the end of
  `today` while it is still received or accepted.
- concern_unacknowledged: a concern raised on the referral was not acknowledged by its
  deadline: acknowledged after it, or not yet acknowledged when `today` ended past it.

Referrals the VSO marked "at the limit of our remit" are returned beside the breaches, under
the pseudo-rule `marked_at_limit`, because a mark is the VSO's own evidence and not a rule; they
are listed in `marked_at_limit`, not counted in `by_rule` or `total`.

Durations are measured on the UK wall clock, so a clock change does not add or take an hour
from "12 weeks".
"""

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from commissioning.codes import Urgency
from commissioning.in_force import PUBLISHED, specification_in_force_sql
from commissioning.models import Organisation, Place, Sector, Service, System
from commissioning.remit import MARKED_AT_LIMIT, REPORTED_CODES
from core.dates import day_start, next_month_start, uk_zone
from referrals.models import (
    CAPACITY_STATUSES,
    Concern,
    Episode,
    Referral,
    ReferralStatus,
    RemitLimitMark,
)
from referrals.reports.scope import IN_SYSTEM

# Still waiting for the statutory service to act.
STATUTORY_WAITING = (ReferralStatus.RECEIVED, ReferralStatus.ACCEPTED)
# An episode still running, measured to the end of the report's day.
EPISODE_RUNNING = (ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS)

_SQL = """
WITH month_referrals AS (
    -- Every referral to a service in the calendar months the period touches, from any place
    -- and in any sector, as capacity_used counts them: the count of capacity used starts on the
    -- 1st even when the period starts later. The plain range on referred_at lets the BRIN index
    -- narrow the scan.
    SELECT r.id, r.service_id, r.destination_sector, r.place_id, r.referred_at, r.status,
           r.urgency, r.activities, r.decided_at, r.first_contact_at, r.closed_at,
           r.withdrawn_at, r.interim_cover_for_id, r.override_reason,
           CASE WHEN r.status = ANY(%(capacity_statuses)s) THEN row_number() OVER (
               PARTITION BY r.service_id,
                            date_trunc('month', r.referred_at AT TIME ZONE %(tz)s),
                            r.status = ANY(%(capacity_statuses)s)
               ORDER BY r.referred_at, r.id
           ) END AS capacity_place
    FROM {referral} r
    -- Not "service_id IS NOT NULL", which PostgreSQL answers from the index on service_id:
    -- every voluntary referral ever made, where the month's are a small slice.
    WHERE coalesce(r.service_id, 0) <> 0
      {organisation_filter}
      AND r.referred_at >= %(months_start)s AND r.referred_at < %(months_end)s
),
period_referrals AS (
    SELECT m.*, (m.referred_at AT TIME ZONE %(tz)s)::date AS day
    FROM month_referrals m
    WHERE m.destination_sector = %(voluntary)s
      AND m.referred_at >= %(start)s AND m.referred_at < %(end)s
      {place_filter}
),
in_force AS (
    -- The version in force on each day a service was referred to, looked up once per service
    -- and day rather than once per referral; none means not commissioned, which is not one of
    -- these rules, so the inner join below leaves such referrals out.
    SELECT d.service_id, d.day, spec.*
    FROM (SELECT DISTINCT p.service_id, p.day FROM period_referrals p) d
    JOIN LATERAL {in_force} spec ON true
),
late_concerns AS (
    SELECT DISTINCT c.referral_id
    FROM {concern} c
    WHERE coalesce(c.acknowledged_at, %(today_end)s) > c.acknowledge_by
),
judged AS (
    SELECT m.id, m.service_id, m.override_reason,
           array_position(%(urgencies)s::text[], m.urgency::text)
               > array_position(%(urgencies)s::text[], spec.max_urgency::text) AS urgency,
           m.activities && spec.activities_excluded AS excluded_activity,
           m.capacity_place > spec.monthly_capacity AS capacity,
           CASE WHEN episode.id IS NOT NULL THEN
                    -- The episode the VSO recorded: its own days, which are UK days already.
                    coalesce(episode.ended_on, %(today)s::date) - episode.started_on
                        > spec.max_episode_weeks * 7
                ELSE
                    (CASE WHEN m.status = ANY(%(episode_running)s) THEN %(today_end)s
                          WHEN m.status = %(closed)s THEN m.closed_at
                          WHEN m.status = %(withdrawn)s THEN m.withdrawn_at
                     END AT TIME ZONE %(tz)s)
                        - (coalesce(m.first_contact_at, m.decided_at) AT TIME ZONE %(tz)s)
                        > spec.max_episode_weeks * interval '7 days'
           END AS episode_length,
           m.status <> %(declined)s
               AND (coalesce(
                        least(statutory.first_contact_at, statutory.closed_at,
                              statutory.withdrawn_at,
                              CASE WHEN statutory.status = %(declined)s
                                   THEN statutory.decided_at END),
                        CASE WHEN statutory.status = ANY(%(statutory_waiting)s)
                             THEN %(today_end)s END
                    ) AT TIME ZONE %(tz)s)
                   - (statutory.referred_at AT TIME ZONE %(tz)s)
                   > spec.max_interim_cover_days * interval '1 day' AS interim_cover,
           late.referral_id IS NOT NULL AS concern_unacknowledged,
           k.referral_id IS NOT NULL AS marked_at_limit
    -- Joins rather than a lookup per referral: a year of a large system is hundreds of
    -- thousands of referrals.
    FROM period_referrals m
    JOIN in_force spec ON spec.service_id = m.service_id AND spec.day = m.day
    LEFT JOIN {episode} episode ON episode.referral_id = m.id
    LEFT JOIN {referral} statutory ON statutory.id = m.interim_cover_for_id
    LEFT JOIN late_concerns late ON late.referral_id = m.id
    LEFT JOIN {mark} k ON k.referral_id = m.id
),
per_service AS (
    -- Each rule's count and referrals per service in one pass over the judged referrals.
    SELECT j.service_id,
           {rule_aggregates}
    FROM judged j
    WHERE {any_rule}
    GROUP BY j.service_id
)
SELECT o.id, o.name, svc.id, svc.name, rule.code, rule.n, rule.ids,
       coalesce(rule.overridden, '{{}}')
FROM per_service p
JOIN {service} svc ON svc.id = p.service_id
JOIN {organisation} o ON o.id = svc.organisation_id
CROSS JOIN LATERAL (VALUES {rule_rows}) AS rule (code, n, ids, overridden)
WHERE rule.n > 0
ORDER BY o.name, o.id, svc.name, svc.id, rule.code
"""


def remit_breaches(
    *,
    system: System,
    date_from: date,
    date_to: date,
    place: Place | None = None,
    organisation: Organisation | None = None,
    today: date | None = None,
) -> dict:
    """Breaches among referrals made from date_from to date_to inclusive (UK time), to every
    voluntary organisation or to one (the VSO lead's remit page).

    `today` ends the episodes, statutory waits and acknowledgement deadlines still running; it
    defaults to today in the UK.
    """
    today = today or timezone.localdate(timezone=uk_zone())
    params: dict[str, Any] = {
        "tz": settings.TIME_ZONE,
        "start": day_start(date_from),
        "end": day_start(date_to + timedelta(days=1)),
        "months_start": day_start(date_from.replace(day=1)),
        "months_end": day_start(next_month_start(date_to)),
        "today": today,
        "today_end": day_start(today + timedelta(days=1)),
        "urgencies": list(Urgency.values),  # in rank order, as Urgency.rank reads them
        "capacity_statuses": list(CAPACITY_STATUSES),
        "episode_running": list(EPISODE_RUNNING),
        "statutory_waiting": list(STATUTORY_WAITING),
        "closed": ReferralStatus.CLOSED,
        "withdrawn": ReferralStatus.WITHDRAWN,
        "declined": ReferralStatus.DECLINED,
        "published": list(PUBLISHED),
        "voluntary": Sector.VOLUNTARY,
        "place_id": place.pk if place is not None else None,
        "organisation_id": organisation.pk if organisation is not None else None,
        "system_id": system.pk,
    }
    judged = (*REPORTED_CODES, MARKED_AT_LIMIT)
    sql = _SQL.format(
        rule_aggregates=",\n           ".join(
            f"count(*) FILTER (WHERE j.{rule}) AS {rule}_n, "
            f"array_agg(j.id ORDER BY j.id) FILTER (WHERE j.{rule}) AS {rule}_ids, "
            f"array_agg(j.id ORDER BY j.id) FILTER (WHERE j.{rule} AND j.override_reason <> '') "
            f"AS {rule}_overridden"
            for rule in judged
        ),
        any_rule=" OR ".join(f"j.{rule}" for rule in judged),
        rule_rows=", ".join(
            f"('{rule}', p.{rule}_n, p.{rule}_ids, p.{rule}_overridden)" for rule in judged
        ),
        referral=Referral._meta.db_table,
        episode=Episode._meta.db_table,
        in_force=specification_in_force_sql(
            service="d.service_id",
            day="d.day",
            columns=(
                "max_urgency",
                "activities_excluded",
                "monthly_capacity",
                "max_episode_weeks",
                "max_interim_cover_days",
            ),
        ),
        service=Service._meta.db_table,
        organisation=Organisation._meta.db_table,
        concern=Concern._meta.db_table,
        mark=RemitLimitMark._meta.db_table,
        # The system's organisations, or the one organisation: a service belongs to one
        # organisation, so this keeps every referral its capacity count needs.
        organisation_filter="AND r.organisation_id = %(organisation_id)s"
        if organisation is not None
        else f"AND {IN_SYSTEM}",
        # Only after the capacity count: capacity is the service's, used from every place.
        place_filter="AND m.place_id = %(place_id)s" if place is not None else "",
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()

    by_rule = dict.fromkeys(REPORTED_CODES, 0)
    by_service, marked = [], []
    for org_id, org_name, service_id, service_name, rule, count, ids, overridden in rows:
        row = {
            "organisation": org_name,
            "organisation_id": org_id,
            "service": service_name,
            "service_id": service_id,
            "rule": rule,
            "count": count,
            "referral_ids": ids,
            "overridden_ids": overridden,
            "overridden": len(overridden),
        }
        if rule == MARKED_AT_LIMIT:
            marked.append(row)
        else:
            by_rule[rule] += count
            by_service.append(row)
    return {
        "from": date_from.isoformat(),
        "to": date_to.isoformat(),
        "total": sum(by_rule.values()),
        "by_rule": by_rule,
        "by_service": by_service,
        "marked_at_limit": marked,
    }
