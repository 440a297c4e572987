"""Notifications: in the app (the bell and /notifications/) and by e-mail.

The app above decides who is told what (referrals/notices.py); this module only records it,
once per person and event, and sends the e-mail after the transaction commits. A title goes out
by e-mail as it stands, so it must name the referral by its reference only, never the patient.
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import (
    ALWAYS_EMAILED,
    EmailPreference,
    Notification,
    NotificationKind,
    User,
)

logger = logging.getLogger(__name__)


def notify(*, recipients: Iterable[User], kind: str, event_key: str, title: str, link: str) -> int:
    """Tell each active recipient, once: a second call with the same event key tells nobody
    again (the database refuses the duplicate, even from two workers at once). Each new
    notification that its recipient wants by e-mail is e-mailed after the transaction commits.
    Returns how many notifications were made."""
    if kind not in NotificationKind.values:
        raise ValueError(f"Unknown notification kind {kind!r}")
    if not link.startswith("/"):
        raise ValueError(f"A notification links to a path on this site, not {link!r}")
    recipient_ids = sorted({user.pk for user in recipients})
    if not recipient_ids:
        return 0
    table, users = Notification._meta.db_table, User._meta.db_table
    preferences = EmailPreference._meta.db_table
    now = timezone.now()
    # One statement for everyone, active people only, each with whether they want this kind by
    # e-mail. ON CONFLICT DO NOTHING makes "once per person and event" the database's rule;
    # bulk_create(ignore_conflicts=True) could not say which rows it made. A wanted e-mail
    # counts as queued now: it is handed to the broker once this commits, and marked not
    # queued if the broker refuses it.
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH wanting AS (
                SELECT people.id,
                       %s OR NOT EXISTS (
                           SELECT 1 FROM {preferences} AS preference
                           WHERE preference.user_id = people.id
                             AND %s = ANY(preference.kinds_without_email)
                       ) AS email_wanted
                FROM {users} AS people
                WHERE people.id = ANY(%s) AND people.is_active
            )
            INSERT INTO {table}
                (recipient_id, kind, event_key, title, link, created_at, email_attempts,
                 email_wanted, email_queued_at)
            SELECT wanting.id, %s, %s, %s, %s, %s, 0,
                   wanting.email_wanted, CASE WHEN wanting.email_wanted THEN %s END
            FROM wanting
            ON CONFLICT (recipient_id, event_key) DO NOTHING
            RETURNING id, email_wanted
            """,
            [
                kind in ALWAYS_EMAILED, kind, recipient_ids,
                kind, event_key, title[:200], link, now, now,
            ],
        )  # fmt: skip
        created: list[tuple[int, bool]] = cursor.fetchall()
    for notification_id, wanted in created:
        if wanted:
            transaction.on_commit(partial(_email_enqueue, notification_id=notification_id))
    return len(created)


def _email_enqueue(*, notification_id: int) -> None:
    # Imported here: the task module imports this one.
    from accounts.tasks import send_notification_email

    try:
        send_notification_email.delay(notification_id)
    except Exception:
        # The change that caused the notification has committed and the notification is
        # stored; a broker that is down must not turn the person's page into an error. The
        # re-send sweep queues it again once the broker is back.
        logger.exception("Could not queue the e-mail for notification %s", notification_id)
        Notification.objects.filter(pk=notification_id, emailed_at__isnull=True).update(
            email_queued_at=None
        )


# An e-mail handed to the broker but neither sent nor failed this long after is taken to be
# lost (a worker killed while it waited to retry) and queued again. Longer than the task's own
# retries take (about 31 minutes), so a message still retrying is not queued twice; were it,
# the send is at most once all the same.
EMAIL_LOST_AFTER = timedelta(hours=1)
# How many e-mails one sweep queues: a broker back after a long outage is not flooded at once.
EMAIL_SWEEP_BATCH = 500


