"""No notification e-mail is lost to a broker that was down or a worker that died (#12): the
sweep queues again what the broker never took or lost, and nothing a person declined."""

import datetime
from unittest import mock

import pytest
from django.conf import settings
from django.utils import timezone

from accounts import services_notifications
from accounts.models import Notification, NotificationKind
from accounts.services_notifications import (
    EMAIL_LOST_AFTER,
    email_preferences_set,
    notification_emails_requeue,
    notify,
)
from accounts.tasks import send_notification_email
from vsocare.celery import app

pytestmark = pytest.mark.django_db


def tell(*people, key="referral:12:declined", kind=NotificationKind.REFERRAL_DECLINED):
    return notify(
        recipients=people, kind=kind, event_key=key, title="R-000012 was declined",
        link="/referrals/12/",
    )  # fmt: skip


@pytest.fixture
def broker_down():
    with mock.patch.object(
        send_notification_email, "delay", side_effect=ConnectionError("Error 111 connecting")
    ) as delay:
        yield delay


def test_an_email_the_broker_refused_is_sent_by_the_next_sweep(
    icc, eager_tasks, mailoutbox, django_capture_on_commit_callbacks, caplog
):
    refused = ConnectionError("Error 111 connecting")
    with (
        mock.patch.object(send_notification_email, "delay", side_effect=refused),
        django_capture_on_commit_callbacks(execute=True),
    ):
        tell(icc)
    notification = Notification.objects.get()
    assert notification.email_wanted and notification.email_queued_at is None
    assert "Could not queue the e-mail" in caplog.text
    assert mailoutbox == []

    with django_capture_on_commit_callbacks(execute=True):
        assert notification_emails_requeue() == 1

    [message] = mailoutbox
    assert message.to == [icc.email]
    notification.refresh_from_db()
    assert notification.emailed_at is not None


def test_a_sweep_while_the_broker_is_still_down_leaves_it_for_the_next(
    icc, broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        tell(icc)
    with django_capture_on_commit_callbacks(execute=True):
        assert notification_emails_requeue() == 1

    assert broker_down.call_count == 2
    assert Notification.objects.get().email_queued_at is None


def test_an_email_queued_and_lost_is_queued_again_after_an_hour_only(
    icc, django_capture_on_commit_callbacks
):
    with mock.patch.object(send_notification_email, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            tell(icc)
        assert delay.call_count == 1
        now = timezone.now()

        with django_capture_on_commit_callbacks(execute=True):
            soon = notification_emails_requeue(now=now + EMAIL_LOST_AFTER / 2)
            later = notification_emails_requeue(now=now + EMAIL_LOST_AFTER * 1.1)
            again = notification_emails_requeue(now=now + EMAIL_LOST_AFTER * 1.2)

    assert (soon, later, again) == (0, 1, 0)
    assert delay.call_count == 2


def test_sent_failed_and_declined_emails_are_never_swept(
    icc, red_cross_lead, commissioner, django_capture_on_commit_callbacks
):
    email_preferences_set(user=commissioner, kinds_without_email=[NotificationKind.CONCERN_RAISED])
    with mock.patch.object(send_notification_email, "delay") as delay:
        tell(icc, key="a")
        tell(red_cross_lead, key="b")
        tell(commissioner, key="c", kind=NotificationKind.CONCERN_RAISED)
        Notification.objects.filter(recipient=icc).update(emailed_at=timezone.now())
        Notification.objects.filter(recipient=red_cross_lead).update(email_failed_at=timezone.now())
        Notification.objects.update(email_queued_at=None)

        with django_capture_on_commit_callbacks(execute=True):
            assert notification_emails_requeue() == 0

    assert not delay.called
    assert Notification.objects.get(recipient=commissioner).email_wanted is False


def test_a_person_who_left_is_not_emailed_and_not_swept_again(icc, eager_tasks, mailoutbox):
    tell(icc)
    icc.is_active = False
    icc.save()
    notification = Notification.objects.get()

    assert send_notification_email.delay(notification.pk).get() is False

    notification.refresh_from_db()
    assert notification.email_wanted is False
    assert notification_emails_requeue(now=timezone.now() + datetime.timedelta(days=1)) == 0
    assert mailoutbox == []


def test_one_sweep_queues_a_bounded_batch_oldest_first(icc, monkeypatch):
    monkeypatch.setattr(services_notifications, "EMAIL_SWEEP_BATCH", 3)
    with mock.patch.object(send_notification_email, "delay"):
        for number in range(5):
            tell(icc, key=f"referral:{number}:declined")
    Notification.objects.update(email_queued_at=None)
    first_three = sorted(Notification.objects.values_list("pk", flat=True))[:3]

    assert notification_emails_requeue() == 3
    assert (
        sorted(
            Notification.objects.filter(email_queued_at__isnull=False).values_list("pk", flat=True)
        )
        == first_three
    )
    assert notification_emails_requeue() == 2


def test_beat_sweeps_every_five_minutes():
    entry = settings.CELERY_BEAT_SCHEDULE["requeue-notification-emails"]

    assert entry["task"] == "accounts.requeue_notification_emails"
    assert entry["schedule"] == datetime.timedelta(minutes=5)
    assert "accounts.requeue_notification_emails" in app.tasks
