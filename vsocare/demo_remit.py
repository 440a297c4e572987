"""Demo marks "at the limit of our remit": a VSO lead pointing at the framework.

A handful of the demo's voluntary referrals that break their service's remit are marked by the
demo VSO lead (the Red Cross's when its organisation has breaches), each quoting the clause the
breach is about, so the remit page, the referral and the reports have something to show. The
referrals are chosen by the remit-breaches report itself. A second run adds nothing.
"""

from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from commissioning.models import Sector
from commissioning.remit import RemitClause
from referrals.models import Referral, RemitLimitMark
from referrals.reports.breaches import remit_breaches
from referrals.services_remit import remit_mark_create
from vsocare.demo_referral_tables import RED_CROSS_LEAD, WINDOW_DAYS

MARKS = 4

# The breach rule a mark answers -> the clause it quotes, and what the lead wrote beside it.
CLAUSES = {
    "interim_cover": (
        RemitClause.INTERIM_COVER,
        "Our volunteer is now at the limit of what their responsibilities can be, according to "
        "the commissioning framework: the social care visit is still not booked.",
    ),
    "urgency": (
        RemitClause.URGENCY,
        "We are not an emergency service. We went because nobody else would; please find a "
        "statutory service for this.",
    ),
    "excluded_activity": (
        RemitClause.EXCLUDED_ACTIVITY,
        "Personal care is not ours to give. We have asked adult social care to pick it up.",
    ),
    "episode_length": (
        RemitClause.EPISODE_LENGTH,
        "Support has run past the weeks we are commissioned for; it needs handing over.",
    ),
    "capacity": (
        RemitClause.CAPACITY,
        "We have had more referrals this month than we are commissioned for.",
    ),
}


def _breaching_referrals(lead: User, date_from: date, today: date) -> list[tuple[int, str]]:
    """(referral id, rule) for the lead's organisation, one rule per referral, rules taken in
    turn so the demo shows several kinds of mark."""
    organisation = lead.organisation
    assert organisation is not None  # a VSO lead always has one (a database constraint)
    report = remit_breaches(
        system=organisation.system,
        date_from=date_from,
        date_to=today,
        organisation=organisation,
        today=today,
    )
    queues = {
        row["rule"]: list(row["referral_ids"])
        for row in report["by_service"]
        if row["rule"] in CLAUSES
    }
    chosen: list[tuple[int, str]] = []
    seen: set[int] = set()
    while any(queues.values()):
        for rule in sorted(queues, key=list(CLAUSES).index):
            while queues[rule]:
                pk = queues[rule].pop(0)
                if pk not in seen:
                    seen.add(pk)
                    chosen.append((pk, rule))
                    break
    return chosen


def _demo_lead(date_from: date, today: date) -> tuple[User | None, list[tuple[int, str]]]:
    """lead@redcross.example if the Red Cross has breaches, else the first demo VSO lead whose
    organisation has some."""
    leads = (
        User.objects.filter(
            role=Role.VSO_LEAD, is_active=True, organisation__sector=Sector.VOLUNTARY
        )
        .select_related("organisation")
        .order_by("pk")
    )
    ordered = sorted(leads, key=lambda lead: lead.email.lower() != RED_CROSS_LEAD)
    for lead in ordered:
        breaching = _breaching_referrals(lead, date_from, today)
        if breaching:
            return lead, breaching
    return None, []


@transaction.atomic
def seed_demo_remit_marks() -> int:
    """Mark up to MARKS breaching demo referrals at the limit of remit; returns how many."""
    if RemitLimitMark.objects.filter(referral__external_id__startswith="demo-").exists():
        return 0  # marked on an earlier run: a second run adds nothing
    today, now = timezone.localdate(), timezone.now()
    lead, breaching = _demo_lead(today - timedelta(days=WINDOW_DAYS), today)
    if lead is None:
        return 0
    referrals = Referral.objects.select_related("service").in_bulk([pk for pk, _ in breaching])
    made = 0
    for pk, rule in breaching:
        referral = referrals.get(pk)
        if referral is None or not (referral.external_id or "").startswith("demo-"):
            continue
        clause, note = CLAUSES[rule]
        try:
            remit_mark_create(
                referral=referral,
                user=lead,
                clause=clause,
                note=note,
                now=min(referral.referred_at + timedelta(days=3), now),
            )
        except ValidationError:
            continue  # the specification does not set that clause: not one to quote
        made += 1
        if made == MARKS:
            break
    return made
