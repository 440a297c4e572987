"""Demo concerns raised by the Red Cross on its demo referrals: the story in docs/domain.md, where
a volunteer's warnings about a frail lady waiting 19 days for social care went unanswered.

Some are overdue and unacknowledged, one was acknowledged late, one is resolved and one is not
yet due. Each is made through the services, so it obeys the same rules as one made on screen,
and is found again by who raised it and its words, so a second run adds nothing.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from commissioning.models import Organisation
from referrals.models import OPEN_STATUSES, Concern, ConcernSeverity, Referral
from referrals.services_concerns import concern_acknowledge, concern_raise, concern_resolve
from vsocare.demo_referral_tables import ICC_EMAIL, RED_CROSS, RED_CROSS_LEAD, RED_CROSS_WORKER


@dataclass(frozen=True)
class DemoConcern:
    find: Q  # which Red Cross demo referral it is raised on; the first in reference order
    raised_by: str  # "lead" or "worker"
    addressed_to: str  # "waited_for" (the covered statutory referral's) or "referrer"
    severity: str
    description: str
    raised_ago: timedelta
    acknowledged_after: timedelta | None = None  # by the ICC, this long after it was raised
    resolved_after: timedelta | None = None
    resolution: str = ""


CONCERNS = [
    DemoConcern(
        find=Q(interim_cover_for__reason__startswith="Urgent social care visit"),
        raised_by="worker",
        addressed_to="waited_for",
        severity=ConcernSeverity.CRITICAL,
        description=(
            "The patient has now waited 19 days for the urgent social-care visit: cannot wash "
            "alone, had another fall last night and is barely eating. Our volunteer cannot "
            "give personal care. Please visit today."
        ),
        raised_ago=timedelta(days=2),
    ),
    DemoConcern(
        find=Q(override_reason__startswith="Discharged late on Friday"),
        raised_by="lead",
        addressed_to="referrer",
        severity=ConcernSeverity.HIGH,
        description=(
            "An emergency food drop is outside our specification. We did it once; we need a "
            "statutory plan for the weekend, not another call to our volunteers."
        ),
        raised_ago=timedelta(days=3),
    ),
    DemoConcern(
        find=Q(statutory_declined_by__isnull=False),
        raised_by="worker",
        addressed_to="referrer",
        severity=ConcernSeverity.HIGH,
        description=(
            "Health declined this first, but the leg dressing has not been changed for a week "
            "and is smelling. Our volunteers are not able to do clinical tasks."
        ),
        raised_ago=timedelta(days=5),
        acknowledged_after=timedelta(hours=30),  # the deadline was a day: late
    ),
    DemoConcern(
        find=Q(override_reason__startswith="Social care cannot start"),
        raised_by="lead",
        addressed_to="referrer",
        severity=ConcernSeverity.MODERATE,
        description=(
            "Our volunteer is being asked to help the patient wash. That is personal care, "
            "excluded by our specification: we are at the limit of what we can do."
        ),
        raised_ago=timedelta(days=12),
        acknowledged_after=timedelta(hours=20),
        resolved_after=timedelta(days=5),
        resolution=(
            "Social care package started; the volunteer is back to shopping and prescriptions only."
        ),
    ),
    DemoConcern(
        find=Q(
            status__in=OPEN_STATUSES,
            interim_cover_for__isnull=True,
            statutory_declined_by__isnull=True,
            out_of_remit=False,
        ),
        raised_by="worker",
        addressed_to="referrer",
        severity=ConcernSeverity.LOW,
        description=(
            "The patient keeps asking when the occupational therapist will come about the stair "
            "rail; could someone let them know?"
        ),
        raised_ago=timedelta(hours=6),
    ),
]


def seed_demo_concerns() -> int:
    """Add the demo concerns that are missing; returns how many were added."""
    emails = {"icc": ICC_EMAIL, "lead": RED_CROSS_LEAD, "worker": RED_CROSS_WORKER}
    people = {
        key: user
        for key, email in emails.items()
        if (user := User.objects.filter(email__iexact=email).first()) is not None
    }
    if len(people) < len(emails):
        return 0  # demo users come first; this never creates users
    red_cross = Organisation.objects.filter(name=RED_CROSS).first()
    now = timezone.now()
    added = 0
    for plan in CONCERNS:
        raiser = people[plan.raised_by]
        if Concern.objects.filter(raised_by=raiser, description=plan.description).exists():
            continue
        found = _referral_and_addressee(plan, red_cross)
        if found is None:
            continue
        referral, addressed_to = found
        _raise(plan, referral, addressed_to, raiser=raiser, icc=people["icc"], now=now)
        added += 1
    return added


def _referral_and_addressee(
    plan: DemoConcern, red_cross: Organisation | None
) -> tuple[Referral, Organisation] | None:
    """The Red Cross demo referral the concern is raised on, and whom it is addressed to."""
    referral = (
        Referral.objects.filter(plan.find, organisation=red_cross, external_id__isnull=False)
        .select_related("interim_cover_for__organisation", "referrer_organisation")
        .order_by("-referred_at", "external_id")
        .first()
    )
    if referral is None:
        return None
    if plan.addressed_to == "waited_for":
        if referral.interim_cover_for is None:
            return None
        return referral, referral.interim_cover_for.organisation
    return referral, referral.referrer_organisation


def _raise(
    plan: DemoConcern,
    referral: Referral,
    addressed_to: Organisation,
    *,
    raiser: User,
    icc: User,
    now: datetime,
) -> None:
    """Raise the concern through the services, then acknowledge and resolve it as planned."""
    raised_at = _between(referral.referred_at, now - plan.raised_ago, now)
    concern = concern_raise(
        referral=referral,
        user=raiser,
        addressed_to=addressed_to,
        severity=plan.severity,
        description=plan.description,
        now=raised_at,
    )
    if plan.acknowledged_after is not None:
        concern = concern_acknowledge(
            concern=concern,
            user=icc,
            expected_version=concern.version,
            now=min(raised_at + plan.acknowledged_after, now),
        )
    if plan.resolved_after is not None:
        concern_resolve(
            concern=concern,
            user=icc,
            expected_version=concern.version,
            resolution=plan.resolution,
            now=min(raised_at + plan.resolved_after, now),
        )


def _between(earliest: datetime, wanted: datetime, latest: datetime) -> datetime:
    """The wanted moment, but never before the referral was made nor after now."""
    if wanted > earliest:
        return wanted
    return earliest + (latest - earliest) / 2
