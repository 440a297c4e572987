"""The VSO lead's remit page: what their own organisation's voluntary services took on in a
month, against the specifications they are commissioned under."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from django.db.models import Count

from accounts.models import Role, User
from commissioning.codes import Urgency
from commissioning.in_force import specifications_in_force
from commissioning.models import Organisation, Sector, Service, ServiceSpecification
from commissioning.remit import REPORTED_CODES
from core.dates import month_bounds, next_month_start
from referrals.models import Referral, RemitLimitMark
from referrals.remit_cache import remit_page_cached
from referrals.reports.breaches import remit_breaches
from referrals.selectors import capacity_used, referrals_visible_to


@dataclass(frozen=True)
class UrgencyCount:
    urgency: str
    label: str
    count: int
    above_limit: bool


@dataclass
class ServiceRemit:
    """One of the organisation's services in the month, against its specification."""

    service: Service
    specification: ServiceSpecification | None
    used: int
    urgencies: list[UrgencyCount]
    breaches: int = 0

    @property
    def capacity(self) -> int | None:
        return self.specification.monthly_capacity if self.specification else None

    @property
    def percent_used(self) -> int | None:
        if not self.capacity:
            return None
        return round(100 * self.used / self.capacity)

    @property
    def bar_width(self) -> int:
        """The bar's length in steps of 5%, each a class of the stylesheet: the policy allows
        no style attribute. The figure beside it is exact."""
        if self.capacity == 0:
            return 100 if self.used else 0
        return min(5 * round((self.percent_used or 0) / 5), 100)

    @property
    def over_by(self) -> int:
        return max(self.used - self.capacity, 0) if self.capacity is not None else 0

    @property
    def received(self) -> int:
        return sum(count.count for count in self.urgencies)


@dataclass
class BreachGroup:
    """One count of the remit-breaches report, with the referrals behind it."""

    service: str
    rule: str
    count: int
    referrals: list[Referral]
    overridden: set[int] = field(default_factory=set)


@dataclass
class RemitPage:
    organisation: Organisation | None
    month: date
    # The day whose specification is shown: today in this month, else the month's last day.
    reference_day: date
    services: list[ServiceRemit]
    breaches: list[BreachGroup]
    marks: list[RemitLimitMark]

    @property
    def breach_total(self) -> int:
        return sum(group.count for group in self.breaches)


def _urgency_mix(
    services: Iterable[Service], start: datetime, end: datetime
) -> dict[int, dict[str, int]]:
    """Referrals received per service and urgency in the month, whatever became of them."""
    mix: dict[int, dict[str, int]] = {}
    rows = (
        Referral.objects.filter(service__in=services, referred_at__gte=start, referred_at__lt=end)
        .order_by()
        .values_list("service_id", "urgency")
        .annotate(n=Count("id"))
    )
    for service_id, urgency, count in rows:
        mix.setdefault(service_id, {})[urgency] = count
    return mix


def _breach_groups(user: User, report: dict[str, Any]) -> list[BreachGroup]:
    ids = {pk for row in report["by_service"] for pk in row["referral_ids"]}
    # Only what the page shows: these are kept in the shared cache, where no patient's identity
    # and no free text about them belongs.
    behind = (
        referrals_visible_to(user)
        .filter(pk__in=ids)
        .select_related(None)
        .select_related("remit_mark")
        .only("referred_at", "urgency", "status", "remit_mark__clause")
    )
    found = {}
    for referral in behind:
        # Its mark or None, for the page: a missing reverse one-to-one raises, and a template
        # then lists every name on the referral (dir()) before it gives up, on every row.
        referral.shown_mark = getattr(referral, "remit_mark", None)  # type: ignore[attr-defined]
        found[referral.pk] = referral
    return [
        BreachGroup(
            service=row["service"],
            rule=row["rule"],
            count=row["count"],
            referrals=sorted(
                (found[pk] for pk in row["referral_ids"] if pk in found),
                key=lambda referral: (referral.referred_at, referral.pk),
            ),
            overridden=set(row["overridden_ids"]),
        )
        for row in sorted(report["by_service"], key=_report_order)
    ]


