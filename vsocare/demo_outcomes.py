"""Writes the demo's clients of wellbeing co-ordination, planned in vsocare.demo_outcome_plans,
to the database: 51 patients in Torbay's six sub-groups, each referred to the Wellbeing
Co-ordination service, with an episode, its goals, inputs and scores before and after, and the
costs of the 12 months around it. So the "Added value" section has Torbay's pattern to show at
once (issue #13).

Referrals are keyed by external_id and patients by NHS number, so a second run adds nothing.
Every table is written by one bulk insert; the only per-client queries are the remit checks,
as intake makes them.
"""

from dataclasses import asdict
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
    Episode,
    EpisodeInput,
    Goal,
    LawfulBasis,
    OutcomeScore,
    Patient,
    PatientCost,
    Referral,
    ReferralStatus,
)
from vsocare.demo_directory import SERVICES, SPECIFICATIONS
from vsocare.demo_outcome_plans import PlannedEpisode, plan_demo_outcomes
from vsocare.demo_referral_tables import FALLBACK_OVERRIDE, ICC_EMAIL, WELLBEING

# The longest episode wellbeing co-ordination allows, if its specification does not say.
TORBAY_WEEKS = 12


@transaction.atomic
def seed_demo_outcomes(*, system: System, organisations: dict[str, Organisation]) -> int:
    """Create the demo clients' referrals and episodes that are missing; returns how many
    episodes."""
    icc = User.objects.filter(email__iexact=ICC_EMAIL).select_related("organisation").first()
    organisation = organisations.get(WELLBEING)
    if icc is None or icc.organisation is None or organisation is None:
        return 0  # the directory and its users come first; this never creates them
    service = Service.objects.filter(
        organisation=organisation, name=SERVICES[WELLBEING].name
    ).first()
    if service is None:
        return 0
    today, now = timezone.localdate(), timezone.now()
    plans = plan_demo_outcomes(today=today, max_weeks=_max_weeks(service))
    existing = set(
        Referral.objects.filter(external_id__in=[p.external_id for p in plans]).values_list(
            "external_id", flat=True
        )
    )
    missing = [plan for plan in plans if plan.external_id not in existing]
    if not missing:
        return 0

    patients = _ensure_patients(missing, icc=icc, now=now)
    places = {place.name: place for place in Place.objects.filter(system=system)}
    referrals = Referral.objects.bulk_create(
        sorted(
            (
                _referral(plan, patients[plan.patient.nhs_number], service, places, icc)
                for plan in missing
            ),
            key=lambda referral: referral.referred_at,
        )
    )
    by_id = {referral.external_id: referral for referral in referrals}
    episodes = Episode.objects.bulk_create(
        Episode(
            referral=by_id[plan.external_id],
            subgroup=plan.subgroup,
            started_on=plan.started_on,
            ended_on=plan.ended_on,
        )
        for plan in missing
    )
    _insert_records(list(zip(missing, episodes, strict=True)))
    _insert_costs(missing, patients, system)
    return len(episodes)


def _max_weeks(service: Service) -> int:
    versions = SPECIFICATIONS.get(service.name) or []
    return (versions[-1].max_episode_weeks if versions else None) or TORBAY_WEEKS


def _at(day: date, minutes: float) -> datetime:
    """minutes after 08:00 on the day, UK time."""
    return timezone.make_aware(datetime.combine(day, time(8))) + timedelta(minutes=minutes)


def _referral(
    plan: PlannedEpisode,
    patient: Patient,
    service: Service,
    places: dict[str, Place],
    icc: User,
) -> Referral:
    """The client's referral, not yet saved: taken on, first seen on the episode's first day,
    and closed on its last unless still running."""
    referred_at = _at(plan.referred_on, plan.referred_minute)
    remit_reasons = _remit_reasons(plan, patient, service)
    ended = plan.ended_on is not None
    return Referral(
        external_id=plan.external_id,
        patient=patient,
        referrer=icc,
        referrer_organisation=icc.organisation,
        place=places.get(plan.patient.place),
        source=plan.source,
        destination_sector=Sector.VOLUNTARY,
        organisation=service.organisation,
        service=service,
        needs=plan.needs,
        activities=plan.needs,
        urgency=plan.urgency,
        reason=plan.reason,
        status=ReferralStatus.CLOSED if ended else ReferralStatus.IN_PROGRESS,
        referred_at=referred_at,
        decided_at=referred_at + timedelta(hours=plan.decided_hours),
        first_contact_at=_at(plan.started_on, plan.contact_minute),
        closed_at=_at(plan.ended_on, plan.closed_minute) if plan.ended_on else None,
        outcome=plan.outcome if ended else "",
        lawful_basis=LawfulBasis.CONSENT,
        out_of_remit=bool(remit_reasons),
        remit_reasons=remit_reasons,
        override_reason=FALLBACK_OVERRIDE if remit_reasons else "",
        created_by=icc,
        updated_by=icc,
    )


