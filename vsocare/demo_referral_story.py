"""Which referrals the Eastern Health demo has: 18 months of an ICC's work, as plain data.
vsocare.demo_referrals writes them to the database.

The data tells the story in docs/domain.md. About half the referrals go to social care and a quarter
to the voluntary sector (the study's 167 / 396 / 181). Some patients wait weeks for social care
while a volunteer covers, one of them for 19 days. Some needs are refused by health or social
care first and end up with a VSO. A few referrals go to a VSO outside its remit, with the reason
written down.

Everything comes from random.Random(2026), and each record takes the same number of draws
whatever the date, so every run plans the same 300 referrals (demo-0001 to demo-0300) and 120
patients. Only their dates move, counted back from today. The steps below run in this order
and each takes its draws in turn: reordering them would change every referral after.
"""

import random
from datetime import date

from commissioning.codes import Urgency
from commissioning.models import Sector
from referrals.models import ReferralStatus
from vsocare.demo_referral_plans import (
    DemoPatient,
    DemoReferral,
    ReferralPlanner,
    pick,
    plan_patients,
    weighted,
)
from vsocare.demo_referral_tables import (
    FRAIL_LADY_DAYS,
    GAPS_TO_SOCIAL_CARE,
    GAPS_TO_VOLUNTARY,
    GOOD_NEIGHBOURS,
    HEALTH_WEIGHTS,
    NEED_REASONS,
    OUT_OF_REMIT,
    REABLEMENT,
    RED_CROSS,
    SECTOR_COUNTS,
    SEED,
    SOCIAL_CARE,
    SOCIAL_CARE_WEIGHTS,
    VOLUNTARY_WEIGHTS,
    WAITING_DAYS,
    WELLBEING,
)

S = ReferralStatus
U = Urgency


def plan_demo_referrals(*, today: date) -> tuple[list[DemoPatient], list[DemoReferral]]:
    """The demo patients and referrals, as plain data, for the given day."""
    rng = random.Random(SEED)
    patients = plan_patients(rng)
    planner = ReferralPlanner(rng=rng, today=today, patients=patients)
    for days_ago in WAITING_DAYS:
        _plan_waiting(planner, days_ago)
    _plan_gaps(planner)
    _plan_out_of_remit(planner)
    _plan_the_rest(planner)
    return patients, planner.plans


def _plan_waiting(planner: ReferralPlanner, days_ago: int) -> None:
    """Waiting for social care, with a volunteer covering in the meantime."""
    u, cover_u = planner.draws(), planner.draws()
    frail = days_ago == FRAIL_LADY_DAYS
    if frail:
        patient = planner.patient_for(RED_CROSS, u[0], lives_alone=True)
    else:
        patient = planner.patient_for(SOCIAL_CARE, u[0])
    organisation = REABLEMENT if patient.place == "Saltmarsh Coast" else SOCIAL_CARE
    waiting = planner.statutory(
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
        cover_org = pick([GOOD_NEIGHBOURS, WELLBEING], cover_u[0])
    else:
        cover_org = pick([RED_CROSS, WELLBEING], cover_u[0])
    planner.voluntary(
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


def _plan_gaps(planner: ReferralPlanner) -> None:
    """Refused by health or social care first: the gaps the voluntary sector bridges."""
    for gap in GAPS_TO_VOLUNTARY:
        planner.voluntary(
            gap.then_to,
            planner.draws(),
            statutory_declined_by=gap.declined_by,
            statutory_decline_reason=gap.reason,
        )
    for gap in GAPS_TO_SOCIAL_CARE:
        planner.statutory(
            Sector.SOCIAL_CARE,
            gap.then_to,
            planner.draws(),
            statutory_declined_by=gap.declined_by,
            statutory_decline_reason=gap.reason,
        )


def _plan_out_of_remit(planner: ReferralPlanner) -> None:
    """Sent outside the remit anyway, with the reason written down."""
    for sent in OUT_OF_REMIT:
        planner.voluntary(
            sent.organisation,
            planner.draws(),
            needs=sent.needs,
            urgency=sent.urgency,
            reason=NEED_REASONS[sent.needs[-1]],
            override_reason=sent.why,
        )


def _plan_the_rest(planner: ReferralPlanner) -> None:
    """Everything else, in the study's split."""
    voluntary_left = SECTOR_COUNTS[Sector.VOLUNTARY] - planner.count(Sector.VOLUNTARY)
    rounds = len(VOLUNTARY_WEIGHTS)
    for n in range(voluntary_left):
        u = planner.draws()
        # Round the services twice first, so that every one of them has referrals, the
        # second time with referrals made in the last few days and not yet answered.
        if n < 2 * rounds:
            organisation = VOLUNTARY_WEIGHTS[n % rounds][0]
        else:
            organisation = weighted(VOLUNTARY_WEIGHTS, u[15])
        recent = int(u[1] * 3) if rounds <= n < 2 * rounds else None
        planner.voluntary(organisation, u, days_ago=recent)
    for sector, weights in (
        (Sector.SOCIAL_CARE, SOCIAL_CARE_WEIGHTS),
        (Sector.HEALTH, HEALTH_WEIGHTS),
    ):
        left = SECTOR_COUNTS[sector] - planner.count(sector)
        for _ in range(left):
            u = planner.draws()
            planner.statutory(sector, weighted(weights, u[15]), u)
