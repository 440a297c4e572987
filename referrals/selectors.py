"""Who may see and act on which referral. Every view reaches a referral through here."""

from collections.abc import Collection
from datetime import date, timedelta

from django.core.exceptions import PermissionDenied
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.http import Http404
from django.utils import timezone

from accounts.models import VSO_ROLES, Role
from commissioning.models import Organisation, Sector, ServiceSpecification
from commissioning.selectors import specification_in_force, system_for
from core.dates import month_bounds, uk_zone
from referrals.models import (
    CAPACITY_STATUSES,
    OPEN_STATUSES,
    Concern,
    Patient,
    Referral,
    RemitLimitMark,
)

# What each side of a referral may do to it. A statutory service rarely uses VSO Care, so the
# referrer's team records its decision and contact; a voluntary one does its own.
RECEIVER_ACTIONS = ("accept", "decline", "record_contact", "close")
REFERRER_ACTIONS = ("withdraw",)


def referrals_visible_to(user) -> QuerySet[Referral]:
    """Referrers: their own and their team's. VSO staff: referrals to their organisation.
    Commissioners: every referral in their system. Administrators manage accounts and places;
    they have no need to read patients' referrals, so they see none."""
    referrals = Referral.objects.select_related(
        "patient", "organisation", "service", "referrer", "referrer_organisation"
    )
    if not user.is_authenticated or not user.is_active:
        return referrals.none()
    if user.role == Role.ICC:
        team = Q(referrer_organisation_id=user.organisation_id) if user.organisation_id else Q()
        return referrals.filter(Q(referrer=user) | team)
    if user.role in VSO_ROLES:
        return referrals.filter(organisation_id=user.organisation_id)
    if user.role == Role.COMMISSIONER:
        system = system_for(user)
        return referrals.filter(organisation__system=system) if system else referrals.none()
    return referrals.none()


def referral_actions_for(user, referral: Referral) -> set[str]:
    """The lifecycle actions this person may take on this referral, whatever its status."""
    actions: set[str] = set()
    if user.role in VSO_ROLES and referral.organisation_id == user.organisation_id:
        actions.update(RECEIVER_ACTIONS)
    if user.role == Role.ICC and (
        referral.referrer_id == user.pk or referral.referrer_organisation_id == user.organisation_id
    ):
        actions.update(REFERRER_ACTIONS)
        if referral.destination_sector != Sector.VOLUNTARY:
            actions.update(RECEIVER_ACTIONS)
    return actions


def get_referral_for_user(user, pk: int, *, action: str | None = None) -> Referral:
    """404 for a referral the person may not see, so its existence is not disclosed;
    403 for one they may see but not change in this way."""
    referral = referrals_visible_to(user).filter(pk=pk).first()
    if referral is None:
        raise Http404("No such referral")
    if action is not None and action not in referral_actions_for(user, referral):
        raise PermissionDenied
    return referral


def patients_visible_to(user) -> QuerySet[Patient]:
    """A patient is visible to whoever may see one of their referrals; referrers may also
    look any patient up by NHS number to avoid registering them twice (see the intake)."""
    if not user.is_authenticated:
        return Patient.objects.none()
    return Patient.objects.filter(pk__in=referrals_visible_to(user).values("patient_id")).distinct()


DUPLICATE_WINDOW = timedelta(days=30)


def patient_by_nhs_number(user, nhs_number: str) -> Patient | None:
    """Referrers may find any patient by their exact NHS number, so that nobody is registered
    twice; browsing patients by name is limited to those they can already see."""
    if not user.has_role(Role.ICC):
        return None
    return Patient.objects.filter(nhs_number=nhs_number).first()


def patients_matching(user, text: str, *, limit: int = 8) -> list[Patient]:
    text = text.strip()
    if len(text) < 2:
        return []
    digits = text.replace(" ", "")
    if digits.isdigit():
        found = patient_by_nhs_number(user, digits) if len(digits) == 10 else None
        return [found] if found else []
    visible = patients_visible_to(user)
    for word in text.split():
        visible = visible.filter(Q(given_name__istartswith=word) | Q(family_name__istartswith=word))
    return list(visible.order_by("family_name", "given_name")[:limit])


def overlapping_referrals(*, patient: Patient, needs: list[str], now=None) -> list[Referral]:
    """Open referrals for the same patient with a need in common, made in the last 30 days,
    to any organisation: the warning that stops two agencies turning up at the house."""
    now = now or timezone.now()
    if not needs:
        return []
    return list(
        Referral.objects.filter(
            patient=patient,
            status__in=OPEN_STATUSES,
            referred_at__gte=now - DUPLICATE_WINDOW,
            needs__overlap=needs,
        )
        .select_related("organisation", "service")
        .order_by("-referred_at")
    )


