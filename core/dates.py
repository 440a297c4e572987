"""Days and months as people in England count them: in UK time (Europe/London, with summer
time), whatever time zone a request has activated."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def uk_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def day_start(day: date) -> datetime:
    """Midnight at the start of the day, UK time."""
    return timezone.make_aware(datetime.combine(day, time.min), uk_zone())


def next_month_start(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def age_on(date_of_birth: date, on: date) -> int:
    """Age in whole years on the day."""
    return (
        on.year
        - date_of_birth.year
        - ((on.month, on.day) < (date_of_birth.month, date_of_birth.day))
    )


def month_bounds(on_date: date) -> tuple[datetime, datetime]:
    """The start of the calendar month (UK time) holding the date, and of the next."""
    start = on_date.replace(day=1)
    return day_start(start), day_start(next_month_start(start))
