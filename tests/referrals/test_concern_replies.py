"""Replies on a concern (#12 point 1, "replied to"): either side writes to the other until it is
resolved, the other side is told once, and nobody else may write or is told."""

import pytest
from django.db import DatabaseError, transaction
from django.urls import reverse

from accounts.models import Notification
from referrals.models import ConcernReply
from tests.referrals.test_concerns import raise_concern

pytestmark = pytest.mark.django_db


@pytest.fixture
def concern(cover, red_cross_worker, social_care):
    return raise_concern(cover, red_cross_worker, social_care)


def reply(client, concern, text="The visit is booked for Thursday."):
    return client.post(reverse("concern_reply", args=[concern.pk]), {"text": text}, follow=True)


def test_the_addressed_organisation_replies_and_the_raiser_is_told_once(
    client, concern, social_care_officer, red_cross_worker, icc
):
    client.force_login(social_care_officer)

    response = reply(client, concern)

    assert ConcernReply.objects.get().author == social_care_officer
    told = Notification.objects.filter(kind="concern_replied")
    assert [n.recipient for n in told] == [red_cross_worker]
    assert told.get().title == (
        f"A reply on the concern on {concern.referral.reference} from {concern.addressed_to.name}"
    )
    client.force_login(icc)
    page = client.get(reverse("referral_detail", args=[concern.referral_id])).content.decode()
    assert "The visit is booked for Thursday." in page
    assert response.status_code == 200


def test_the_raiser_replies_and_the_addressed_organisation_is_told(
    client, concern, social_care_officer, red_cross_worker
):
    client.force_login(red_cross_worker)

    reply(client, concern, "She fell again last night.")

    told = Notification.objects.filter(kind="concern_replied")
    assert [n.recipient for n in told] == [social_care_officer]


def test_an_empty_reply_is_refused_and_nothing_is_written(client, concern, social_care_officer):
    client.force_login(social_care_officer)

    response = reply(client, concern, "   ")

    assert "Write the reply." in response.content.decode()
    assert not ConcernReply.objects.exists()


def test_nobody_outside_the_two_sides_may_reply(client, concern, other_lead, commissioner):
    for outsider in (other_lead, commissioner):
        client.force_login(outsider)
        assert reply(client, concern).status_code in (403, 404)
    assert not ConcernReply.objects.exists()


def test_a_resolved_concern_takes_no_reply(client, concern, social_care_officer):
    concern.resolved_at = concern.raised_at
    concern.resolved_by = social_care_officer
    concern.resolution = "Visited."
    concern.save()
    client.force_login(social_care_officer)

    response = reply(client, concern)

    assert "resolved" in response.content.decode()
    assert not ConcernReply.objects.exists()


def test_a_reply_is_never_changed_or_deleted(client, concern, social_care_officer):
    client.force_login(social_care_officer)
    reply(client, concern)
    written = ConcernReply.objects.get()

    with pytest.raises(DatabaseError), transaction.atomic():
        ConcernReply.objects.filter(pk=written.pk).update(text="Never said that.")
    with pytest.raises(DatabaseError), transaction.atomic():
        written.delete()


def test_a_reply_with_a_mistake_sent_from_the_list_comes_back_open_on_the_list(
    client, concern, social_care_officer
):
    client.force_login(social_care_officer)
    too_long = "The visit is booked. " * 100  # 2,100 characters

    response = client.post(
        reverse("concern_reply", args=[concern.pk]),
        {"text": too_long, "next": reverse("concern_list") + "?state=open"},
    )

    assert response.status_code == 400
    assert response.templates[0].name == "referrals/concern_list.html"
    page = response.content.decode()
    assert "Keep the reply to 2000 characters." in page
    assert too_long.strip() in page  # what was typed is kept
    assert f'id="reply-{concern.pk}-text"' in page
    assert not ConcernReply.objects.exists()