def waiting_on_statutory(user) -> QuerySet[Referral]:
    """Open referrals to health and social care, oldest first, with any voluntary cover."""
    return (
        referrals_visible_to(user)
        .filter(status__in=OPEN_STATUSES)
        .exclude(destination_sector=Sector.VOLUNTARY)
        .prefetch_related("interim_cover__organisation")
        .order_by("referred_at")
    )


# --- Concerns ------------------------------------------------------------------------------

# The roles that take part in a referral's care; commissioners read, administrators see none.
CONCERN_ACTOR_ROLES = (Role.ICC, *VSO_ROLES)


def _in_referrer_team(user, referral: Referral) -> bool:
    return user.role == Role.ICC and (
        referral.referrer_id == user.pk
        or (
            user.organisation_id is not None
            and referral.referrer_organisation_id == user.organisation_id
        )
    )


def concerns_visible_to(user, *, now=None) -> QuerySet[Concern]:
    """Every concern on a referral the person may see, and every concern addressed to their
    organisation: a statutory service addressed by a VSO may not see the voluntary referral
    itself, but must see what it is asked to answer. Administrators see none, as with
    referrals. Each row says whether its referral is visible and whether it is overdue."""
    now = now or timezone.now()
    concerns = Concern.objects.select_related(
        "referral__patient",
        "referral__organisation",
        "addressed_to",
        "raised_by",
        "raised_by_organisation",
        "acknowledged_by",
        "resolved_by",
    )
    if not user.is_authenticated or not user.is_active or user.role == Role.ADMINISTRATOR:
        return concerns.none()
    concerns = concerns.annotate(
        referral_visible=Exists(referrals_visible_to(user).filter(pk=OuterRef("referral_id"))),
        is_overdue=ExpressionWrapper(
            Q(resolved_at__isnull=True, acknowledged_at__isnull=True, acknowledge_by__lt=now),
            output_field=BooleanField(),
        ),
        acknowledged_late=ExpressionWrapper(
            Q(acknowledged_at__gt=F("acknowledge_by")), output_field=BooleanField()
        ),
    )
    visible = Q(referral_visible=True)
    if user.role in CONCERN_ACTOR_ROLES and user.organisation_id:
        visible |= Q(addressed_to_id=user.organisation_id)
    return concerns.filter(visible)


def concern_actions_for(user, concern: Concern) -> set[str]:
    """What this person may do to this concern, whatever its state.

    Acknowledge: people of the organisation it is addressed to; for a health or social care
    organisation, which rarely uses VSO Care, also the referrer's team on its behalf (as the
    referral lifecycle does). Never the person who raised it: an acknowledgement is the other
    side saying "we have heard you", and would otherwise stop the deadline unheard.
    Resolve: the raiser's organisation, or anyone who may acknowledge.
    """
    if user.role not in CONCERN_ACTOR_ROLES:
        return set()
    for_addressee = (
        user.organisation_id is not None and concern.addressed_to_id == user.organisation_id
    ) or (not concern.addressed_to.is_voluntary and _in_referrer_team(user, concern.referral))
    actions: set[str] = set()
    if for_addressee and concern.raised_by_id != user.pk:
        actions.add("acknowledge")
    if for_addressee or (
        user.organisation_id is not None
        and concern.raised_by_organisation_id == user.organisation_id
    ):
        actions.add("resolve")
    return actions


def get_concern_for_user(user, pk: int, *, action: str | None = None) -> Concern:
    """404 for a concern the person may not see; 403 for one they may see but not act on."""
    concern = concerns_visible_to(user).filter(pk=pk).first()
    if concern is None:
        raise Http404("No such concern")
    if action is not None and action not in concern_actions_for(user, concern):
        raise PermissionDenied
    return concern


def concern_may_raise(user, referral: Referral) -> bool:
    """VSO staff of the organisation the referral went to, and the referrer's ICC team."""
    if user.organisation_id is None:
        return False
    if user.role in VSO_ROLES:
        return referral.organisation_id == user.organisation_id
    return _in_referrer_team(user, referral)


def concern_addressees_for(
    *, referral: Referral, organisation: Organisation | None
) -> list[tuple[Organisation, str]]:
    """The organisations involved in the referral, other than the raiser's own, each with why
    it is involved: the one it went to, the referrer's team, the statutory service whose
    waiting referral it covers for, and the one that declined the need first."""
    covered_organisation_id = (
        Referral.objects.filter(pk=referral.interim_cover_for_id)
        .values_list("organisation_id", flat=True)
        .first()
        if referral.interim_cover_for_id
        else None
    )
    involved = [
        (referral.organisation_id, "the referral went to them"),
        (referral.referrer_organisation_id, "the referrer's team"),
        (covered_organisation_id, "the patient is waiting for them"),
        (referral.statutory_declined_by_id, "declined or disputed it first"),
    ]
    own = organisation.pk if organisation is not None else None
    reasons: dict[int, list[str]] = {}
    for organisation_id, why in involved:
        if organisation_id is not None and organisation_id != own:
            reasons.setdefault(organisation_id, []).append(why)
    found = Organisation.objects.in_bulk(list(reasons))
    return [(found[pk], "; ".join(whys)) for pk, whys in reasons.items() if pk in found]


