"""Synthetic patients and referrals for the Eastern Health demo: 18 months of an ICC's work.

The data tells the story in docs/domain.md. About half the referrals go to social care and a quarter
to the voluntary sector (the study's 167 / 396 / 181). Some patients wait weeks for social care
while a volunteer covers, one of them for 19 days. Some needs are refused by health or social
care first and end up with a VSO. A few referrals go to a VSO outside its remit, with the reason
written down.

Everything comes from random.Random(2026), and each record takes the same number of draws
whatever the date, so every run plans the same 300 referrals (demo-0001 to demo-0300) and 120
patients. Only their dates move, counted back from today. Referrals are keyed by external_id and
patients by NHS number, so a second run adds nothing.
"""

import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from commissioning.codes import Urgency
from commissioning.models import Organisation, Place, Sector, Service
from commissioning.selectors import service_remit_check
from core.nhs import synthetic_nhs_number
from referrals.models import Patient, Referral, ReferralSource, ReferralStatus
from referrals.services import age_on

SEED = 2026
REFERRAL_COUNT = 300
PATIENT_COUNT = 120
# Far from the factories' sequence (0 upwards) and from the numbers tests type in.
NHS_INDEX_BASE = 100_000
WINDOW_DAYS = 548  # about 18 months
ICC_EMAIL = "icc@eastern-health.example"
RED_CROSS = "Eastern Red Cross Home from Hospital"
RED_CROSS_LEAD = "lead@redcross.example"
RED_CROSS_WORKER = "worker@redcross.example"

# 300 referrals in the study's split: 167 / 396 / 181 is 22.4% / 53.2% / 24.3%.
SECTOR_COUNTS = {Sector.HEALTH: 67, Sector.SOCIAL_CARE: 160, Sector.VOLUNTARY: 73}

HOSPITALS = "Eastern Health Hospitals NHS Foundation Trust"
COMMUNITY = "Eastern Community Health Services"
PCN = "Northbridge Central Primary Care Network"
SOCIAL_CARE = "Eastshire County Council Adult Social Care"
REABLEMENT = "Saltmarsh Reablement Team"
AGE_CONCERN = "Age Concern Eastmoor Befriending"
GOOD_NEIGHBOURS = "Saltmarsh Good Neighbours"
PARISH = "Little Fenwick Parish Council"
WELLBEING = "Northbridge Wellbeing Co-ordination CIC"

S = ReferralStatus
U = Urgency

GIVEN_NAMES = [
    "Edna", "Harold", "Doris", "Albert", "Maureen", "Kenneth", "Joan", "Dennis", "Sheila",
    "Ronald", "Brenda", "Derek", "Pauline", "Trevor", "Glenys", "Clifford", "Iris", "Norman",
    "Hilda", "Stanley", "Marjorie", "Gordon", "Beryl", "Leonard", "Winifred", "Raymond",
    "Olive", "Cyril", "Mavis", "Bernard", "Phyllis", "Roy", "Elsie", "Frank", "Jean", "Geoffrey",
]  # fmt: skip
FAMILY_NAMES = [
    "Brackenridge", "Fenwright", "Moorcroft", "Saltram", "Ebbings", "Northcote", "Pettifer",
    "Quennell", "Stanbridge", "Tolland", "Underhill", "Varley", "Wickens", "Yardley",
    "Blakemore", "Cottam", "Dimmock", "Eldridge", "Farrant", "Gosling", "Harbottle", "Inchley",
    "Jessop", "Kimber", "Lumsden", "Mottram", "Nettleton", "Ormerod", "Pickles", "Rawcliffe",
]  # fmt: skip
# Invented postcode areas (no real area is NB, EM or SX) in the valid UK format.
POSTCODE_AREAS = {"Northbridge": "NB", "Eastmoor": "EM", "Saltmarsh Coast": "SX"}
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # never C, I, K, M, O or V

