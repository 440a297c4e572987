"""Writes the Eastern Health demo's patients and referrals, planned in
vsocare.demo_referral_plans, to the database, each with a lifecycle that fits its dates.

Referrals are keyed by external_id and patients by NHS number, so a second run adds nothing.
"""

from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from commissioning.models import Organisation, Place, Sector, Service, System
from commissioning.selectors_remit import service_remit_check
from core.dates import age_on
from referrals.models import (
    Consent,
    ConsentDecision,
    ConsentMethod,
    LawfulBasis,
    Patient,
    Referral,
    ReferralStatus,
)
from vsocare.demo_referral_plans import DemoPatient, DemoReferral, pick
from vsocare.demo_referral_story import plan_demo_referrals
from vsocare.demo_referral_tables import (
    DECLINE_REASONS,
    FALLBACK_OVERRIDE,
    ICC_EMAIL,
    OUTCOMES,
    RED_CROSS,
    RED_CROSS_LEAD,
    RED_CROSS_WORKER,
    WITHDRAWAL_REASONS,
)

S = ReferralStatus


@dataclass(frozen=True)
class _Staff:
    """Who makes the demo referrals (the ICC) and who answers the Red Cross's."""

    icc: User
    lead: User | None
    worker: User | None


@dataclass(frozen=True)
class _Directory:
    """The demo system's places, organisations and services (by organisation), by name."""

    places: dict[str, Place]
    organisations: dict[str, Organisation]
    services: dict[str, Service]


@transaction.atomic
def seed_demo_referrals(*, system: System, organisations: dict[str, Organisation]) -> int:
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
    directory = _Directory(
        places={place.name: place for place in Place.objects.filter(system=system)},
        organisations=organisations,
        services={
            service.organisation.name: service
            for service in Service.objects.filter(
                organisation__in=organisations.values()
            ).select_related("organisation")
        },
    )
    staff = _Staff(
        icc=icc,
        lead=User.objects.filter(email__iexact=RED_CROSS_LEAD).first(),
        worker=User.objects.filter(email__iexact=RED_CROSS_WORKER).first(),
    )
    rows = [
        (
            plan,
            _referral(
                plan, patients[plan.patient.nhs_number], directory, staff, today=today, now=now
            ),
        )
        for plan in missing
    ]
    _insert(rows)
    return len(rows)


def _referred_at(plan: DemoReferral, today: date, now: datetime) -> datetime:
    day = today - timedelta(days=plan.days_ago)
    at = timezone.make_aware(datetime.combine(day, time(8))) + timedelta(minutes=plan.minute)
    return min(at, now - timedelta(minutes=10))


def _referral(
    plan: DemoReferral,
    patient: Patient,
    directory: _Directory,
    staff: _Staff,
    *,
    today: date,
    now: datetime,
) -> Referral:
    """The planned referral, not yet saved."""
    referred_at = _referred_at(plan, today, now)
    service = directory.services.get(plan.organisation)
    remit_reasons, override_reason = _remit(plan, service, patient, referred_at)
    icc = staff.icc
    return Referral(
        external_id=plan.external_id,
        patient=patient,
        referrer=icc,
        referrer_organisation=icc.organisation,
        place=directory.places.get(plan.patient.place),
        source=plan.source,
        destination_sector=plan.sector,
        organisation=directory.organisations[plan.organisation],
        service=service,
        needs=plan.needs,
        activities=plan.needs,
        urgency=plan.urgency,
        reason=plan.reason,
        status=plan.status,
        referred_at=referred_at,
        statutory_declined_by=directory.organisations.get(plan.statutory_declined_by),
        statutory_decline_reason=plan.statutory_decline_reason,
        lawful_basis=LawfulBasis.CONSENT if plan.sector == Sector.VOLUNTARY else "",
        out_of_remit=bool(remit_reasons),
        remit_reasons=remit_reasons,
        override_reason=override_reason,
        created_by=icc,
        updated_by=icc,
        **_lifecycle(plan, referred_at, now, staff),
    )


def _remit(
    plan: DemoReferral, service: Service | None, patient: Patient, referred_at: datetime
) -> tuple[list[dict[str, Any]], str]:
    """As referral_create does: the reasons the remit check gave on the day, and the override
    (the planned one, or a fallback when the check finds reasons the plan did not expect)."""
    if plan.sector != Sector.VOLUNTARY or service is None:
        return [], ""
    day = timezone.localtime(referred_at).date()
    check = service_remit_check(
        service=service,
        urgency=plan.urgency,
        activities=plan.needs,
        patient_age=age_on(patient.date_of_birth, day),
        on_date=day,
    )
    remit_reasons = [asdict(reason) for reason in check.reasons]
    if not remit_reasons:
        return [], ""
    return remit_reasons, plan.override_reason or FALLBACK_OVERRIDE


