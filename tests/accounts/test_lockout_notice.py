"""A locked-out account reaches its system's administrators (#12): they are told once an hour
at most, see who is locked out now on the user list, and may lift it sooner."""

import pytest
import time_machine
from axes.models import AccessAttempt
from django.urls import reverse

from accounts.models import Notification, NotificationKind, Role
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def sign_in(client, email, password=TEST_PASSWORD):
    return client.post(reverse("login"), {"username": email, "password": password}, follow=True)


def lock_out(client, email, attempts=5):
    for _ in range(attempts):
        sign_in(client, email, "not-the-password")


def told(kind=NotificationKind.ACCOUNT_LOCKED):
    return Notification.objects.filter(kind=kind)


@pytest.fixture
def second_administrator(community_trust):
    return UserFactory(
        email="otto.admin@example.org", role=Role.ADMINISTRATOR, organisation=community_trust
    )


def test_the_systems_administrators_are_told_when_an_account_locks(
    client, icc, administrator, second_administrator, western_people
):
    lock_out(client, icc.email.upper())

    notices = told()
    assert sorted(notices.values_list("recipient", flat=True)) == sorted(
        [administrator.pk, second_administrator.pk]
    )  # not Western's administrator, not the person locked out
    notice = notices.first()
    assert notice.title == f"{icc.full_name}'s account is locked after 5 failed sign-ins"
    assert notice.link == "/users/?locked=1"


def test_fewer_failures_than_the_limit_tell_nobody(client, icc, administrator):
    lock_out(client, icc.email, attempts=4)

    assert not told().exists()


def test_attempts_while_locked_tell_nobody_again_within_the_hour(
    client, icc, administrator, mailoutbox
):
    with time_machine.travel("2026-11-23 09:05 +0000", tick=False) as traveller:
        lock_out(client, icc.email, attempts=8)
        assert told().count() == 1
        traveller.shift(20 * 60)  # the lock lifted; locked again, still within the hour
        lock_out(client, icc.email)
        assert told().count() == 1
        traveller.shift(60 * 60)
        lock_out(client, icc.email)

    assert told().count() == 2


def test_guessing_at_an_address_nobody_has_tells_nobody(client, administrator):
    lock_out(client, "nobody.here@example.org")

    assert not told().exists()


def test_a_locked_out_administrator_is_not_told_of_themselves(
    client, administrator, second_administrator
):
    lock_out(client, administrator.email)

    assert list(told().values_list("recipient", flat=True)) == [second_administrator.pk]


def test_the_user_list_shows_who_is_locked_out_and_unlocks_them(
    client, icc, commissioner, administrator
):
    lock_out(client, icc.email)
    assert sign_in(client, icc.email).status_code == 429
    client.force_login(administrator)

    locked = client.get(reverse("user_list"), {"locked": "1"})

    assert [person.pk for person, _ in locked.context["rows"]] == [icc.pk]
    assert "Locked until" in locked.content.decode()
    everyone = client.get(reverse("user_list")).context["rows"]
    assert {person.pk: until is not None for person, until in everyone}[commissioner.pk] is False

    response = client.post(reverse("user_unlock", args=[icc.pk]), follow=True)

    assert f"{icc.full_name} can sign in again." in response.content.decode()
    assert not AccessAttempt.objects.exists()
    client.logout()
    assert sign_in(client, icc.email).wsgi_request.user == icc


def test_the_user_list_costs_the_same_queries_however_many_are_locked(
    client, administrator, django_assert_max_num_queries, community_trust
):
    people = UserFactory.create_batch(6, organisation=community_trust)
    lock_out(client, people[0].email)
    client.force_login(administrator)
    with django_assert_max_num_queries(12) as one:
        client.get(reverse("user_list"))
        queries = len(one)
    client.logout()
    for person in people[1:]:
        lock_out(client, person.email)
    client.force_login(administrator)

    with django_assert_max_num_queries(queries):
        response = client.get(reverse("user_list"))
    assert response.content.decode().count('data-testid="locked"') == 6


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ADMINISTRATOR])
def test_only_an_administrator_may_unlock(client, user_for_role, icc, role):
    lock_out(client, icc.email)
    client.force_login(user_for_role(role))

    response = client.post(reverse("user_unlock", args=[icc.pk]))

    assert response.status_code in (403, 404)
    assert AccessAttempt.objects.exists()


def test_another_systems_administrator_cannot_unlock(client, icc, western_people):
    lock_out(client, icc.email)
    client.force_login(western_people[Role.ADMINISTRATOR])

    assert client.post(reverse("user_unlock", args=[icc.pk])).status_code == 404
    assert AccessAttempt.objects.exists()
