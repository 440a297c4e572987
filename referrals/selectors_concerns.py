"""Who sees a concern and who may act on it: the organisation it is addressed to, the
organisation that raised it, and the referrer's team on behalf of a statutory service."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import PermissionDenied
from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import JSONObject
from django.http import Http404
from django.utils import timezone

from accounts.models import VSO_ROLES, Role, User
from accounts.selectors import system_id_of
from commissioning.models import Organisation
from core.pagination import KeysetPage, SortKey, in_order, keyset_page_by
from referrals.models import (
    Concern,
    ConcernReply,
    Referral,
    concern_resolved_key,
    concern_stage,
)
from referrals.selectors import (
    in_referrer_team,
    referral_scope,
    referrals_visible_to,
    referrer_team_halves,
)

# The roles that take part in a referral's care; commissioners read, administrators see none.
CONCERN_ACTOR_ROLES = (Role.ICC, *VSO_ROLES)


def concerns_visible_to(user: User, *, now: datetime | None = None) -> QuerySet[Concern]:
    """Every concern on a referral the person may see, and every concern addressed to their
    organisation: a statutory service addressed by a VSO may not see the voluntary referral
    itself, but must see what it is asked to answer. Administrators see none, as with
    referrals. Each row says whether its referral is visible and whether it is overdue."""
    visible = Q()
    for condition in _visible_halves(user):
        visible |= condition
    return _concerns_in_system(user, now=now).filter(visible)


def _visible_halves(user: User) -> list[Q]:
    """concerns_visible_to's rule as its halves, each a range of one of the concern's indexes
    in the list's order: the rule of who sees a referral (referral_scope) read from the
    concern's own copies of its referral's parties, the referrer's side as its two halves (as
    referrals_visible_in_parts), and the concerns addressed to the person's organisation. As
    one OR, PostgreSQL would walk every concern and read each one's referral."""
    referral_visible = referral_scope(user, through="referral_")
    halves = []
    if referral_visible is None:
        # Never an empty list: an OR of no halves would be no condition at all.
        halves.append(Q(pk__in=[]))
    elif user.role == Role.ICC:
        # Each half names the index it is a range of; the scope keeps the rule whole.
        halves += [
            referral_visible & half for half in referrer_team_halves(user, through="referral_")
        ]
    else:
        halves.append(referral_visible)
    if user.role in CONCERN_ACTOR_ROLES and user.organisation_id:
        halves.append(Q(addressed_to_id=user.organisation_id))
    return halves


def _concerns_in_system(user: User, *, now: datetime | None = None) -> QuerySet[Concern]:
    """The concerns of the person's system with what a row shows (_concern_rows), before the
    rule of who sees which (_visible_halves)."""
    return _in_system(user, _concern_rows(user, now=now))


def _in_system(user: User, concerns: QuerySet[Concern]) -> QuerySet[Concern]:
    """`concerns` of the person's system; none, with the same annotations, for someone who
    sees none, so that _visible_halves can still be asked of them."""
    system_id = system_id_of(user)
    if not user.is_active or user.role == Role.ADMINISTRATOR or system_id is None:
        return concerns.none()
    return concerns.filter(referral_organisation__system_id=system_id)


def _concern_rows(user: User, *, now: datetime | None = None) -> QuerySet[Concern]:
    """Concerns with what a row shows: its referral and patient, whom it is addressed to,
    whether its referral is visible to the person and whether it is overdue, and the names of
    the people and organisation on it. The names are each a subquery, not a join: a join costs
    PostgreSQL more to plan than a subquery costs to run for a page of rows, and Django builds
    a whole user (passwords, dates) to read one name."""
    now = now or timezone.now()
    return Concern.objects.select_related("referral__patient", "addressed_to").annotate(
        referral_visible=Exists(referrals_visible_to(user).filter(pk=OuterRef("referral_id"))),
        is_overdue=ExpressionWrapper(
            Q(resolved_at__isnull=True, acknowledged_at__isnull=True, acknowledge_by__lt=now),
            output_field=BooleanField(),
        ),
        acknowledged_late=ExpressionWrapper(
            Q(acknowledged_at__gt=F("acknowledge_by")), output_field=BooleanField()
        ),
        raised_by_name=_name_of(User, "raised_by_id", "full_name"),
        raised_by_organisation_name=_name_of(Organisation, "raised_by_organisation_id", "name"),
        acknowledged_by_name=_name_of(User, "acknowledged_by_id", "full_name"),
        resolved_by_name=_name_of(User, "resolved_by_id", "full_name"),
    )


