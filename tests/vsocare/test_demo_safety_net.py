"""The demo shows the safety net working at once (#12 point 7): an escalated critical concern, a
statutory wait past its limit with a volunteer covering it, and unread notifications."""

import datetime
from zoneinfo import ZoneInfo

import pytest

from accounts.models import Notification, NotificationKind, Role, User
from referrals.models import OPEN_STATUSES, Concern, ConcernSeverity, Patient, Sector
from referrals.selectors import statutory_waits_past_limit
from vsocare.demo import seed_demo
from vsocare.demo_referral_tables import ICC_EMAIL

pytestmark = pytest.mark.django_db

TODAY = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=ZoneInfo("Europe/London"))


@pytest.fixture
def seeded(time_machine):
    time_machine.move_to(TODAY, tick=False)
    return seed_demo()


def test_a_critical_concern_past_its_deadline_is_escalated_and_its_people_told(seeded):
    concern = Concern.objects.get(severity=ConcernSeverity.CRITICAL)

    assert concern.acknowledged_at is None and concern.acknowledge_by < TODAY
    assert concern.escalated_at is not None
    told = Notification.objects.filter(
        kind=NotificationKind.ESCALATION, event_key=f"concern:{concern.pk}:escalated"
    )
    assert told.filter(recipient__role=Role.COMMISSIONER).exists()
    assert told.filter(recipient=concern.referral.referrer).exists()


def test_an_urgent_social_care_wait_is_past_its_limit_with_a_volunteer_covering(seeded):
    icc = User.objects.get(email=ICC_EMAIL)

    waits = statutory_waits_past_limit(icc).filter(
        destination_sector=Sector.SOCIAL_CARE, urgency="urgent", first_contact_at__isnull=True
    )

    covered = [
        wait
        for wait in waits
        if any(
            cover.status in OPEN_STATUSES and cover.destination_sector == Sector.VOLUNTARY
            for cover in wait.interim_cover.all()
        )
    ]
    assert covered
    assert max(TODAY - wait.referred_at for wait in covered) > datetime.timedelta(days=14)


def test_every_demo_user_who_works_with_referrals_has_unread_notifications(seeded):
    unread = {
        user.role: Notification.objects.filter(recipient=user, read_at__isnull=True).count()
        for user in User.objects.all()
    }

    assert all(unread[role] >= 1 for role in Role.values)
    # Administrators see no referral, so nothing about one is sent to them: theirs is a lock-out.
    assert set(
        Notification.objects.filter(recipient__role=Role.ADMINISTRATOR).values_list(
            "kind", flat=True
        )
    ) == {NotificationKind.ACCOUNT_LOCKED}


def test_the_locked_out_demo_user_can_sign_in_again(seeded, client):
    from axes.models import AccessAttempt

    from vsocare.demo import DEMO_PASSWORD
    from vsocare.demo_safety_net import LOCKED_OUT_EMAIL

    assert not AccessAttempt.objects.exists()
    response = client.post(
        "/sign-in/", {"username": LOCKED_OUT_EMAIL, "password": DEMO_PASSWORD}, follow=True
    )
    assert response.wsgi_request.user.email == LOCKED_OUT_EMAIL


def test_the_notifications_are_of_real_events_and_carry_no_patient(seeded):
    kinds = set(Notification.objects.values_list("kind", flat=True))

    assert {
        NotificationKind.ESCALATION, NotificationKind.REFERRAL_ACCEPTED,
        NotificationKind.REFERRAL_WITHDRAWN, NotificationKind.CONCERN_RAISED,
        NotificationKind.ACCOUNT_LOCKED,
    } <= kinds  # fmt: skip
    identifiers = {
        value
        for patient in Patient.objects.values_list("nhs_number", "family_name", "postcode")
        for value in patient
    }
    for (title,) in Notification.objects.values_list("title"):
        assert not any(identifier in title for identifier in identifiers), title


def test_seeding_again_adds_nothing(seeded):
    counts = (
        Notification.objects.count(),
        Concern.objects.filter(escalated_at__isnull=False).count(),
    )

    again = seed_demo()

    assert again["escalations"] == again["notifications"] == 0
    assert (
        Notification.objects.count(),
        Concern.objects.filter(escalated_at__isnull=False).count(),
    ) == counts