# organisation -> needs a referral to it is made for
STATUTORY_NEEDS = {
    HOSPITALS: ["clinical_task", "mental_health_support"],
    COMMUNITY: ["clinical_task", "personal_care", "equipment"],
    PCN: ["clinical_task", "mental_health_support", "social_prescription"],
    SOCIAL_CARE: ["personal_care", "care_coordination", "caregiver_support", "home_help"],
    REABLEMENT: ["personal_care", "equipment", "hospital_discharge_support"],
}
HEALTH_WEIGHTS = [(COMMUNITY, 45), (HOSPITALS, 30), (PCN, 25)]
SOCIAL_CARE_WEIGHTS = [(SOCIAL_CARE, 80), (REABLEMENT, 20)]
VOLUNTARY_WEIGHTS = [
    (RED_CROSS, 30),
    (WELLBEING, 25),
    (AGE_CONCERN, 18),
    (GOOD_NEIGHBOURS, 15),
    (PARISH, 12),
]
STATUTORY_SOURCES = [
    (ReferralSource.GP, 25),
    (ReferralSource.MDT_HUB, 20),
    (ReferralSource.ICC, 20),
    (ReferralSource.SELF_OR_FAMILY, 10),
    (ReferralSource.PARAMEDIC, 8),
    (ReferralSource.SOCIAL_PRESCRIBER, 5),
    (ReferralSource.SOCIAL_CARE, 5),
    (ReferralSource.RESIDENTIAL_HOME, 4),
    (ReferralSource.VOLUNTARY_SECTOR, 3),
]
VOLUNTARY_SOURCES = [
    (ReferralSource.SOCIAL_PRESCRIBER, 25),
    (ReferralSource.ICC, 25),
    (ReferralSource.MDT_HUB, 15),
    (ReferralSource.GP, 15),
    (ReferralSource.SELF_OR_FAMILY, 10),
    (ReferralSource.VOLUNTARY_SECTOR, 5),
    (ReferralSource.SOCIAL_CARE, 5),
]
STATUTORY_URGENCY = [(U.ROUTINE, 35), (U.SOON, 35), (U.URGENT, 25), (U.EMERGENCY, 5)]

NEED_REASONS = {
    "home_help": "Struggling with housework since coming home.",
    "equipment": "Needs rails and a perching stool to stay safe at home.",
    "housing_paperwork": "Letters unopened; needs help with a benefits form.",
    "transport": "No way to get to hospital appointments.",
    "shopping": "Cannot get to the shops; little food in the house.",
    "prescription_collection": "Nobody to collect repeat prescriptions.",
    "befriending": "Lonely since her husband died; sees nobody most days.",
    "social_prescription": "Low mood; would like to join a group.",
    "caregiver_support": "Caring for a spouse with dementia and exhausted.",
    "digital_inclusion": "Wants to video-call family but has no one to show him how.",
    "care_coordination": "Several services involved and nobody joining them up.",
    "hospital_discharge_support": "Going home from the ward with nobody to settle him in.",
    "mental_health_support": "Anxious and not leaving the house.",
    "bereavement_support": "Recently bereaved and not coping.",
    "personal_care": "Cannot wash or dress without help.",
    "clinical_task": "Leg ulcer dressings need changing.",
    "emergency_response": "Fell at home and could not get up.",
}
OUTCOMES = {
    Sector.HEALTH: [
        "Assessed; treatment plan agreed with the GP.",
        "Wound healed; discharged from the caseload.",
        "Seen in clinic; follow-up with the practice nurse.",
    ],
    Sector.SOCIAL_CARE: [
        "Care Act assessment completed; package of care in place.",
        "Reablement completed; independent at home.",
        "Assessed: no eligible needs; signposted to the voluntary sector.",
        "Carer's assessment done; respite arranged.",
    ],
    Sector.VOLUNTARY: [
        "Settled at home; shopping and prescriptions arranged until family took over.",
        "Goals met; now goes to a weekly lunch club.",
        "Matched with a befriender; feels less alone.",
        "Care joined up with the GP and social care; handed back to the ICC.",
        "Benefits form sent and a housing repair requested.",
    ],
}
DECLINE_REASONS = {
    Sector.HEALTH: ["Not health, it's social care.", "No clinical need identified."],
    Sector.SOCIAL_CARE: [
        "Does not meet Care Act eligibility criteria.",
        "Not social care, it's health: needs a nurse.",
    ],
    Sector.VOLUNTARY: [
        "No volunteer available in the patient's village this month.",
        "Outside our area.",
        "Needs personal care, which our volunteers do not provide.",
        "Patient did not want a volunteer visiting.",
    ],
}
WITHDRAWAL_REASONS = [
    "Patient admitted to hospital.",
    "Family now providing the support.",
    "Patient moved out of the area.",
    "Patient no longer wants the service.",
]

