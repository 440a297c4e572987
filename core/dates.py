"""Days and months as people in England count them: in UK time (Europe/London, with summer
time), whatever time zone a request has activated. Working days skip weekends and English bank
holidays."""

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
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


@lru_cache(maxsize=32)
def _english_bank_holidays(year: int) -> frozenset[date]:
    # England and Wales' bank holidays, kept by the `holidays` package; Scotland's and Northern
    # Ireland's differ (St Andrew's Day, the Twelfth), and the app's systems are English.
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


def is_working_day(day: date) -> bool:
    """Monday to Friday, except English bank holidays."""
    return day.weekday() < 5 and day not in _english_bank_holidays(day.year)


def add_working_days(start: datetime, days: int) -> datetime:
    """The moment `days` working days after `start`, counted in UK time.

    From a moment on a working day: the same UK clock time on the `days`-th working day after
    that day (Friday 16:00 plus 2 working days is Tuesday 16:00, or Wednesday 16:00 when that
    Monday is a bank holiday). From a moment on a weekend or bank holiday: counted from the
    start (midnight) of the next working day, so Saturday 10:00 plus 1 working day is the end of
    Monday, Tuesday 00:00. UK clocks change only on Sundays, so the clock time always exists on
    a working day.
    """
    if days < 1:
        raise ValueError("Count at least one working day.")
    local = timezone.localtime(start, uk_zone())
    day, clock = local.date(), local.time().replace(tzinfo=None)
    if not is_working_day(day):
        while not is_working_day(day):
            day += timedelta(days=1)
        clock = time.min
    for _ in range(days):
        day += timedelta(days=1)
        while not is_working_day(day):
            day += timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, clock), uk_zone())
