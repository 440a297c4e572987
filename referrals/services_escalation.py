"""Escalating concerns not acknowledged by their deadline (docs/concerns.md#escalation).

Celery beat runs the pass every five minutes (`referrals.escalate_overdue`), and
`manage.py escalate_overdue` runs it once. Each concern is escalated at most once, whatever
runs the pass and however many run at the same time: the database decides, in one statement.
"""

from collections import defaultdict
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import NotificationKind, Role, User
from referrals.models import Concern
from referrals.services_concern_notices import concern_notify

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