# Waiting for social care: days waited so far (19 is the frail lady of the study).
WAITING_DAYS = [5, 7, 9, 12, 15, 19, 22, 25]
FRAIL_LADY_DAYS = 19

# (declined first by, reason, voluntary organisation the need then went to)
GAPS_TO_VOLUNTARY = [
    (COMMUNITY, "Not health, it's social care.", RED_CROSS),
    (SOCIAL_CARE, "Does not meet Care Act eligibility criteria.", WELLBEING),
    (SOCIAL_CARE, "Not social care, it's health.", GOOD_NEIGHBOURS),
    (HOSPITALS, "Medically fit for discharge: no further clinical need.", RED_CROSS),
    (SOCIAL_CARE, "No eligible needs under the Care Act; signposted to the voluntary sector.",
     AGE_CONCERN),
    (COMMUNITY, "Not a nursing need: practical help only.", PARISH),
]  # fmt: skip
GAPS_TO_SOCIAL_CARE = [
    (COMMUNITY, "Not health, it's social care."),
    (HOSPITALS, "Not health, it's social care."),
    (COMMUNITY, "Not health, it's social care: personal care, not nursing."),
    (PCN, "Not a GP matter: needs a social care assessment."),
]
# (voluntary organisation, needs, urgency, why it had to go anyway)
OUT_OF_REMIT = [
    (AGE_CONCERN, ["befriending"], U.URGENT,
     "Recently bereaved and not eating; the mental health team cannot see him for three weeks."),
    (RED_CROSS, ["home_help", "personal_care"], U.SOON,
     "Social care cannot start a package for 19 days; she cannot wash alone and her daughter is "
     "away."),
    (GOOD_NEIGHBOURS, ["emergency_response"], U.EMERGENCY,
     "Flooding has cut the village off; the neighbours are the only people who can reach him "
     "tonight."),
    (PARISH, ["transport"], U.URGENT,
     "Hospital appointment moved to tomorrow and no patient transport is free."),
    (WELLBEING, ["care_coordination", "clinical_task"], U.SOON,
     "District nurses have no visit this week; the co-ordinator will check the dressings are "
     "done."),
    (RED_CROSS, ["shopping"], U.EMERGENCY,
     "Discharged late on Friday with no food in the house and nobody else before Monday."),
    (AGE_CONCERN, ["home_help"], U.ROUTINE,
     "The only service she will let in; she refuses carers from the council."),
]  # fmt: skip
FALLBACK_OVERRIDE = "Agreed with the VSO lead: no statutory service could help in time."


def _pick(items: Sequence, u: float):
    return items[min(int(u * len(items)), len(items) - 1)]


def _weighted(pairs: Sequence[tuple], u: float):
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