def _name_of(model: type[User] | type[Organisation], key: str, field: str) -> Subquery:
    return Subquery(model.objects.filter(pk=OuterRef(key)).values(field)[:1])


def concern_actions_for(user: User, concern: Concern) -> set[str]:
    """What this person may do to this concern, whatever its state.

    Acknowledge: people of the organisation it is addressed to; for a health or social care
    organisation, which rarely uses VSO Care, also the referrer's team on its behalf (as the
    referral lifecycle does). Never the person who raised it: an acknowledgement is the other
    side saying "we have heard you", and would otherwise stop the deadline unheard.
    Resolve and reply: the raiser's organisation, or anyone who may acknowledge.
    """
    if user.role not in CONCERN_ACTOR_ROLES:
        return set()
    for_addressee = (
        user.organisation_id is not None and concern.addressed_to_id == user.organisation_id
    ) or (not concern.addressed_to.is_voluntary and in_referrer_team(user, concern.referral))
    actions: set[str] = set()
    if for_addressee and concern.raised_by_id != user.pk:
        actions.add("acknowledge")
    if for_addressee or (
        user.organisation_id is not None
        and concern.raised_by_organisation_id == user.organisation_id
    ):
        # Either side may write to the other until it is resolved, and resolve it.
        actions.update(("resolve", "reply"))
    return actions


def get_concern_for_user(user: User, pk: int, *, action: str | None = None) -> Concern:
    """404 for a concern the person may not see; 403 for one they may see but not act on."""
    concern = concerns_visible_to(user).filter(pk=pk).first()
    if concern is None:
        raise Http404("No such concern")
    if action is not None and action not in concern_actions_for(user, concern):
        raise PermissionDenied
    return concern


def concern_may_raise(user: User, referral: Referral) -> bool:
    """VSO staff of the organisation the referral went to, and the referrer's ICC team."""
    if user.organisation_id is None:
        return False
    if user.role in VSO_ROLES:
        return referral.organisation_id == user.organisation_id
    return in_referrer_team(user, referral)


def concern_addressees_for(
    *, referral: Referral, organisation: Organisation | None
) -> list[tuple[Organisation, str]]:
    """The organisations involved in the referral, other than the raiser's own, each with why
    it is involved: the one it went to, the referrer's team, the statutory service whose
    waiting referral it covers for, and the one that declined the need first."""
    # Read with the referral by get_referral_for_user; elsewhere each is read when asked.
    covered = referral.interim_cover_for
    involved = [
        (referral.organisation, "the referral went to them"),
        (referral.referrer_organisation, "the referrer's team"),
        (covered.organisation if covered else None, "the patient is waiting for them"),
        (referral.statutory_declined_by, "declined or disputed it first"),
    ]
    own = organisation.pk if organisation is not None else None
    reasons: dict[int, tuple[Organisation, list[str]]] = {}
    for involved_organisation, why in involved:
        if involved_organisation is not None and involved_organisation.pk != own:
            reasons.setdefault(involved_organisation.pk, (involved_organisation, []))[1].append(why)
    return [(found, "; ".join(whys)) for found, whys in reasons.values()]


# The concern list's filters, in the order offered; "overdue" is judged when asked.
CONCERN_STATES = {
    "all": "All",
    "open": "Open",
    "awaiting": "Awaiting acknowledgement",
    "overdue": "Overdue",
    "escalated": "Escalated",
    "resolved": "Resolved",
}


# The list's order (concerns_in_state) as the keys of its pages; its index is the model's
# "concern_list_order". Open before resolved, unacknowledged before acknowledged; then the
# latest resolved first; then the nearest (or most overdue) deadline first.
CONCERN_LIST_ORDER = (
    SortKey("list_stage"),
    SortKey("list_resolved_at", descending=True, time=True),
    SortKey("acknowledge_by", time=True),
    SortKey("pk"),
)
CONCERN_PAGE_SIZE = 25
# A count reads as many index entries as it counts: it stops at a few pages, the most anyone
# reads of this list.
CONCERN_COUNT_BOUND = 100


