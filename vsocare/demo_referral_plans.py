"""How each demo referral is planned: the patients, the referral and patient rows as plain
data, and a planner that draws one referral at a time from the seeded random numbers. Which
referrals the demo has is decided in vsocare.demo_referral_story.

Each record takes the same number of draws whatever the date, so every run plans the same
patients and referrals; only their dates move, counted back from today.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar

from commissioning.codes import Urgency
from commissioning.models import Sector
from core.nhs import synthetic_nhs_number
from referrals.models import ReferralStatus
from vsocare.demo_directory import SERVICES, SPECIFICATIONS, DemoSpecification
from vsocare.demo_referral_tables import (
    DRAWS_PER_PATIENT,
    DRAWS_PER_REFERRAL,
    FAMILY_NAMES,
    GIVEN_NAMES,
    INWARD_LETTERS,
    NEED_REASONS,
    NHS_INDEX_BASE,
    PATIENT_COUNT,
    PCN,
    POSTCODE_AREAS,
    STATUTORY_NEEDS,
    STATUTORY_SOURCES,
    STATUTORY_URGENCY,
    VOLUNTARY_SOURCES,
    WINDOW_DAYS,
)

S = ReferralStatus
U = Urgency
T = TypeVar("T")


def pick(items: Sequence[T], u: float) -> T:
    """The item a uniform draw u in [0, 1) falls on."""
    return items[min(int(u * len(items)), len(items) - 1)]


def weighted(pairs: Sequence[tuple[T, int]], u: float) -> T:
    """The item a uniform draw u in [0, 1) falls on, each taking its weight's share."""
    total = sum(weight for _, weight in pairs)
    point = u * total
    for item, weight in pairs:
        if point < weight:
            return item
        point -= weight
    return pairs[-1][0]


@dataclass(frozen=True)
class DemoPatient:
    index: int
    given_name: str
    family_name: str
    date_of_birth: date
    place: str
    postcode: str
    lives_alone: bool
    is_carer: bool
    is_cared_for: bool

    @property
    def nhs_number(self) -> str:
        return synthetic_nhs_number(NHS_INDEX_BASE + self.index)


@dataclass
class DemoReferral:
    external_id: str
    patient: DemoPatient
    sector: str
    organisation: str
    days_ago: int
    minute: int  # after 08:00 on the day
    source: str
    needs: list[str]
    urgency: str
    status: str
    timing: list[float]  # draws for the lifecycle timings and texts
    reason: str = ""
    statutory_declined_by: str = ""
    statutory_decline_reason: str = ""
    cover_for: str = ""  # external_id of the statutory referral this one covers
    override_reason: str = ""
    # The longest episode the service allows: closed and open episodes keep within it.
    episode_days: int = 42


def plan_patients(rng: random.Random) -> list[DemoPatient]:
    """The demo patients, each with a different name."""
    places = list(POSTCODE_AREAS)
    born_from, born_to = date(1930, 1, 1), date(1960, 12, 31)
    # Every patient a different name, so that nobody in the demo is mistaken for another.
    names = [(given, family) for given in GIVEN_NAMES for family in FAMILY_NAMES]
    rng.shuffle(names)
    patients = []
    for index, (given_name, family_name) in enumerate(names[:PATIENT_COUNT]):
        u = [rng.random() for _ in range(DRAWS_PER_PATIENT)]
        place = pick(places, u[3])
        postcode = (
            f"{POSTCODE_AREAS[place]}{1 + int(u[4] * 9)} "
            f"{int(u[5] * 10)}{pick(INWARD_LETTERS, u[6])}{pick(INWARD_LETTERS, u[7])}"
        )
        patients.append(
            DemoPatient(
                index=index,
                given_name=given_name,
                family_name=family_name,
                date_of_birth=born_from + timedelta(days=int(u[2] * (born_to - born_from).days)),
                place=place,
                postcode=postcode,
                lives_alone=u[8] < 0.45,
                is_carer=u[9] < 0.15,
                is_cared_for=0.15 <= u[9] < 0.5,
            )
        )
    return patients