def _remit_reasons(
    plan: PlannedEpisode, patient: Patient, service: Service
) -> list[dict[str, Any]]:
    """As referral_create records them: what the remit check said on the referral's day. The
    plans keep within the specification, so only a demo seeded before it began finds any."""
    check = service_remit_check(
        service=service,
        urgency=plan.urgency,
        activities=plan.needs,
        patient_age=age_on(patient.date_of_birth, plan.referred_on),
        on_date=plan.referred_on,
    )
    return [asdict(reason) for reason in check.reasons]


def _ensure_patients(
    plans: list[PlannedEpisode], *, icc: User, now: datetime
) -> dict[str, Patient]:
    """The clients by NHS number, creating those missing, with the consent they gave on the
    day they were referred."""
    numbers = [plan.patient.nhs_number for plan in plans]
    found = set(Patient.objects.filter(nhs_number__in=numbers).values_list("nhs_number", flat=True))
    new = [plan for plan in plans if plan.patient.nhs_number not in found]
    Patient.objects.bulk_create(
        Patient(
            nhs_number=plan.patient.nhs_number,
            given_name=plan.patient.given_name,
            family_name=plan.patient.family_name,
            date_of_birth=plan.patient.date_of_birth,
            postcode=plan.patient.postcode,
            lives_alone=plan.patient.lives_alone,
            is_carer=plan.patient.is_carer,
            is_cared_for=plan.patient.is_cared_for,
            created_by=icc,
            updated_by=icc,
        )
        for plan in new
    )
    patients = {p.nhs_number: p for p in Patient.objects.filter(nhs_number__in=numbers)}
    Consent.objects.bulk_create(
        Consent(
            patient=patients[plan.patient.nhs_number],
            decision=ConsentDecision.GIVEN,
            method=ConsentMethod.IN_PERSON,
            decided_on=plan.referred_on,
            recorded_by=icc,
            recorded_by_organisation=icc.organisation,
            recorded_at=now,
        )
        for plan in new
    )
    return patients


def _insert_records(pairs: list[tuple[PlannedEpisode, Episode]]) -> None:
    """Each episode's goals, inputs and scores, a bulk insert per table. Nobody in the demo
    works for the wellbeing service, so no one is named as having written them."""
    Goal.objects.bulk_create(
        Goal(
            episode=episode,
            description=goal.description,
            set_on=goal.set_on,
            outcome=goal.outcome,
            reviewed_on=goal.reviewed_on,
        )
        for plan, episode in pairs
        for goal in plan.goals
    )
    EpisodeInput.objects.bulk_create(
        EpisodeInput(
            episode=episode,
            given_on=given.given_on,
            need_id=given.need,
            minutes=given.minutes,
            note=given.note,
        )
        for plan, episode in pairs
        for given in plan.inputs
    )
    OutcomeScore.objects.bulk_create(
        OutcomeScore(
            episode=episode,
            measure=score.measure,
            timepoint=score.timepoint,
            taken_on=score.taken_on,
            items=score.items,
            item_count=len(score.items),
            star_version=score.star_version,
            score=score.score,
            level=score.level,
        )
        for plan, episode in pairs
        for score in plan.scores
    )


def _insert_costs(
    plans: list[PlannedEpisode], patients: dict[str, Patient], system: System
) -> None:
    """The finance team's figures for the clients whose episodes have ended, unless already
    supplied."""
    costed = set(
        PatientCost.objects.filter(system=system, patient__in=list(patients.values())).values_list(
            "patient_id", flat=True
        )
    )
    PatientCost.objects.bulk_create(
        PatientCost(
            system=system,
            patient=patients[plan.patient.nhs_number],
            cost_12m_before=plan.cost[0],
            cost_12m_after=plan.cost[1],
        )
        for plan in plans
        if plan.cost is not None and patients[plan.patient.nhs_number].pk not in costed
    )
