"""Escalating concerns not acknowledged by their deadline, and statutory waits past their
limit without first contact (docs/concerns.md#escalation).

Celery beat runs the pass every five minutes (`referrals.escalate_overdue`), and
`manage.py escalate_overdue` runs it once. Each concern and each wait is escalated at most once,
whatever runs the pass and however many run at the same time: the database decides, in one
statement each.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import NotificationKind, Role, User
from commissioning.models import Sector
from referrals.models import OPEN_STATUSES, Concern, Referral
from referrals.services_concern_notices import concern_notify, notify_people

# Marks the concerns still unacknowledged past their deadline, and returns their ids. Only rows
# whose escalated_at is still empty are changed, so a second pass finds nothing. Two passes at
# once never share a row: each locks the rows it takes, and skips those the other holds (which
# it has just escalated, or is about to). A concern being acknowledged at this moment is skipped
# too, and escalated by the next pass if that acknowledgement is rolled back.
_ESCALATE = """
WITH due AS (
    SELECT id FROM {concern}
    WHERE escalated_at IS NULL
      AND acknowledged_at IS NULL
      AND resolved_at IS NULL
      AND acknowledge_by < %(now)s
    ORDER BY id
    FOR UPDATE SKIP LOCKED
)
UPDATE {concern} c SET escalated_at = %(now)s
FROM due
WHERE c.id = due.id
RETURNING c.id
"""


@dataclass(frozen=True)
class Escalations:
    concerns: int
    waits: int

    @property
    def total(self) -> int:
        return self.concerns + self.waits

    def in_words(self) -> str:
        """ "2 concerns escalated. 1 statutory wait escalated." """
        return (
            f"{self.concerns} concern{'' if self.concerns == 1 else 's'} escalated. "
            f"{self.waits} statutory wait{'' if self.waits == 1 else 's'} escalated."
        )


def escalate_overdue(*, now: datetime | None = None) -> Escalations:
    """The whole pass, as beat and `manage.py escalate_overdue` run it: concerns, then waits.
    Each part commits on its own, so a failure telling people about one does not hold back the
    other."""
    now = now or timezone.now()
    return Escalations(
        concerns=concerns_escalate_overdue(now=now),
        waits=statutory_waits_escalate_overdue(now=now),
    )


def concerns_escalate_overdue(*, now: datetime | None = None) -> int:
    """Escalate every concern past its acknowledgement deadline and not acknowledged: mark it
    escalated and tell the referrer, the leads of the organisation it is addressed to and the
    commissioners of its system. Returns how many concerns were escalated."""
    now = now or timezone.now()
    # The marks and the notifications commit together: if telling people fails, the concerns
    # stay unescalated and the next pass tries again.
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_ESCALATE.format(concern=Concern._meta.db_table), {"now": now})
            escalated = [pk for (pk,) in cursor.fetchall()]
        if escalated:
            _tell_everyone(escalated)
    return len(escalated)


def _tell_everyone(concern_ids: list[int]) -> None:
    concerns = list(
        Concern.objects.filter(pk__in=concern_ids)
        .select_related("referral__referrer", "referral__organisation", "addressed_to")
        .order_by("pk")
    )
    addressed = _answerers({concern.addressed_to_id for concern in concerns})
    commissioners = _commissioners(
        {concern.referral.organisation.system_id for concern in concerns}
    )
    for concern in concerns:
        referral = concern.referral
        recipients = [
            referral.referrer,
            *addressed[concern.addressed_to_id],
            *commissioners[referral.organisation.system_id],
        ]
        concern_notify(
            concern=concern,
            recipients=[user for user in recipients if user.is_active],
            kind=NotificationKind.ESCALATION,
            event="escalated",
            title=(
                f"Concern on {referral.reference} not acknowledged by "
                f"{concern.addressed_to.name} in time: escalated"
            ),
        )


def _answerers(organisation_ids: set[int]) -> dict[int, list[User]]:
    """The leads of each organisation. A health or social care organisation has no VSO lead, so
    its active users are told instead: someone there must hear that it has not answered."""
    users: dict[int, list[User]] = defaultdict(list)
    leads: dict[int, list[User]] = defaultdict(list)
    for user in User.objects.filter(organisation_id__in=organisation_ids, is_active=True):
        assert user.organisation_id is not None
        users[user.organisation_id].append(user)
        if user.role == Role.VSO_LEAD:
            leads[user.organisation_id].append(user)
    return {pk: leads[pk] or users[pk] for pk in organisation_ids}


def _commissioners(system_ids: set[int]) -> dict[int, list[User]]:
    found: dict[int, list[User]] = defaultdict(list)
    for user in User.objects.filter(
        organisation__system_id__in=system_ids, role=Role.COMMISSIONER, is_active=True
    ).select_related("organisation"):
        assert user.organisation is not None
        found[user.organisation.system_id].append(user)
    return found


# --- Statutory waits past their limit (docs/referrals.md#waiting-on-statutory-services) -------

# Marks the open referrals to health and social care still without first contact after their
# urgency's limit (settings.STATUTORY_WAIT_LIMITS, as a VALUES list, as the referral-split
# report reads them), and returns their ids. The same locking as for concerns: a row whose
# wait_escalated_at is set is never taken again, and two passes skip each other's rows. A
# referral being changed at this moment (first contact being recorded) is skipped, and taken by
# the next pass if it still waits. version and updated_at are left alone: nobody changed the
# referral, so a person who has it open can still record the contact.
_ESCALATE_WAITS = """
WITH due AS (
    SELECT r.id FROM {referral} r
    JOIN (VALUES {limits}) AS l (urgency, allowed) ON l.urgency = r.urgency
    WHERE r.wait_escalated_at IS NULL
      AND r.first_contact_at IS NULL
      AND r.status = ANY(%(open)s)
      AND r.destination_sector <> %(voluntary)s
      AND r.referred_at + l.allowed < %(now)s
    ORDER BY r.id
    FOR UPDATE OF r SKIP LOCKED
)
UPDATE {referral} r SET wait_escalated_at = %(now)s
FROM due
WHERE r.id = due.id
RETURNING r.id
"""


def statutory_waits_escalate_overdue(*, now: datetime | None = None) -> int:
    """Escalate every referral to health or social care still open without first contact past
    its urgency's limit: mark it and tell the referrer, the people of the organisation waited
    on, the commissioners of its system and any voluntary organisation covering the wait.
    Returns how many waits were escalated."""
    now = now or timezone.now()
    limits = settings.STATUTORY_WAIT_LIMITS
    sql = _ESCALATE_WAITS.format(
        referral=Referral._meta.db_table,
        limits=", ".join(
            f"(%(urgency_{n})s, %(allowed_{n})s::interval)" for n in range(len(limits))
        ),
    )
    params: dict[str, Any] = {
        "now": now,
        "open": [str(status) for status in OPEN_STATUSES],
        "voluntary": str(Sector.VOLUNTARY),
        **{f"urgency_{n}": urgency for n, urgency in enumerate(limits)},
        **{f"allowed_{n}": allowed for n, allowed in enumerate(limits.values())},
    }
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            escalated = [pk for (pk,) in cursor.fetchall()]
        if escalated:
            _tell_about_waits(escalated)
    return len(escalated)


def _tell_about_waits(referral_ids: list[int]) -> None:
    referrals = list(
        Referral.objects.filter(pk__in=referral_ids)
        .select_related("referrer", "organisation")
        .order_by("pk")
    )
    covers = list(
        Referral.objects.filter(interim_cover_for_id__in=referral_ids, status__in=OPEN_STATUSES)
        .select_related("organisation")
        .order_by("pk")
    )
    waited_on = _active_users({referral.organisation_id for referral in referrals})
    covering = _active_users({cover.organisation_id for cover in covers})
    commissioners = _commissioners({referral.organisation.system_id for referral in referrals})
    for referral in referrals:
        key = f"referral:{referral.pk}:wait_escalated"
        title = (
            f"{referral.reference} has waited past its {_in_words(referral)} limit for first "
            f"contact from {referral.organisation.name}"
        )
        # The referrer and the commissioners may open the referral. The voluntary organisation
        # covering the wait may open its own referral, which shows the wait. The statutory
        # service waited on may not open the referral (it rarely uses VSO Care, and its people
        # see only what their team made): the title tells them all they may know, and their
        # notifications list is where it links. Someone in two of these groups is told once,
        # with the first link.
        groups: list[tuple[list[User], str]] = [
            (
                [referral.referrer, *commissioners[referral.organisation.system_id]],
                reverse("referral_detail", args=[referral.pk]),
            ),
            *(
                (covering[cover.organisation_id], reverse("referral_detail", args=[cover.pk]))
                for cover in covers
                if cover.interim_cover_for_id == referral.pk
            ),
            (waited_on[referral.organisation_id], reverse("notification_list")),
        ]
        told: set[int] = set()
        for people, link in groups:
            fresh = [user for user in people if user.is_active and user.pk not in told]
            told.update(user.pk for user in fresh)
            notify_people(
                recipients=fresh,
                kind=NotificationKind.ESCALATION,
                event_key=key,
                title=title,
                link=link,
            )


def _in_words(referral: Referral) -> str:
    """ "2-day", "4-hour": the limit of the referral's urgency."""
    allowed: timedelta = settings.STATUTORY_WAIT_LIMITS[referral.urgency]
    hours = int(allowed.total_seconds() // 3600)
    return f"{hours // 24}-day" if hours % 24 == 0 else f"{hours}-hour"


def _active_users(organisation_ids: set[int]) -> dict[int, list[User]]:
    found: dict[int, list[User]] = defaultdict(list)
    for user in User.objects.filter(organisation_id__in=organisation_ids, is_active=True):
        assert user.organisation_id is not None
        found[user.organisation_id].append(user)
    return found
