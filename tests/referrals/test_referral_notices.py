"""Each referral event tells the people it concerns, and nobody else: the receiving
organisation's staff of a referral received or withdrawn; the referrer of one accepted,
declined or marked at the limit of remit. Nobody who cannot see the referral is told."""

import datetime

import pytest
from django.urls import reverse

from accounts.models import Notification, NotificationKind, Role
from referrals.selectors import referrals_visible_to
from referrals.services import referral_create
from tests.factories import ConsentFactory, ReferralFactory, UserFactory

pytestmark = pytest.mark.django_db

K = NotificationKind


@pytest.fixture
def everyone(
    icc, commissioner, red_cross_lead, red_cross_worker, other_lead, administrator,
    western_people, community_trust,
):  # fmt: skip
    """Everyone who might be told, with a colleague of the referrer in the same team."""
    colleague = UserFactory(role=Role.ICC, organisation=community_trust, full_name="Ian Cole")
    return [
        icc, colleague, commissioner, red_cross_lead, red_cross_worker, other_lead,
        administrator, *western_people.values(),
    ]  # fmt: skip


@pytest.fixture
def referral(home_from_hospital, patient, icc):
    return ReferralFactory(service=home_from_hospital, patient=patient, referrer=icc)


def told(kind=None) -> dict:
    """Who was told what: {person: [title, ...]}."""
    notifications = Notification.objects.select_related("recipient").order_by("pk")
    if kind is not None:
        notifications = notifications.filter(kind=kind)
    result: dict = {}
    for notification in notifications:
        result.setdefault(notification.recipient, []).append(notification.title)
    return result


def assert_all_can_see(referral):
    for notification in Notification.objects.select_related("recipient"):
        assert referrals_visible_to(notification.recipient).filter(pk=referral.pk).exists()
        assert notification.link == reverse("referral_detail", args=[referral.pk])


def act(client, person, referral, action, **fields):
    client.force_login(person)
    referral.refresh_from_db()
    response = client.post(
        reverse("referral_action", args=[referral.pk, action]),
        {"version": referral.version, **fields},
    )
    assert response.status_code == 302, response.content.decode()[:500]


def test_a_referral_received_tells_the_receiving_organisations_staff_only(
    everyone, patient, icc, home_from_hospital, red_cross_lead, red_cross_worker
):
    ConsentFactory(patient=patient)

    referral = referral_create(
        patient=patient, referrer=icc, source="icc", destination_sector="voluntary",
        organisation=home_from_hospital.organisation, service=home_from_hospital,
        needs=["shopping"], activities=["shopping"], urgency="soon", lawful_basis="consent",
    )  # fmt: skip

    title = f"New referral {referral.reference} from Eastern Community Health Services"
    assert told() == {red_cross_lead: [title], red_cross_worker: [title]}
    assert set(Notification.objects.values_list("kind", flat=True)) == {K.REFERRAL_RECEIVED}
    assert_all_can_see(referral)


def test_a_referral_to_a_statutory_organisation_tells_nobody_there(
    everyone, patient, icc, social_care
):
    # Its staff have no VSO Care role that sees it; the referrer's team follows it up.
    UserFactory(role=Role.ICC, organisation=social_care)

    referral_create(
        patient=patient, referrer=icc, source="icc", destination_sector="social_care",
        organisation=social_care, service=None, needs=["home_help"], activities=[],
        urgency="soon",
    )  # fmt: skip

    assert told() == {}


def test_accepted_tells_the_referrer_only(client, everyone, referral, icc, red_cross_lead):
    act(client, red_cross_lead, referral, "accept")

    assert told() == {
        icc: [f"{referral.reference} was accepted by Eastern Red Cross Home from Hospital"]
    }
    assert Notification.objects.get().kind == K.REFERRAL_ACCEPTED
    assert_all_can_see(referral)


def test_declined_tells_the_referrer_only(client, everyone, referral, icc, red_cross_worker):
    act(client, red_cross_worker, referral, "decline", reason="No volunteers this week.")

    assert told() == {
        icc: [f"{referral.reference} was declined by Eastern Red Cross Home from Hospital"]
    }
    # The reason is on the referral's page, behind sign-in; not in the notification.
    assert "volunteers" not in Notification.objects.get().title


def test_withdrawn_tells_the_receiving_organisations_staff_only(
    client, everyone, referral, icc, red_cross_lead, red_cross_worker
):
    act(client, icc, referral, "withdraw", reason="She has gone to her daughter's.")

    title = f"{referral.reference} was withdrawn by Eastern Community Health Services"
    assert told() == {red_cross_lead: [title], red_cross_worker: [title]}
    assert_all_can_see(referral)


def test_marked_at_the_limit_of_remit_tells_the_referrer_only(
    client, everyone, referral, icc, red_cross_lead
):
    client.force_login(red_cross_lead)
    response = client.post(
        reverse("referral_remit_mark", args=[referral.pk]),
        {"clause": "urgency", "note": "Our volunteer is at the limit of their role."},
    )

    assert response.status_code == 302
    assert told() == {
        icc: [
            f"{referral.reference} was marked at the limit of remit by "
            "Eastern Red Cross Home from Hospital"
        ]
    }
    assert Notification.objects.get().kind == K.REFERRAL_AT_REMIT_LIMIT


def test_whoever_acts_on_their_own_referral_is_not_told_about_it(
    client, everyone, patient, icc, social_care
):
    # A statutory referral is accepted by the referrer's own team, in VSO Care.
    referral = ReferralFactory(
        patient=patient, referrer=icc, organisation=social_care, service=None,
        destination_sector="social_care",
    )  # fmt: skip

    act(client, icc, referral, "accept")

    assert told() == {}


def test_a_referrer_who_has_left_is_not_told(client, everyone, referral, icc, red_cross_lead):
    icc.is_active = False
    icc.save()

    act(client, red_cross_lead, referral, "decline", reason="Outside our area.")

    assert told() == {}


def test_a_referral_event_is_emailed_once_with_the_reference_only(
    client, everyone, referral, icc, red_cross_lead, mailoutbox,
    django_capture_on_commit_callbacks, settings,
):  # fmt: skip
    from vsocare.celery import app

    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            act(client, red_cross_lead, referral, "decline", reason="No volunteers.")
    finally:
        app.conf.task_always_eager = False

    [message] = mailoutbox
    assert message.to == [icc.email]
    assert message.subject == (
        f"VSO Care: {referral.reference} was declined by Eastern Red Cross Home from Hospital"
    )
    assert f"/referrals/{referral.pk}/" in message.body
    patient = referral.patient
    for identifier in (patient.family_name, patient.nhs_number, patient.postcode, "1938"):
        assert identifier not in message.body


def test_the_referrer_opens_the_notification_and_lands_on_the_referral(
    client, everyone, referral, icc, red_cross_lead
):
    act(client, red_cross_lead, referral, "accept")
    client.force_login(icc)

    listed = client.get(reverse("notification_list")).content.decode()
    notification = Notification.objects.get()
    response = client.get(reverse("notification_open", args=[notification.pk]), follow=True)

    assert referral.reference in listed
    assert response.redirect_chain[-1][0] == reverse("referral_detail", args=[referral.pk])
    assert response.status_code == 200
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_nothing_told_is_older_than_the_event(referral, client, red_cross_lead, everyone):
    act(client, red_cross_lead, referral, "accept")

    notification = Notification.objects.get()
    referral.refresh_from_db()
    assert abs(notification.created_at - referral.decided_at) < datetime.timedelta(seconds=5)
