"""Notifications: in the app (the bell and /notifications/) and by e-mail.

The app above decides who is told what (referrals/notices.py); this module only records it,
once per person and event, and sends the e-mail after the transaction commits. A title goes out
by e-mail as it stands, so it must name the referral by its reference only, never the patient.
"""

import logging
from collections.abc import Iterable
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
    # One statement for everyone, active people only. ON CONFLICT DO NOTHING makes "once per
    # person and event" the database's rule; bulk_create(ignore_conflicts=True) could not say
    # which rows it made.
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table}
                (recipient_id, kind, event_key, title, link, created_at, email_attempts)
            SELECT people.id, %s, %s, %s, %s, %s, 0
            FROM {users} AS people
            WHERE people.id = ANY(%s) AND people.is_active
            ON CONFLICT (recipient_id, event_key) DO NOTHING
            RETURNING id, recipient_id
            """,
            [kind, event_key, title[:200], link, timezone.now(), recipient_ids],
        )
        created: list[tuple[int, int]] = cursor.fetchall()
    emailed = _wanting_email(kind=kind, created=created)
    for notification_id in emailed:
        transaction.on_commit(partial(_email_enqueue, notification_id=notification_id))
    return len(created)


def _wanting_email(*, kind: str, created: list[tuple[int, int]]) -> list[int]:
    if not created:
        return []
    if kind in ALWAYS_EMAILED:
        return [notification_id for notification_id, _ in created]
    declined = set(
        EmailPreference.objects.filter(
            user_id__in=[recipient_id for _, recipient_id in created],
            kinds_without_email__contains=[kind],
        ).values_list("user_id", flat=True)
    )
    return [pk for pk, recipient_id in created if recipient_id not in declined]


def _email_enqueue(*, notification_id: int) -> None:
    # Imported here: the task module imports this one.
    from accounts.tasks import send_notification_email

    try:
        send_notification_email.delay(notification_id)
    except Exception:
        # The change that caused the notification has committed and the notification is
        # stored; a broker that is down must not turn the person's page into an error.
        logger.exception("Could not queue the e-mail for notification %s", notification_id)


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
        if notification is None or not notification.recipient.is_active:
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
