""" "Needs attention now" (#12 point 6): at the top of each home page, the escalated concerns not
yet resolved and the waits on health and social care past their limit that involve the person's
organisation, the one late longest first.

Involve: for an ICC, what their team referred (and the concerns on it, or addressed to their
organisation); for VSO staff, the concerns addressed to or raised by their organisation and the
waits it covers; for a commissioner, everything in their system. Administrators see none.
Scoped by `referrals_visible_to` and `concerns_visible_to`, so the system comes first.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import VSO_ROLES, Role, User
from commissioning.models import Sector
from referrals.models import OPEN_STATUSES, Referral
from referrals.selectors import identity_visible_to, referrals_visible_to, wait_limit_at
from referrals.selectors_concerns import concerns_visible_to

ATTENTION_ROLES = (Role.ICC, Role.COMMISSIONER, *VSO_ROLES)


@dataclass(frozen=True)
class AttentionItem:
    kind: Literal["concern", "wait"]
    reference: str
    what: str
    # When it became late: the concern's acknowledgement deadline, the wait's limit.
    since: datetime
    escalated_at: datetime | None
    # None when the person may not open what it is about.
    link: str | None
    # The patient's name, only for those who may see who the patient is.
    patient: str = ""


def needs_attention(
    *, user: User, now: datetime | None = None, limit: int = 10
) -> list[AttentionItem]:
    """The escalated concerns and the waits past their limit that involve the person's
    organisation, late longest first, at most `limit`. Two queries, however many there are."""
    if not user.is_active or user.role not in ATTENTION_ROLES:
        return []
    now = now or timezone.now()
    identity = identity_visible_to(user)
    items = [
        *_escalated_concerns(user=user, now=now, limit=limit, identity=identity),
        *_late_waits(user=user, now=now, limit=limit, identity=identity),
    ]
    return sorted(items, key=lambda item: (item.since, item.reference))[:limit]


def _escalated_concerns(
    *, user: User, now: datetime, limit: int, identity: bool
) -> list[AttentionItem]:
    concerns = concerns_visible_to(user, now=now).filter(
        escalated_at__isnull=False, resolved_at__isnull=True
    )
    if user.role in VSO_ROLES:
        concerns = concerns.filter(
            Q(addressed_to_id=user.organisation_id)
            | Q(raised_by_organisation_id=user.organisation_id)
        )
    return [
        AttentionItem(
            kind="concern",
            reference=concern.referral.reference,
            what=(
                f"{concern.get_severity_display()} concern to {concern.addressed_to.name}"
                + (" not acknowledged" if concern.acknowledged_at is None else "")
            ),
            since=concern.acknowledge_by,
            escalated_at=concern.escalated_at,
            link=(
                f"{reverse('referral_detail', args=[concern.referral_id])}#concerns"
                if getattr(concern, "referral_visible", False)  # annotated by the selector
                else reverse("concern_list")
            ),
            patient=str(concern.referral.patient) if identity else "",
        )
        for concern in concerns.order_by("acknowledge_by", "pk")[:limit]
    ]


def _late_waits(*, user: User, now: datetime, limit: int, identity: bool) -> list[AttentionItem]:
    visible = referrals_visible_to(user).filter(status__in=OPEN_STATUSES)
    if user.role in VSO_ROLES:
        # VSO staff cannot open the statutory referral: they see the wait through their own
        # referral covering it, which is where the link goes.
        covers = (
            visible.filter(
                interim_cover_for__status__in=OPEN_STATUSES,
                interim_cover_for__first_contact_at__isnull=True,
            )
            .select_related("interim_cover_for__organisation")
            .annotate(limit_at=wait_limit_at(path="interim_cover_for__"))
            .filter(limit_at__lt=now)
            .order_by("limit_at", "interim_cover_for_id", "pk")[:limit]
        )
        items: dict[int, AttentionItem] = {}
        for cover in covers:
            waiting = cover.interim_cover_for
            assert waiting is not None
            items.setdefault(
                waiting.pk,
                AttentionItem(
                    kind="wait",
                    reference=waiting.reference,
                    what=(
                        f"Waiting on {waiting.organisation.name} past its limit for first "
                        f"contact; covered by {cover.reference}"
                    ),
                    since=cover.limit_at,
                    escalated_at=waiting.wait_escalated_at,
                    link=reverse("referral_detail", args=[cover.pk]),
                    patient=str(cover.patient) if identity else "",
                ),
            )
        return list(items.values())
    waits = (
        visible.exclude(destination_sector=Sector.VOLUNTARY)
        .filter(first_contact_at__isnull=True)
        .annotate(limit_at=wait_limit_at())
        .filter(limit_at__lt=now)
        .order_by("limit_at", "pk")[:limit]
    )
    return [_wait_item(referral, identity=identity) for referral in waits]


def _wait_item(referral: Referral, *, identity: bool) -> AttentionItem:
    return AttentionItem(
        kind="wait",
        reference=referral.reference,
        what=f"Waiting on {referral.organisation.name} past its limit for first contact",
        since=referral.limit_at,  # type: ignore[attr-defined]
        escalated_at=referral.wait_escalated_at,
        link=reverse("referral_detail", args=[referral.pk]),
        patient=str(referral.patient) if identity else "",
    )
