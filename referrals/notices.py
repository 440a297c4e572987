"""Who is told about a referral's events, and in what words (docs/notifications.md).

The words go out by e-mail, so they name the referral by its reference and the organisations
involved, never the patient. Everyone told can see the referral by the rules of
`referrals_visible_to`: the receiving organisation's VSO staff, and the referrer while they are
an active ICC of the referral's system. Whoever did the thing is not told about it.
"""

from django.db.models import QuerySet
from django.urls import reverse

from accounts.models import VSO_ROLES, NotificationKind, Role, User
from accounts.services_notifications import notify
from referrals.models import Referral

K = NotificationKind


def _receivers(referral: Referral) -> QuerySet[User]:
    """The receiving organisation's staff who see referrals to it: its VSO leads and workers.
    A health or social care organisation's referrals are followed up by the referrer's team,
    so nobody there is told."""
    return User.objects.filter(
        is_active=True, role__in=VSO_ROLES, organisation_id=referral.organisation_id
    )


def _referrer(referral: Referral) -> QuerySet[User]:
    return User.objects.filter(
        pk=referral.referrer_id,
        is_active=True,
        role=Role.ICC,
        organisation__system_id=referral.organisation.system_id,
    )


def _tell(
    referral: Referral, *, people: QuerySet[User], actor: User | None, kind: str, event: str,
    title: str,
) -> int:  # fmt: skip
    if actor is not None:
        people = people.exclude(pk=actor.pk)
    return notify(
        recipients=people,
        kind=kind,
        event_key=f"referral:{referral.pk}:{event}",
        title=title,
        link=reverse("referral_detail", args=[referral.pk]),
    )


def notice_received(*, referral: Referral) -> int:
    team = referral.referrer_organisation.name
    return _tell(
        referral, people=_receivers(referral), actor=referral.referrer, kind=K.REFERRAL_RECEIVED,
        event="received", title=f"New referral {referral.reference} from {team}",
    )  # fmt: skip


def notice_accepted(*, referral: Referral, by: User) -> int:
    return _tell(
        referral, people=_referrer(referral), actor=by, kind=K.REFERRAL_ACCEPTED,
        event="accepted",
        title=f"{referral.reference} was accepted by {referral.organisation.name}",
    )  # fmt: skip


def notice_declined(*, referral: Referral, by: User) -> int:
    return _tell(
        referral, people=_referrer(referral), actor=by, kind=K.REFERRAL_DECLINED,
        event="declined",
        title=f"{referral.reference} was declined by {referral.organisation.name}",
    )  # fmt: skip


def notice_withdrawn(*, referral: Referral, by: User) -> int:
    team = referral.referrer_organisation.name
    return _tell(
        referral, people=_receivers(referral), actor=by, kind=K.REFERRAL_WITHDRAWN,
        event="withdrawn", title=f"{referral.reference} was withdrawn by {team}",
    )  # fmt: skip


def notice_at_remit_limit(*, referral: Referral, by: User, mark_id: int) -> int:
    # Keyed by the mark: a mark taken back and made again is a new event.
    return _tell(
        referral, people=_referrer(referral), actor=by, kind=K.REFERRAL_AT_REMIT_LIMIT,
        event=f"at_remit_limit:{mark_id}",
        title=(
            f"{referral.reference} was marked at the limit of remit by "
            f"{referral.organisation.name}"
        ),
    )  # fmt: skip