# The concern list's filters, in the order offered; "overdue" is judged when asked.
CONCERN_STATES = {
    "all": "All",
    "open": "Open",
    "awaiting": "Awaiting acknowledgement",
    "overdue": "Overdue",
    "resolved": "Resolved",
}


def concerns_in_state(user, *, state: str = "all", now=None) -> QuerySet[Concern]:
    """The concern list: open ones first, those still unacknowledged before the others and
    the nearest (or most overdue) deadline first; then resolved ones, latest first."""
    now = now or timezone.now()
    conditions = {
        "all": Q(),
        "open": Q(resolved_at__isnull=True),
        "awaiting": Q(resolved_at__isnull=True, acknowledged_at__isnull=True),
        "overdue": Q(
            resolved_at__isnull=True, acknowledged_at__isnull=True, acknowledge_by__lt=now
        ),
        "resolved": Q(resolved_at__isnull=False),
    }
    if state not in conditions:
        raise ValueError(f"Unknown concern state {state!r}")
    stage = Case(
        When(resolved_at__isnull=False, then=Value(2)),
        When(acknowledged_at__isnull=False, then=Value(1)),
        default=Value(0),
    )
    return (
        concerns_visible_to(user, now=now)
        .filter(conditions[state])
        .annotate(stage=stage)
        .order_by("stage", F("resolved_at").desc(nulls_first=True), "acknowledge_by", "pk")
    )


def concerns_on_referral(user, referral: Referral) -> QuerySet[Concern]:
    return concerns_in_state(user).filter(referral=referral)


# --- "At the limit of our remit" -----------------------------------------------------------


def remit_mark_editable_by(user, referral: Referral) -> bool:
    """Only a lead of the organisation a referral went to may mark it at the limit of remit, or
    take the mark back: the mark speaks for the organisation to the referrer and commissioner."""
    return (
        user.is_authenticated
        and user.role == Role.VSO_LEAD
        and user.organisation_id is not None
        and user.organisation_id == referral.organisation_id
    )


def get_remit_mark_for_user(
    user, referral_pk: int, *, write: bool = False
) -> tuple[Referral, RemitLimitMark | None]:
    """The referral and its mark (None when unmarked). 404 for a referral the person may not
    see, as get_referral_for_user; 403 for writing by anyone but a lead of its organisation."""
    referral = (
        referrals_visible_to(user)
        .select_related("remit_mark__marked_by", "remit_mark__specification__framework")
        .filter(pk=referral_pk)
        .first()
    )
    if referral is None:
        raise Http404("No such referral")
    if write and not remit_mark_editable_by(user, referral):
        raise PermissionDenied
    # A missing reverse one-to-one raises RelatedObjectDoesNotExist, an AttributeError.
    return referral, getattr(referral, "remit_mark", None)


def remit_mark_on(referral: Referral) -> RemitLimitMark | None:
    """The mark for the referral page, for everyone who may see the referral."""
    return (
        RemitLimitMark.objects.filter(referral=referral)
        .select_related("marked_by", "specification")
        .first()
    )


def remit_specification_for(referral: Referral) -> ServiceSpecification | None:
    """The version a mark on this referral quotes: the one in force on its day in the UK."""
    if referral.service_id is None:
        return None
    day = timezone.localtime(referral.referred_at, uk_zone()).date()
    return specification_in_force(service=referral.service, on_date=day)


def with_remit_mark_flag(referrals: QuerySet[Referral]) -> QuerySet[Referral]:
    """Adds `at_remit_limit` to each row in the same query, for lists that show a badge."""
    return referrals.annotate(
        at_remit_limit=Exists(RemitLimitMark.objects.filter(referral=OuterRef("pk")))
    )


def capacity_used(*, service_ids: Collection[int], on_date: date) -> dict[int, int]:
    """Referrals counted against each service's monthly capacity in the month of the date (UK
    time). Declined and withdrawn referrals took none of it; everything else did. The directory
    and the remit check reach this through commissioning.capacity."""
    start, end = month_bounds(on_date)
    return dict(
        Referral.objects.filter(
            service__in=service_ids,
            referred_at__gte=start,
            referred_at__lt=end,
            status__in=CAPACITY_STATUSES,
        )
        .values_list("service")
        .annotate(n=Count("id"))
        .values_list("service", "n")
    )
