"""Report periods are whole days in UK time, whatever time zone a request has activated, and
each day is judged by the specification in force on it."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from commissioning.models import ServiceSpecification


def uk_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), uk_zone())


def next_month_start(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def specification_in_force_sql(*, service: str, day: str, columns: str) -> str:
    """A subquery for a LATERAL join: the chosen columns (of `s`) of the specification in force
    on `day` for `service`, both SQL expressions. As commissioning.selectors.
    specification_in_force reads it: the newest version, not a draft, whose contract dates
    cover the day. The statement must pass `published`, the statuses that are not a draft."""
    table = ServiceSpecification._meta.db_table
    return f"""(
        SELECT {columns}
        FROM {table} s
        WHERE s.service_id = {service}
          AND s.status = ANY(%(published)s)
          AND s.starts_on <= {day}
          AND {day} <= coalesce(s.ends_on, 'infinity'::date)
        ORDER BY s.version DESC
        LIMIT 1
    )"""