def _spec_on(organisation: str, day: date) -> DemoSpecification | None:
    """The organisation's specification in force on the day, if any."""
    versions = SPECIFICATIONS.get(SERVICES[organisation].name, [])
    in_force = [v for v in versions if v.starts_on <= day <= (v.ends_on or day)]
    return in_force[-1] if in_force else None


def _episode_days(organisation: str) -> int:
    """The longest episode the organisation's current specification allows, or 8 weeks."""
    service = SERVICES.get(organisation)
    versions = SPECIFICATIONS.get(service.name, []) if service else []
    weeks = versions[-1].max_episode_weeks if versions else None
    return 7 * (weeks or 8)


def _random_status(sector: str, organisation: str, days_ago: int, u: float) -> str:
    """A status likely for a referral to the sector made days_ago: recent ones still open."""
    mix: list[tuple[str, int]]
    if sector == Sector.VOLUNTARY:
        if days_ago <= 2:
            mix = [(S.RECEIVED, 55), (S.ACCEPTED, 25), (S.DECLINED, 12), (S.WITHDRAWN, 8)]
        elif days_ago <= _episode_days(organisation):
            mix = [
                (S.RECEIVED if days_ago <= 7 else S.ACCEPTED, 8),
                (S.ACCEPTED, 12),
                (S.IN_PROGRESS, 50),
                (S.CLOSED, 15),
                (S.DECLINED, 10),
                (S.WITHDRAWN, 5),
            ]
        else:
            mix = [(S.CLOSED, 78), (S.DECLINED, 12), (S.WITHDRAWN, 10)]
    elif days_ago <= 4:
        # Statutory referrals stay open only for a few days, except the waiting ones
        # planned on purpose: otherwise the waiting list would fill with old cases.
        mix = [(S.RECEIVED, 50), (S.ACCEPTED, 30), (S.IN_PROGRESS, 10), (S.DECLINED, 10)]
    else:
        mix = [(S.CLOSED, 75), (S.DECLINED, 15), (S.WITHDRAWN, 10)]
    return weighted(mix, u)


