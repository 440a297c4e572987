import smtplib
from datetime import timedelta

from celery import shared_task
from django.conf import settings

from accounts.services import sign_in_records_prune
from accounts.services_notifications import (
    notification_email_failed,
    notification_email_send,
    notification_emails_requeue,
)

# A mail server that is down is tried again after about 1, 2, 4, 8 and 16 minutes: a short
# outage loses nothing, and a long one is reported on /health/ within the half hour.
EMAIL_MAX_RETRIES = 5
EMAIL_FIRST_RETRY_SECONDS = 60


@shared_task(name="accounts.prune_sign_in_records")
def prune_sign_in_records() -> int:
    return sign_in_records_prune(older_than=timedelta(days=settings.SIGN_IN_RECORD_DAYS))


@shared_task(
    name="accounts.send_notification_email",
    bind=True,
    max_retries=EMAIL_MAX_RETRIES,
    soft_time_limit=120,
    time_limit=150,
)
def send_notification_email(self, notification_id: int) -> bool:
    try:
        return notification_email_send(notification_id=notification_id)
    except (smtplib.SMTPException, OSError) as error:
        # smtplib's errors, and the socket's (refused, timed out, unreachable), are the mail
        # server's; anything else is a bug, which Celery records as the task's failure.
        if self.request.retries >= self.max_retries:
            notification_email_failed(notification_id=notification_id, error=error)
            return False
        raise self.retry(
            exc=error, countdown=EMAIL_FIRST_RETRY_SECONDS * 2**self.request.retries
        ) from None


@shared_task(name="accounts.requeue_notification_emails")
def requeue_notification_emails() -> int:
    return notification_emails_requeue()