def _plan_patients(rng: random.Random) -> list[DemoPatient]:
    places = list(POSTCODE_AREAS)
    born_from, born_to = date(1930, 1, 1), date(1960, 12, 31)
    # Every patient a different name, so that nobody in the demo is mistaken for another.
    names = [(given, family) for given in GIVEN_NAMES for family in FAMILY_NAMES]
    rng.shuffle(names)
    patients = []
    for index, (given_name, family_name) in enumerate(names[:PATIENT_COUNT]):
        u = [rng.random() for _ in range(10)]
        place = _pick(places, u[3])
        postcode = (
            f"{POSTCODE_AREAS[place]}{1 + int(u[4] * 9)} "
            f"{int(u[5] * 10)}{_pick(INWARD_LETTERS, u[6])}{_pick(INWARD_LETTERS, u[7])}"
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


class _Planner:
    """Plans every referral from the seeded draws; knows nothing of the database."""

    def __init__(self, *, rng: random.Random, today: date, patients: list[DemoPatient]):
        from vsocare import demo  # demo.seed_demo calls this module: import when used

        self.rng = rng
        self.today = today
        self.patients = patients
        self.referred: set[int] = set()
        self.plans: list[DemoReferral] = []
        self.services = demo.SERVICES
        self.specifications = demo.SPECIFICATIONS
        self.commissioned_days: dict[str, list[int]] = {}

    # --- helpers -------------------------------------------------------------------------

    def draws(self) -> list[float]:
        return [self.rng.random() for _ in range(16)]

    def serves(self, organisation: str, patient: DemoPatient) -> bool:
        if organisation == PCN:
            return patient.place == "Northbridge"
        service = self.services.get(organisation)
        return not service or not service[2] or patient.place in service[2]

    def patient_for(self, organisation: str, u: float, *, lives_alone=None) -> DemoPatient:
        eligible = [p for p in self.patients if self.serves(organisation, p)]
        if lives_alone is not None:
            eligible = [p for p in eligible if p.lives_alone == lives_alone] or eligible
        # Someone not yet referred first, so every demo patient has a referral.
        fresh = [p for p in eligible if p.index not in self.referred]
        patient = _pick(fresh or eligible, u)
        self.referred.add(patient.index)
        return patient

    def spec_on(self, organisation: str, day: date) -> dict | None:
        versions = self.specifications.get(self.services[organisation][0], [])
        in_force = [v for v in versions if v["starts_on"] <= day <= (v["ends_on"] or day)]
        return in_force[-1] if in_force else None

    def episode_days(self, organisation: str) -> int:
        versions = self.specifications.get(self.services.get(organisation, ("",))[0], [])
        weeks = versions[-1]["max_episode_weeks"] if versions else None
        return 7 * (weeks or 8)

    def commissioned_day(self, organisation: str, u: float) -> int:
        """Days ago, within the window, on a day a specification was in force if there is one:
        a referral made before the service was commissioned would be out of remit."""
        if organisation not in self.commissioned_days:
            self.commissioned_days[organisation] = [
                d
                for d in range(WINDOW_DAYS)
                if self.spec_on(organisation, self.today - timedelta(days=d))
            ]
        return _pick(self.commissioned_days[organisation] or range(WINDOW_DAYS), u)

    def remit_needs(self, organisation: str, days_ago: int, u: Sequence[float]):
        """One or two needs, and an urgency, within the specification in force on the day."""
        day = self.today - timedelta(days=days_ago)
        spec = (
            self.spec_on(organisation, day)
            or self.specifications[self.services[organisation][0]][-1]
        )
        allowed = [
            code
            for code in (spec["activities_in_remit"] or self.services[organisation][1])
            if code not in spec["activities_excluded"]
        ]
        needs = [_pick(allowed, u[0])]
        second = _pick(allowed, u[1])
        if u[2] < 0.35 and second not in needs:
            needs.append(second)
        urgencies = U.values[: U.rank(spec["max_urgency"])]
        return needs, _pick(urgencies, u[3] ** 1.5)

    def random_status(self, sector: str, organisation: str, days_ago: int, u: float) -> str:
        if sector == Sector.VOLUNTARY:
            if days_ago <= 2:
                mix = [(S.RECEIVED, 55), (S.ACCEPTED, 25), (S.DECLINED, 12), (S.WITHDRAWN, 8)]
            elif days_ago <= self.episode_days(organisation):
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
        return _weighted(mix, u)

    def add(self, **values) -> DemoReferral:
        plan = DemoReferral(external_id=f"demo-{len(self.plans) + 1:04d}", **values)
        self.plans.append(plan)
        return plan

    def statutory(self, sector: str, organisation: str, u: list[float], **extra):
        patient = extra.pop("patient", None) or self.patient_for(organisation, u[0])
        days_ago = extra.pop("days_ago", None)
        if days_ago is None:
            days_ago = int(u[1] * WINDOW_DAYS)
        options = STATUTORY_NEEDS[organisation]
        needs = extra.pop("needs", None) or sorted(
            {_pick(options, u[2]), _pick(options, u[3])} if u[4] < 0.3 else {_pick(options, u[2])}
        )
        return self.add(
            patient=patient,
            sector=sector,
            organisation=organisation,
            days_ago=days_ago,
            minute=int(u[5] * 600),
            source=_weighted(STATUTORY_SOURCES, u[6]),
            needs=needs,
            urgency=extra.pop("urgency", None) or _weighted(STATUTORY_URGENCY, u[7]),
            reason=extra.pop("reason", "") or NEED_REASONS[needs[0]],
            status=extra.pop("status", None)
            or self.random_status(sector, organisation, days_ago, u[8]),
            timing=u[9:],
            **extra,
        )

    def voluntary(self, organisation: str, u: list[float], **extra) -> DemoReferral:
        patient = extra.pop("patient", None) or self.patient_for(organisation, u[0])
        days_ago = extra.pop("days_ago", None)
        if days_ago is None:
            days_ago = self.commissioned_day(organisation, u[1])
        needs, urgency = self.remit_needs(organisation, days_ago, u[2:6])
        needs = extra.pop("needs", None) or needs
        return self.add(
            patient=patient,
            sector=Sector.VOLUNTARY,
            organisation=organisation,
            days_ago=days_ago,
            minute=int(u[6] * 600),
            source=_weighted(VOLUNTARY_SOURCES, u[7]),
            needs=needs,
            urgency=extra.pop("urgency", None) or urgency,
            reason=extra.pop("reason", "") or NEED_REASONS[needs[0]],
            status=extra.pop("status", None)
            or self.random_status(Sector.VOLUNTARY, organisation, days_ago, u[8]),
            timing=u[9:],
            episode_days=self.episode_days(organisation),
            **extra,
        )

    # --- the story -----------------------------------------------------------------------

    def plan(self) -> list[DemoReferral]:
        # Waiting for social care, each with a volunteer covering in the meantime.
        for days_ago in WAITING_DAYS:
            u, cover_u = self.draws(), self.draws()
            frail = days_ago == FRAIL_LADY_DAYS
            if frail:
                patient = self.patient_for(RED_CROSS, u[0], lives_alone=True)
            else:
                patient = self.patient_for(SOCIAL_CARE, u[0])
            organisation = REABLEMENT if patient.place == "Saltmarsh Coast" else SOCIAL_CARE
            waiting = self.statutory(
                Sector.SOCIAL_CARE,
                organisation,
                u,
                patient=patient,
                days_ago=days_ago,
                status=S.RECEIVED if u[15] < 0.5 else S.ACCEPTED,
                urgency=U.URGENT if frail or u[7] < 0.5 else U.SOON,
                needs=["personal_care", "home_help"] if frail else None,
                reason=(
                    "Urgent social care visit needed after a fall; lives alone and cannot "
                    "manage meals or washing."
                    if frail
                    else ""
                ),
            )
            if frail:
                cover_org = RED_CROSS
            elif patient.place == "Saltmarsh Coast":
                cover_org = _pick([GOOD_NEIGHBOURS, WELLBEING], cover_u[0])
            else:
                cover_org = _pick([RED_CROSS, WELLBEING], cover_u[0])
            self.voluntary(
                cover_org,
                cover_u,
                patient=patient,
                days_ago=days_ago - 1 - int(cover_u[1] * 2),
                needs=["home_help", "shopping"] if frail else None,
                urgency=U.URGENT if frail else None,
                status=S.IN_PROGRESS if frail or cover_u[15] < 0.6 else S.ACCEPTED,
                reason=f"Interim cover while {patient.given_name} waits for social care.",
                cover_for=waiting.external_id,
            )

        # Refused by health or social care first: the gaps the voluntary sector bridges.
        for declined_by, why, organisation in GAPS_TO_VOLUNTARY:
            self.voluntary(
                organisation,
                self.draws(),
                statutory_declined_by=declined_by,
                statutory_decline_reason=why,
            )
        for declined_by, why in GAPS_TO_SOCIAL_CARE:
            self.statutory(
                Sector.SOCIAL_CARE,
                SOCIAL_CARE,
                self.draws(),
                statutory_declined_by=declined_by,
                statutory_decline_reason=why,
            )

        # Sent outside the remit anyway, with the reason written down.
        for organisation, needs, urgency, why in OUT_OF_REMIT:
            self.voluntary(
                organisation,
                self.draws(),
                needs=needs,
                urgency=urgency,
                reason=NEED_REASONS[needs[-1]],
                override_reason=why,
            )

        # Everything else, in the study's split.
        voluntary_left = SECTOR_COUNTS[Sector.VOLUNTARY] - sum(
            plan.sector == Sector.VOLUNTARY for plan in self.plans
        )
        for n in range(voluntary_left):
            u = self.draws()
            # Round the services twice first, so that every one of them has referrals, the
            # second time with referrals made in the last few days and not yet answered.
            rounds = len(VOLUNTARY_WEIGHTS)
            if n < 2 * rounds:
                organisation = VOLUNTARY_WEIGHTS[n % rounds][0]
            else:
                organisation = _weighted(VOLUNTARY_WEIGHTS, u[15])
            recent = {"days_ago": int(u[1] * 3)} if rounds <= n < 2 * rounds else {}
            self.voluntary(organisation, u, **recent)
        for sector, weights in (
            (Sector.SOCIAL_CARE, SOCIAL_CARE_WEIGHTS),
            (Sector.HEALTH, HEALTH_WEIGHTS),
        ):
            left = SECTOR_COUNTS[sector] - sum(plan.sector == sector for plan in self.plans)
            for _ in range(left):
                u = self.draws()
                self.statutory(sector, _weighted(weights, u[15]), u)
        return self.plans


def plan_demo_referrals(*, today: date) -> tuple[list[DemoPatient], list[DemoReferral]]:
    """The demo patients and referrals, as plain data, for the given day."""
    rng = random.Random(SEED)
    patients = _plan_patients(rng)
    referrals = _Planner(rng=rng, today=today, patients=patients).plan()
    return patients, referrals


def _referred_at(plan: DemoReferral, today: date, now: datetime) -> datetime:
    day = today - timedelta(days=plan.days_ago)
    at = timezone.make_aware(datetime.combine(day, time(8))) + timedelta(minutes=plan.minute)
    return min(at, now - timedelta(minutes=10))


def _lifecycle(plan: DemoReferral, referred_at: datetime, now: datetime, users: dict) -> dict:
    """Timestamps and texts for the referral's status, in order and none after now."""
    u = plan.timing
    episode = plan.episode_days
    decided = timedelta(hours=2 + u[0] * 70)
    contacted = decided + timedelta(hours=1 + u[1] * 119)
    closed = contacted + timedelta(days=1 + u[2] * (episode - 1))
    withdrawn = timedelta(hours=4 + u[3] * 236)
    accepted_first = u[4] < 0.5 and withdrawn > decided
    last = {
        S.RECEIVED: timedelta(0),
        S.ACCEPTED: decided,
        S.DECLINED: decided,
        S.IN_PROGRESS: contacted,
        S.CLOSED: closed,
        S.WITHDRAWN: withdrawn,
    }[plan.status]
    # Squeeze the whole story into the time since the referral, keeping its order.
    room = (now - referred_at) * 0.95
    scale = min(1.0, room / last) if last else 1.0

    def at(offset: timedelta) -> datetime:
        return referred_at + offset * scale

    red_cross = plan.organisation == RED_CROSS
    lead = users["lead"] if red_cross else None
    worker = users["worker"] if red_cross else None
    values: dict = {}
    if plan.status in (S.ACCEPTED, S.DECLINED, S.IN_PROGRESS, S.CLOSED) or (
        plan.status == S.WITHDRAWN and accepted_first
    ):
        values.update(decided_at=at(decided), decided_by=lead)
    if plan.status == S.DECLINED:
        values["decline_reason"] = _pick(DECLINE_REASONS[plan.sector], u[5])
    if plan.status in (S.IN_PROGRESS, S.CLOSED):
        values.update(first_contact_at=at(contacted), first_contact_by=worker)
    if plan.status == S.CLOSED:
        values.update(
            closed_at=at(closed), closed_by=lead, outcome=_pick(OUTCOMES[plan.sector], u[5])
        )
    if plan.status == S.WITHDRAWN:
        values.update(
            withdrawn_at=at(withdrawn),
            withdrawn_by=users["icc"],
            withdrawal_reason=_pick(WITHDRAWAL_REASONS, u[5]),
        )
    return values


@transaction.atomic
def seed_demo_referrals(*, system, organisations: dict[str, Organisation]) -> int:
    """Create the demo patients and referrals that are missing; returns how many referrals."""
    icc = User.objects.filter(email__iexact=ICC_EMAIL).select_related("organisation").first()
    if icc is None or icc.organisation is None:
        return 0  # demo users come first; this never creates users
    today, now = timezone.localdate(), timezone.now()
    demo_patients, plans = plan_demo_referrals(today=today)
    existing = set(
        Referral.objects.filter(external_id__in=[p.external_id for p in plans]).values_list(
            "external_id", flat=True
        )
    )
    missing = [plan for plan in plans if plan.external_id not in existing]
    if not missing:
        return 0

    patients = _ensure_patients(demo_patients, plans, icc=icc, today=today, now=now)
    places = {place.name: place for place in Place.objects.filter(system=system)}
    services = {
        service.organisation.name: service
        for service in Service.objects.filter(
            organisation__in=organisations.values()
        ).select_related("organisation")
    }
    users = {
        "icc": icc,
        "lead": User.objects.filter(email__iexact=RED_CROSS_LEAD).first(),
        "worker": User.objects.filter(email__iexact=RED_CROSS_WORKER).first(),
    }

    rows = []
    for plan in missing:
        referred_at = _referred_at(plan, today, now)
        patient = patients[plan.patient.nhs_number]
        service = services.get(plan.organisation)
        remit_reasons, override_reason = [], ""
        if plan.sector == Sector.VOLUNTARY:
            # As referral_create does: the reasons the check gave on the day, and the override.
            day = timezone.localtime(referred_at).date()
            check = service_remit_check(
                service=service,
                urgency=plan.urgency,
                activities=plan.needs,
                patient_age=age_on(patient.date_of_birth, day),
                on_date=day,
            )
            remit_reasons = [asdict(reason) for reason in check.reasons]
            if remit_reasons:
                override_reason = plan.override_reason or FALLBACK_OVERRIDE
        referral = Referral(
            external_id=plan.external_id,
            patient=patient,
            referrer=icc,
            referrer_organisation=icc.organisation,
            place=places.get(plan.patient.place),
            source=plan.source,
            destination_sector=plan.sector,
            organisation=organisations[plan.organisation],
            service=service,
            needs=plan.needs,
            activities=plan.needs,
            urgency=plan.urgency,
            reason=plan.reason,
            status=plan.status,
            referred_at=referred_at,
            statutory_declined_by=organisations.get(plan.statutory_declined_by),
            statutory_decline_reason=plan.statutory_decline_reason,
            out_of_remit=bool(remit_reasons),
            remit_reasons=remit_reasons,
            override_reason=override_reason,
            created_by=icc,
            updated_by=icc,
            **_lifecycle(plan, referred_at, now, users),
        )
        rows.append((plan, referral))

    # Covers point at the statutory referral they cover, so those go in first; each batch in
    # date order so that references (R-000123) run with the dates.
    first = [referral for plan, referral in rows if not plan.cover_for]
    Referral.objects.bulk_create(sorted(first, key=lambda r: r.referred_at))
    covers = [(plan, referral) for plan, referral in rows if plan.cover_for]
    if covers:
        waiting = {
            r.external_id: r
            for r in Referral.objects.filter(external_id__in=[p.cover_for for p, _ in covers])
        }
        for plan, referral in covers:
            covered = waiting.get(plan.cover_for)
            # Only if it is still the statutory referral of the same patient it was planned as.
            if (
                covered is not None
                and covered.destination_sector != Sector.VOLUNTARY
                and covered.patient_id == referral.patient_id
            ):
                referral.interim_cover_for = covered
        Referral.objects.bulk_create(
            sorted((referral for _, referral in covers), key=lambda r: r.referred_at)
        )
    return len(rows)


def _ensure_patients(
    demo_patients: list[DemoPatient],
    plans: list[DemoReferral],
    *,
    icc: User,
    today: date,
    now: datetime,
) -> dict[str, Patient]:
    """The demo patients by NHS number, creating those missing. Consent was recorded on the day
    of each patient's first referral."""
    first_referral: dict[int, date] = {}
    for plan in plans:
        day = timezone.localtime(_referred_at(plan, today, now)).date()
        index = plan.patient.index
        first_referral[index] = min(day, first_referral.get(index, day))
    numbers = [p.nhs_number for p in demo_patients]
    found = {p.nhs_number: p for p in Patient.objects.filter(nhs_number__in=numbers)}
    Patient.objects.bulk_create(
        [
            Patient(
                nhs_number=demo.nhs_number,
                given_name=demo.given_name,
                family_name=demo.family_name,
                date_of_birth=demo.date_of_birth,
                postcode=demo.postcode,
                lives_alone=demo.lives_alone,
                is_carer=demo.is_carer,
                is_cared_for=demo.is_cared_for,
                consent_to_share=True,
                consent_recorded_on=first_referral.get(demo.index, today),
                consent_recorded_by=icc,
                created_by=icc,
                updated_by=icc,
            )
            for demo in demo_patients
            if demo.nhs_number not in found
        ]
    )
    return {p.nhs_number: p for p in Patient.objects.filter(nhs_number__in=numbers)}