def _report_order(row: dict[str, Any]) -> tuple[str, int, int]:
    """By service, then the rules in the order the report lists them."""
    order = REPORTED_CODES
    rule = order.index(row["rule"]) if row["rule"] in order else len(order)
    return (row["service"], row["service_id"], rule)


def remit_page_for(user: User, *, month: date, today: date) -> RemitPage:
    """A VSO lead's own organisation's voluntary services in a month: capacity used, the
    urgency mix, remit breaches with the referrals behind them, and the referrals it marked at
    the limit of its remit. Anyone else, or a lead of a non-voluntary organisation, gets none.

    The figures are the organisation's, the same for each of its leads, so they are kept in the
    shared cache until a write changes them (referrals.remit_cache): a request then reads them
    in one round trip to Redis and no query. Computing them takes a fixed number of queries,
    however many services and referrals."""
    month = month.replace(day=1)
    last_day = next_month_start(month) - timedelta(days=1)
    reference_day = today if (today.year, today.month) == (month.year, month.month) else last_day
    organisation = user.organisation if user.has_role(Role.VSO_LEAD) else None
    if organisation is None or organisation.sector != Sector.VOLUNTARY:
        return RemitPage(organisation, month, reference_day, [], [], [])
    figures = remit_page_cached(
        organisation_id=organisation.pk,
        month=month,
        today=today,
        compute=partial(
            _figures,
            user,
            organisation=organisation,
            month=month,
            reference_day=reference_day,
            today=today,
        ),
    )
    return RemitPage(organisation, month, reference_day, *figures)


Figures = tuple[list[ServiceRemit], list[BreachGroup], list[RemitLimitMark]]


def _figures(
    user: User, *, organisation: Organisation, month: date, reference_day: date, today: date
) -> Figures:
    """The page's services, breaches and marks. The user, a lead of the organisation, sees
    every referral to it, as each of its leads does."""
    last_day = next_month_start(month) - timedelta(days=1)
    services = list(Service.objects.filter(organisation=organisation).order_by("name"))
    start, end = month_bounds(month)
    specs = specifications_in_force(services=services, on_date=reference_day)
    used = capacity_used(service_ids=[service.pk for service in services], on_date=month)
    mix = _urgency_mix(services, start, end)
    report = remit_breaches(
        system=organisation.system,
        date_from=month,
        date_to=last_day,
        organisation=organisation,
        today=today,
    )
    breaches_per_service: dict[int, int] = {}
    for row in report["by_service"]:
        service_id = row["service_id"]
        breaches_per_service[service_id] = breaches_per_service.get(service_id, 0) + row["count"]

    summaries = []
    for service in services:
        spec = specs.get(service.pk)
        counts = mix.get(service.pk, {})
        limit = Urgency.rank(spec.max_urgency) if spec else None
        urgencies = [
            UrgencyCount(
                urgency=urgency,
                label=label,
                count=counts.get(urgency, 0),
                above_limit=limit is not None and Urgency.rank(urgency) > limit,
            )
            for urgency, label in Urgency.choices
        ]
        summaries.append(
            ServiceRemit(
                service=service,
                specification=spec,
                used=used.get(service.pk, 0),
                urgencies=urgencies,
                breaches=breaches_per_service.get(service.pk, 0),
            )
        )

    marks = list(
        RemitLimitMark.objects.filter(
            referral__organisation=organisation,
            referral__referred_at__gte=start,
            referral__referred_at__lt=end,
        )
        .select_related("referral__service", "marked_by", "specification")
        # What the page shows, and no more, for the same reason as the breaches' referrals.
        .only(
            "clause_text",
            "note",
            "marked_at",
            "referral__service__name",
            "specification__version",
            "marked_by__full_name",
        )
        .order_by("-marked_at", "-pk")
    )
    return summaries, _breach_groups(user, report), marks