def concerns_in_state(
    user: User, *, state: str = "all", now: datetime | None = None
) -> QuerySet[Concern]:
    """The concern list: open ones first, those still unacknowledged before the others and
    the nearest (or most overdue) deadline first; then resolved ones, latest first."""
    now = now or timezone.now()
    return _in_list_order(concerns_visible_to(user, now=now), state=state, now=now)


def _in_list_order(concerns: QuerySet[Concern], *, state: str, now: datetime) -> QuerySet[Concern]:
    """The concerns in a state of the list's filter, with the list's keys, in its order."""
    conditions = {
        "all": Q(),
        "open": Q(resolved_at__isnull=True),
        "awaiting": Q(resolved_at__isnull=True, acknowledged_at__isnull=True),
        "overdue": Q(
            resolved_at__isnull=True, acknowledged_at__isnull=True, acknowledge_by__lt=now
        ),
        "escalated": Q(escalated_at__isnull=False),
        "resolved": Q(resolved_at__isnull=False),
    }
    if state not in conditions:
        raise ValueError(f"Unknown concern state {state!r}")
    return (
        concerns.filter(conditions[state])
        .annotate(list_stage=concern_stage(), list_resolved_at=concern_resolved_key())
        .order_by(*(key.order(backwards=False) for key in CONCERN_LIST_ORDER))
    )


def concern_list_page(
    user: User, *, state: str, query: Mapping[str, str], now: datetime | None = None
) -> KeysetPage[Concern]:
    """A page of the concern list (core.pagination): the rows after or before the cursor in
    the query, read in the order of the list's index however many concerns there are, each
    half of who sees which (_visible_halves) a walk of its own."""
    now = now or timezone.now()
    # The halves give the page's ids and keys alone, so without what a row shows; the rows
    # are read by those ids, so without the halves' joins.
    listed = _in_list_order(_in_system(user, Concern.objects.all()), state=state, now=now)
    return keyset_page_by(
        [listed.filter(half) for half in _visible_halves(user)],
        rows=_in_list_order(_concern_rows(user, now=now), state=state, now=now),
        query=query,
        keys=CONCERN_LIST_ORDER,
        size=CONCERN_PAGE_SIZE,
        bound=CONCERN_COUNT_BOUND,
        # The halves walk a concern at a time through a referral's visibility: read by id,
        # the rows are planned without that join.
        ids_first=True,
    )


@dataclass(frozen=True)
class ReplyShown:
    written_at: datetime
    author: str
    organisation: str
    text: str


def concerns_on_referral(user: User, referral: Referral) -> list[Concern]:
    """The concerns on a referral this person may see, in the list's order, each with its
    replies, oldest first, read in the same query (`replies_shown`): a page with concerns
    costs no more queries than one without. Sorted here, as keyset_page_by sorts a page.
    None are asked for when get_referral_for_user found the referral has none."""
    if getattr(referral, "has_concerns", True) is False:
        return []
    replies = (
        ConcernReply.objects.filter(concern=OuterRef("pk"))
        .order_by("written_at", "pk")
        .values(
            row=JSONObject(
                written_at=F("written_at"),
                author=F("author__full_name"),
                organisation=F("author_organisation__name"),
                text=F("text"),
            )
        )
    )
    concerns = (
        concerns_in_state(user)
        .filter(referral=referral)
        .annotate(reply_rows=ArraySubquery(replies))
        .order_by()
    )
    return in_order(concerns, CONCERN_LIST_ORDER)


def replies_shown(concern: Concern) -> list[ReplyShown]:
    """concerns_on_referral's replies of one concern, as the page shows them."""
    return [
        ReplyShown(
            written_at=datetime.fromisoformat(row["written_at"]),
            author=row["author"],
            organisation=row["organisation"],
            text=row["text"],
        )
        for row in getattr(concern, "reply_rows", None) or []
    ]