@dataclass(frozen=True)
class _Timeline:
    """When each step of a referral's story comes, after it was made, before any squeezing."""

    decided: timedelta
    contacted: timedelta
    closed: timedelta
    withdrawn: timedelta
    accepted_first: bool  # withdrawn after being accepted

    @classmethod
    def of(cls, plan: DemoReferral) -> "_Timeline":
        u = plan.timing
        decided = timedelta(hours=2 + u[0] * 70)
        contacted = decided + timedelta(hours=1 + u[1] * 119)
        closed = contacted + timedelta(days=1 + u[2] * (plan.episode_days - 1))
        withdrawn = timedelta(hours=4 + u[3] * 236)
        accepted_first = u[4] < 0.5 and withdrawn > decided
        return cls(decided, contacted, closed, withdrawn, accepted_first)

    def end(self, status: str) -> timedelta:
        """When the story of a referral with this status ends."""
        ends: dict[str, timedelta] = {
            S.RECEIVED: timedelta(0),
            S.ACCEPTED: self.decided,
            S.DECLINED: self.decided,
            S.IN_PROGRESS: self.contacted,
            S.CLOSED: self.closed,
            S.WITHDRAWN: self.withdrawn,
        }
        return ends[status]


def _lifecycle(
    plan: DemoReferral, referred_at: datetime, now: datetime, staff: _Staff
) -> dict[str, Any]:
    """Timestamps and texts for the referral's status, in order and none after now."""
    u = plan.timing
    times = _Timeline.of(plan)
    last = times.end(plan.status)
    # Squeeze the whole story into the time since the referral, keeping its order.
    room = (now - referred_at) * 0.95
    scale = min(1.0, room / last) if last else 1.0

    def at(offset: timedelta) -> datetime:
        return referred_at + offset * scale

    red_cross = plan.organisation == RED_CROSS
    lead = staff.lead if red_cross else None
    worker = staff.worker if red_cross else None
    values: dict[str, Any] = {}
    if plan.status in (S.ACCEPTED, S.DECLINED, S.IN_PROGRESS, S.CLOSED) or (
        plan.status == S.WITHDRAWN and times.accepted_first
    ):
        values.update(decided_at=at(times.decided), decided_by=lead)
    if plan.status == S.DECLINED:
        values["decline_reason"] = pick(DECLINE_REASONS[plan.sector], u[5])
    if plan.status in (S.IN_PROGRESS, S.CLOSED):
        values.update(first_contact_at=at(times.contacted), first_contact_by=worker)
    if plan.status == S.CLOSED:
        values.update(
            closed_at=at(times.closed), closed_by=lead, outcome=pick(OUTCOMES[plan.sector], u[5])
        )
    if plan.status == S.WITHDRAWN:
        values.update(
            withdrawn_at=at(times.withdrawn),
            withdrawn_by=staff.icc,
            withdrawal_reason=pick(WITHDRAWAL_REASONS, u[5]),
        )
    return values


def _insert(rows: list[tuple[DemoReferral, Referral]]) -> None:
    """Covers point at the statutory referral they cover, so those go in first; each batch in
    date order so that references (R-000123) run with the dates."""
    first = [referral for plan, referral in rows if not plan.cover_for]
    Referral.objects.bulk_create(sorted(first, key=lambda r: r.referred_at))
    covers = [(plan, referral) for plan, referral in rows if plan.cover_for]
    if not covers:
        return
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
                created_by=icc,
                updated_by=icc,
            )
            for demo in demo_patients
            if demo.nhs_number not in found
        ]
    )
    patients = {p.nhs_number: p for p in Patient.objects.filter(nhs_number__in=numbers)}
    Consent.objects.bulk_create(
        Consent(
            patient=patients[demo.nhs_number],
            decision=ConsentDecision.GIVEN,
            method=ConsentMethod.IN_PERSON,
            decided_on=first_referral.get(demo.index, today),
            recorded_by=icc,
            recorded_by_organisation=icc.organisation,
            recorded_at=now,
        )
        for demo in demo_patients
        if demo.nhs_number not in found
    )
    return patients