def notification_emails_requeue(*, now: datetime | None = None) -> int:
    """Queue again every wanted e-mail the broker never took, or took and lost: none is lost
    while the notification stays. Two sweeps at once queue each e-mail once (row locks), and a
    message queued twice is still sent once. Returns how many were queued."""
    now = now or timezone.now()
    table = Notification._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} SET email_queued_at = %s
            WHERE id IN (
                SELECT id FROM {table}
                WHERE email_wanted AND emailed_at IS NULL AND email_failed_at IS NULL
                  AND (email_queued_at IS NULL OR email_queued_at < %s)
                ORDER BY id
                LIMIT %s
                FOR UPDATE SKIP LOCKED
            )
            RETURNING id
            """,
            [now, now - EMAIL_LOST_AFTER, EMAIL_SWEEP_BATCH],
        )
        queued = sorted(notification_id for (notification_id,) in cursor.fetchall())
        for notification_id in queued:
            transaction.on_commit(partial(_email_enqueue, notification_id=notification_id))
    if queued:
        logger.warning("Queued %s notification e-mail(s) again", len(queued))
    return len(queued)


def notification_email_send(*, notification_id: int) -> bool:
    """Send one notification's e-mail, unless it has been sent already (at most once, even
    when a worker runs the task twice). Raises the mail server's error, for the task to retry.
    Returns whether a message was sent."""
    Notification.objects.filter(pk=notification_id, emailed_at__isnull=True).update(
        email_attempts=F("email_attempts") + 1
    )
    with transaction.atomic():
        # The row stays locked while the message goes, so that a second worker with the same
        # task waits, then finds it sent.
        notification = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("recipient")
            .filter(pk=notification_id, emailed_at__isnull=True)
            .first()
        )
        if notification is None:
            return False
        if not notification.recipient.is_active:
            # They have left: nothing is sent, and the sweep stops trying.
            notification.email_wanted = False
            notification.save(update_fields=["email_wanted"])
            return False
        subject, body = notification_email_text(notification=notification)
        send_mail(
            subject,
            body,
            settings.DEFAULT_FROM_EMAIL,
            [notification.recipient.email],
            fail_silently=False,
        )
        notification.emailed_at = timezone.now()
        notification.email_failed_at = None
        notification.save(update_fields=["emailed_at", "email_failed_at"])
    return True


def notification_email_text(*, notification: Notification) -> tuple[str, str]:
    """The subject and body: what happened and a link, nothing else. Whoever reads the
    recipient's mail learns no more than the reference."""
    link = f"{settings.SITE_URL}{notification.link}"
    body = (
        f"{notification.title}\n\n"
        f"{link}\n\n"
        "You are told this because you use VSO Care. Choose which e-mails you get at "
        f"{settings.SITE_URL}/notifications/settings/\n"
    )
    return f"VSO Care: {notification.title}", body


def notification_email_failed(*, notification_id: int, error: BaseException) -> None:
    """Record that the e-mail could not be sent after every retry: /health/ reports it. The
    notification itself stays in the app."""
    Notification.objects.filter(pk=notification_id, emailed_at__isnull=True).update(
        email_failed_at=timezone.now()
    )
    logger.error(
        "E-mail for notification %s failed after every retry: %s: %s",
        notification_id,
        type(error).__name__,
        error,
    )


def notification_mark_read(*, notification: Notification, user: User) -> Notification:
    if notification.recipient_id != user.pk:
        raise PermissionDenied
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=notification.read_at
        )
    return notification


def notifications_mark_all_read(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def email_preferences_set(*, user: User, kinds_without_email: Iterable[str]) -> EmailPreference:
    """Which kinds a person wants no e-mail for. Escalations are always e-mailed."""
    kinds = set(kinds_without_email)
    unknown = kinds - set(NotificationKind.values)
    if unknown:
        raise ValidationError(
            {"kinds_without_email": f"Unknown kinds: {', '.join(sorted(unknown))}."}
        )
    chosen = [kind for kind in NotificationKind.values if kind in kinds - ALWAYS_EMAILED]
    preference, _ = EmailPreference.objects.update_or_create(
        user=user, defaults={"kinds_without_email": chosen}
    )
    return preference
