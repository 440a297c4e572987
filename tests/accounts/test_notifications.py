"""Notifications: the bell, one's own list, opening marks read, e-mail once per person and
event after the commit, per-kind e-mail choices (escalations always sent), and a failing mail
server that loses nothing and shows on /health/."""

import datetime
import smtplib

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification, NotificationKind
from accounts.services_notifications import email_preferences_set, notify
from accounts.tasks import EMAIL_MAX_RETRIES
from core.nhs import synthetic_nhs_number

pytestmark = pytest.mark.django_db

K = NotificationKind


class BrokenMailServer(BaseEmailBackend):
    """A mail server that refuses every connection."""

    attempts = 0

    def send_messages(self, email_messages):
        BrokenMailServer.attempts += 1
        raise smtplib.SMTPConnectError(421, "Service not available")


def tell(*people, kind=K.REFERRAL_DECLINED, key="referral:12:declined", title=None):
    return notify(
        recipients=people,
        kind=kind,
        event_key=key,
        title=title or "R-000012 was declined by Eastern Red Cross",
        link="/referrals/12/",
    )


def bell_label(response) -> str:
    page = response.content.decode()
    start = page.rindex("<a ", 0, page.index('data-testid="bell"'))
    return page[start : page.index("</a>", start)]


def test_the_bell_shows_the_unread_count_on_every_page(client, icc):
    client.force_login(icc)
    tell(icc, key="referral:1:declined")
    tell(icc, key="referral:2:declined")
    Notification.objects.create(
        recipient=icc, kind=K.REFERRAL_ACCEPTED, event_key="old", title="Old", link="/",
        read_at=timezone.now(),
    )  # fmt: skip

    for url in (reverse("icc_home"), reverse("directory"), reverse("password_change")):
        label = bell_label(client.get(url))
        assert "2 unread notifications" in label, url
        assert 'href="/notifications/"' in label


def test_the_bell_says_when_nothing_is_unread_and_is_not_shown_to_nobody(client, icc):
    client.force_login(icc)
    assert "No unread notifications" in bell_label(client.get(reverse("icc_home")))

    client.logout()
    assert 'data-testid="bell"' not in client.get(reverse("login")).content.decode()


def test_the_list_shows_ones_own_newest_first_with_the_unread_marked(client, icc, commissioner):
    tell(icc, key="first", title="R-000001 was declined by A")
    tell(icc, key="second", title="R-000002 was accepted by B")
    tell(commissioner, key="theirs", title="R-000003 belongs to someone else")
    client.force_login(icc)

    response = client.get(reverse("notification_list"))

    page = response.content.decode()
    assert [n.title for n in response.context["page"]] == [
        "R-000002 was accepted by B",
        "R-000001 was declined by A",
    ]
    assert "R-000003" not in page
    assert page.count("vso-unread") == 2
    first = Notification.objects.get(event_key="first")
    assert reverse("notification_open", args=[first.pk]) in page


def test_the_list_is_paginated_by_25(client, icc):
    for n in range(30):
        tell(icc, key=f"referral:{n}:declined")
    client.force_login(icc)

    first, second = client.get("/notifications/"), client.get("/notifications/?page=2")

    assert len(first.context["page"]) == 25
    assert len(second.context["page"]) == 5


def test_opening_marks_it_read_and_goes_to_its_link(client, icc):
    tell(icc)
    notification = Notification.objects.get()
    client.force_login(icc)

    response = client.get(reverse("notification_open", args=[notification.pk]))

    assert response.status_code == 302
    assert response["Location"] == "/referrals/12/"
    notification.refresh_from_db()
    assert notification.read_at is not None
    assert "No unread notifications" in bell_label(client.get(reverse("icc_home")))


def test_another_persons_notification_is_not_found_and_stays_unread(client, icc, commissioner):
    tell(commissioner)
    theirs = Notification.objects.get()
    client.force_login(icc)

    response = client.get(reverse("notification_open", args=[theirs.pk]))

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_as_read_marks_only_ones_own(client, icc, commissioner):
    tell(icc, key="a")
    tell(icc, key="b")
    tell(commissioner, key="a")
    client.force_login(icc)

    assert client.get(reverse("notifications_mark_all_read")).status_code == 405
    response = client.post(reverse("notifications_mark_all_read"), follow=True)

    assert response.redirect_chain[-1][0] == reverse("notification_list")
    assert "2 notifications marked as read." in response.content.decode()
    assert not Notification.objects.filter(recipient=icc, read_at__isnull=True).exists()
    assert Notification.objects.get(recipient=commissioner).read_at is None