class ReferralPlanner:
    """Plans referrals one at a time from the seeded draws; knows nothing of the database."""

    def __init__(self, *, rng: random.Random, today: date, patients: list[DemoPatient]) -> None:
        self.rng = rng
        self.today = today
        self.patients = patients
        self.referred: set[int] = set()
        self.plans: list[DemoReferral] = []
        self.commissioned_days: dict[str, list[int]] = {}

    def draws(self) -> list[float]:
        return [self.rng.random() for _ in range(DRAWS_PER_REFERRAL)]

    def serves(self, organisation: str, patient: DemoPatient) -> bool:
        if organisation == PCN:
            return patient.place == "Northbridge"
        service = SERVICES.get(organisation)
        return service is None or not service.places or patient.place in service.places

    def patient_for(
        self, organisation: str, u: float, *, lives_alone: bool | None = None
    ) -> DemoPatient:
        eligible = [p for p in self.patients if self.serves(organisation, p)]
        if lives_alone is not None:
            eligible = [p for p in eligible if p.lives_alone == lives_alone] or eligible
        # Someone not yet referred first, so every demo patient has a referral.
        fresh = [p for p in eligible if p.index not in self.referred]
        patient = pick(fresh or eligible, u)
        self.referred.add(patient.index)
        return patient

    def commissioned_day(self, organisation: str, u: float) -> int:
        """Days ago, within the window, on a day a specification was in force if there is one:
        a referral made before the service was commissioned would be out of remit."""
        if organisation not in self.commissioned_days:
            self.commissioned_days[organisation] = [
                d
                for d in range(WINDOW_DAYS)
                if _spec_on(organisation, self.today - timedelta(days=d))
            ]
        return pick(self.commissioned_days[organisation] or range(WINDOW_DAYS), u)

    def remit_needs(
        self, organisation: str, days_ago: int, u: Sequence[float]
    ) -> tuple[list[str], str]:
        """One or two needs, and an urgency, within the specification in force on the day."""
        day = self.today - timedelta(days=days_ago)
        service = SERVICES[organisation]
        spec = _spec_on(organisation, day) or SPECIFICATIONS[service.name][-1]
        allowed = [
            code
            for code in (spec.activities_in_remit or service.needs)
            if code not in spec.activities_excluded
        ]
        needs = [pick(allowed, u[0])]
        second = pick(allowed, u[1])
        if u[2] < 0.35 and second not in needs:
            needs.append(second)
        urgencies = U.values[: U.rank(spec.max_urgency)]
        return needs, pick(urgencies, u[3] ** 1.5)

    def count(self, sector: str) -> int:
        """How many referrals to the sector are planned so far."""
        return sum(plan.sector == sector for plan in self.plans)

    def add(self, plan: DemoReferral) -> DemoReferral:
        self.plans.append(plan)
        return plan

    def next_external_id(self) -> str:
        return f"demo-{len(self.plans) + 1:04d}"

    def statutory(
        self,
        sector: str,
        organisation: str,
        u: list[float],
        *,
        patient: DemoPatient | None = None,
        days_ago: int | None = None,
        needs: list[str] | None = None,
        urgency: str | None = None,
        reason: str = "",
        status: str | None = None,
        statutory_declined_by: str = "",
        statutory_decline_reason: str = "",
    ) -> DemoReferral:
        patient = patient or self.patient_for(organisation, u[0])
        if days_ago is None:
            days_ago = int(u[1] * WINDOW_DAYS)
        options = STATUTORY_NEEDS[organisation]
        needs = needs or sorted(
            {pick(options, u[2]), pick(options, u[3])} if u[4] < 0.3 else {pick(options, u[2])}
        )
        return self.add(
            DemoReferral(
                external_id=self.next_external_id(),
                patient=patient,
                sector=sector,
                organisation=organisation,
                days_ago=days_ago,
                minute=int(u[5] * 600),
                source=weighted(STATUTORY_SOURCES, u[6]),
                needs=needs,
                urgency=urgency or weighted(STATUTORY_URGENCY, u[7]),
                reason=reason or NEED_REASONS[needs[0]],
                status=status or _random_status(sector, organisation, days_ago, u[8]),
                timing=u[9:],
                statutory_declined_by=statutory_declined_by,
                statutory_decline_reason=statutory_decline_reason,
            )
        )

    def voluntary(
        self,
        organisation: str,
        u: list[float],
        *,
        patient: DemoPatient | None = None,
        days_ago: int | None = None,
        needs: list[str] | None = None,
        urgency: str | None = None,
        reason: str = "",
        status: str | None = None,
        statutory_declined_by: str = "",
        statutory_decline_reason: str = "",
        cover_for: str = "",
        override_reason: str = "",
    ) -> DemoReferral:
        patient = patient or self.patient_for(organisation, u[0])
        if days_ago is None:
            days_ago = self.commissioned_day(organisation, u[1])
        in_remit_needs, in_remit_urgency = self.remit_needs(organisation, days_ago, u[2:6])
        needs = needs or in_remit_needs
        return self.add(
            DemoReferral(
                external_id=self.next_external_id(),
                patient=patient,
                sector=Sector.VOLUNTARY,
                organisation=organisation,
                days_ago=days_ago,
                minute=int(u[6] * 600),
                source=weighted(VOLUNTARY_SOURCES, u[7]),
                needs=needs,
                urgency=urgency or in_remit_urgency,
                reason=reason or NEED_REASONS[needs[0]],
                status=status or _random_status(Sector.VOLUNTARY, organisation, days_ago, u[8]),
                timing=u[9:],
                statutory_declined_by=statutory_declined_by,
                statutory_decline_reason=statutory_decline_reason,
                cover_for=cover_for,
                override_reason=override_reason,
                episode_days=_episode_days(organisation),
            )
        )
