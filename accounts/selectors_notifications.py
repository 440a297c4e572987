"""Reading one's own notifications. Nobody reads another person's: each read is by recipient."""

from django.db.models import OuterRef, QuerySet
from django.http import Http404

from accounts.models import ALWAYS_EMAILED, EmailPreference, Notification, NotificationKind, User


def notifications_of(user: User) -> QuerySet[Notification]:
    """A person's own notifications, newest first."""
    return Notification.objects.filter(recipient_id=user.pk).order_by("-created_at", "-pk")


def unread_of(recipient: int | OuterRef) -> QuerySet[Notification]:
    """A person's unread notifications: `recipient` is their id, or an OuterRef to it where
    the bell is counted with the signed-in user (accounts.backends)."""
    return Notification.objects.filter(recipient_id=recipient, read_at__isnull=True).order_by()


def unread_count(user: User) -> int:
    """The bell: one COUNT on the (recipient, read_at) index."""
    return unread_of(user.pk).count()


def get_notification_for_user(user: User, pk: int) -> Notification:
    """404 for another person's notification, so that its existence is not disclosed."""
    notification = notifications_of(user).filter(pk=pk).first()
    if notification is None:
        raise Http404("No such notification")
    return notification


def kinds_without_email_of(user: User) -> set[str]:
    preference = EmailPreference.objects.filter(user_id=user.pk).first()
    return set(preference.kinds_without_email) if preference is not None else set()


def email_choices_for(user: User) -> list[tuple[str, str, bool, bool]]:
    """Each kind as (code, label, e-mailed, may be switched off), for the settings page."""
    without = kinds_without_email_of(user)
    return [
        (kind.value, str(kind.label), kind not in without or kind in ALWAYS_EMAILED,
         kind not in ALWAYS_EMAILED)
        for kind in NotificationKind
    ]  # fmt: skip