def test_the_bell_costs_one_query_however_many_are_unread(client, icc):
    client.force_login(icc)
    url = reverse("directory")
    client.get(url)  # the session and the user's organisation are warm from here on

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        return len(captured)

    tell(icc, key="one")
    with_one = queries()
    for n in range(29):
        tell(icc, key=f"more:{n}")
    with_thirty = queries()

    assert with_one == with_thirty
    assert "30 unread notifications" in bell_label(client.get(url))


def test_the_bell_is_counted_with_the_signed_in_user_not_by_a_query_of_its_own(client, icc):
    tell(icc, key="one")
    tell(icc, key="two")
    client.force_login(icc)
    url = reverse("directory")
    client.get(url)

    with CaptureQueriesContext(connection) as captured:
        label = bell_label(client.get(url))

    assert "2 unread notifications" in label
    counts = [q["sql"] for q in captured if 'FROM "accounts_notification"' in q["sql"]]
    # One statement reads the user and counts their unread notifications inside it.
    assert len(counts) == 1 and 'FROM "accounts_user"' in counts[0]


# --- E-mail


def test_the_email_goes_after_the_commit_with_the_title_and_the_link_only(
    icc, eager_tasks, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "https://vsocare.example.nhs.uk"

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        tell(icc)
    assert mailoutbox == []  # nothing goes before the commit

    for callback in callbacks:
        callback()

    [message] = mailoutbox
    assert message.to == [icc.email]
    assert message.subject == "VSO Care: R-000012 was declined by Eastern Red Cross"
    assert "R-000012 was declined by Eastern Red Cross" in message.body
    assert "https://vsocare.example.nhs.uk/referrals/12/" in message.body
    assert Notification.objects.get().emailed_at is not None


def test_a_rolled_back_change_sends_no_email(icc, eager_tasks, mailoutbox):
    with pytest.raises(RuntimeError), transaction.atomic():
        tell(icc)
        raise RuntimeError("the referral was not saved")

    assert mailoutbox == []
    assert not Notification.objects.exists()


def test_the_same_event_twice_makes_one_notification_and_one_email(
    icc, red_cross_lead, eager_tasks, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = tell(icc, red_cross_lead)
        second = tell(icc, red_cross_lead, icc)

    assert (first, second) == (2, 0)
    assert Notification.objects.count() == 2
    assert sorted(m.to[0] for m in mailoutbox) == sorted([icc.email, red_cross_lead.email])


def test_the_database_refuses_a_second_notification_of_one_event(icc):
    tell(icc)

    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(
            recipient=icc, kind=K.REFERRAL_DECLINED, event_key="referral:12:declined",
            title="again", link="/referrals/12/",
        )  # fmt: skip


def test_running_the_email_task_twice_sends_once(icc, eager_tasks, mailoutbox):
    from accounts.tasks import send_notification_email

    tell(icc)
    notification = Notification.objects.get()

    assert send_notification_email.delay(notification.pk).get() is True
    assert send_notification_email.delay(notification.pk).get() is False
    assert len(mailoutbox) == 1


def test_an_inactive_person_is_not_told(icc, red_cross_lead):
    red_cross_lead.is_active = False
    red_cross_lead.save()

    assert tell(icc, red_cross_lead) == 1
    assert list(Notification.objects.values_list("recipient", flat=True)) == [icc.pk]


def test_the_email_names_no_patient(
    client, icc, red_cross_lead, home_from_hospital, eager_tasks, mailoutbox,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    from referrals.services import referral_create
    from tests.factories import ConsentFactory, PatientFactory

    number = synthetic_nhs_number(499_999)
    patient = PatientFactory(
        given_name="Perpetua", family_name="Quillfeather", nhs_number=number,
        date_of_birth=datetime.date(1931, 2, 28), postcode="ZZ9 9ZZ",
    )  # fmt: skip
    ConsentFactory(patient=patient)
    with django_capture_on_commit_callbacks(execute=True):
        referral = referral_create(
            patient=patient, referrer=icc, source="icc", destination_sector="voluntary",
            organisation=home_from_hospital.organisation, service=home_from_hospital,
            needs=["shopping"], activities=["shopping"], urgency="soon", lawful_basis="consent",
            reason="Perpetua Quillfeather lives alone at ZZ9 9ZZ.",
        )  # fmt: skip

    [message] = mailoutbox
    text = message.subject + message.body + str(message.message())
    assert referral.reference in text
    spaced = f"{number[:3]} {number[3:6]} {number[6:]}"
    for identifier in ("Perpetua", "Quillfeather", number, spaced, "ZZ9", "1931", "28/02",
                       "28 Feb"):  # fmt: skip
        assert identifier not in text, identifier


# --- Choosing e-mails


def test_a_person_switches_email_off_per_kind_but_escalations_still_send(
    client, icc, eager_tasks, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(icc)
    wanted = [k for k in K.values if k not in (K.REFERRAL_DECLINED, K.ESCALATION)]

    response = client.post(reverse("notification_settings"), {"email": wanted}, follow=True)

    assert "Your e-mail choices are saved." in response.content.decode()
    page = client.get(reverse("notification_settings")).content.decode()
    assert 'value="referral_declined" id="email-referral_declined">' in page
    assert 'value="escalation" id="email-escalation" checked disabled' in page
    with django_capture_on_commit_callbacks(execute=True):
        tell(icc, kind=K.REFERRAL_DECLINED, key="declined")
        tell(icc, kind=K.REFERRAL_ACCEPTED, key="accepted", title="R-000012 was accepted")
        tell(icc, kind=K.ESCALATION, key="escalated", title="R-000012: a concern was escalated")

    assert sorted(m.subject for m in mailoutbox) == [
        "VSO Care: R-000012 was accepted",
        "VSO Care: R-000012: a concern was escalated",
    ]
    assert Notification.objects.filter(recipient=icc).count() == 3  # all three in the app


def test_escalations_cannot_be_switched_off_even_by_the_service(
    icc, eager_tasks, mailoutbox, django_capture_on_commit_callbacks
):
    email_preferences_set(user=icc, kinds_without_email=K.values)

    with django_capture_on_commit_callbacks(execute=True):
        tell(icc, kind=K.ESCALATION, key="escalated")
        tell(icc, kind=K.CONCERN_RAISED, key="raised")

    assert len(mailoutbox) == 1


# --- A failing mail server


def test_a_failing_mail_server_is_retried_then_reported_and_the_notification_stays(
    client, icc, settings, eager_tasks, mailoutbox, django_capture_on_commit_callbacks, caplog
):
    settings.EMAIL_BACKEND = f"{__name__}.BrokenMailServer"
    BrokenMailServer.attempts = 0

    with django_capture_on_commit_callbacks(execute=True):
        tell(icc)

    notification = Notification.objects.get()
    assert BrokenMailServer.attempts == EMAIL_MAX_RETRIES + 1
    assert notification.email_attempts == EMAIL_MAX_RETRIES + 1
    assert notification.emailed_at is None and notification.email_failed_at is not None
    assert "failed after every retry" in caplog.text
    assert f"notification {notification.pk}" in caplog.text
    assert mailoutbox == []
    # The person still sees it in the app.
    client.force_login(icc)
    assert "1 unread notification" in bell_label(client.get(reverse("icc_home")))


# /health/ counts on a connection of its own, which sees only what is committed.
@pytest.mark.django_db(transaction=True)
def test_health_reports_failed_emails_for_a_day(client, icc):
    tell(icc)
    Notification.objects.update(email_failed_at=timezone.now() - datetime.timedelta(hours=23))

    health = client.get("/health/").json()

    assert health["mail"] is False
    assert "mail" in health["failing"]
    assert health["detail"]["mail"] == (
        "1 notification e-mail failed after every retry in the last 24 h"
    )


@pytest.mark.django_db(transaction=True)
def test_health_forgets_a_mail_failure_after_a_day(client, icc):
    tell(icc)
    Notification.objects.update(email_failed_at=timezone.now() - datetime.timedelta(hours=25))

    health = client.get("/health/").json()

    assert health["mail"] is True
    assert "mail" not in health["failing"]
    assert health["detail"]["mail"] == "no notification e-mail failed in the last 24 h"
