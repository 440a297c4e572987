"""Referral split: referrals by destination sector for a period, overall and by place, referrer
team, source and month. Every figure is a GROUP BY with FILTER aggregates in PostgreSQL; Python
only turns the few aggregated rows into percentages."""

from datetime import date, datetime, timedelta

from django.db.models import Count, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce, TruncMonth

from commissioning.models import Place, Sector
from referrals.models import Referral, ReferralSource
from referrals.reports.periods import day_start, uk_zone

SECTORS = tuple(Sector.values)
NO_PLACE = "No place recorded"


def period_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """From the start of the first day to the start of the day after the last, in UK time."""
    return day_start(date_from), day_start(date_to + timedelta(days=1))


def referrals_in_period(
    *, date_from: date, date_to: date, place: Place | None = None
) -> QuerySet[Referral]:
    start, end = period_bounds(date_from, date_to)
    # A plain range on the column, so the BRIN index on referred_at does the narrowing.
    referrals = Referral.objects.filter(referred_at__gte=start, referred_at__lt=end)
    return referrals.filter(place=place) if place is not None else referrals


def _sector_counts() -> dict:
    return {
        "total": Count("id"),
        **{sector: Count("id", filter=Q(destination_sector=sector)) for sector in SECTORS},
    }


def percentages(counts: dict) -> dict[str, float]:
    total = counts["total"]
    return {s: round(100 * counts[s] / total, 1) if total else 0.0 for s in SECTORS}


def _rows(queryset, key: str, label) -> list[dict]:
    rows = []
    for row in queryset.annotate(**_sector_counts()).order_by(key):
        counts = {"total": row["total"], **{s: row[s] for s in SECTORS}}
        rows.append({**label(row[key]), **counts, "percent": percentages(counts)})
    return rows


def referral_split(*, date_from: date, date_to: date, place: Place | None = None) -> dict:
    referrals = referrals_in_period(date_from=date_from, date_to=date_to, place=place)
    overall = referrals.aggregate(**_sector_counts())
    source_labels = dict(ReferralSource.choices)
    return {
        "from": date_from.isoformat(),
        "to": date_to.isoformat(),
        "place": place.name if place else None,
        "total": overall["total"],
        "by_sector": {sector: overall[sector] for sector in SECTORS},
        "percent": percentages(overall),
        "by_place": _rows(
            referrals.annotate(place_name=Coalesce(F("place__name"), Value(NO_PLACE))).values(
                "place_name"
            ),
            "place_name",
            lambda name: {"place": name},
        ),
        "by_team": _rows(
            referrals.values("referrer_organisation__name"),
            "referrer_organisation__name",
            lambda name: {"team": name},
        ),
        "by_source": _rows(
            referrals.values("source"),
            "source",
            lambda code: {"source": code, "label": source_labels.get(code, code)},
        ),
        "by_month": _rows(
            referrals.annotate(month=TruncMonth("referred_at", tzinfo=uk_zone())).values("month"),
            "month",
            lambda month: {"month": month.strftime("%Y-%m")},
        ),
    }
