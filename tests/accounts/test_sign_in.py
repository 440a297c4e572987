import re
from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.urls import reverse

from accounts.models import Role
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

ROLE_HOME_PATHS = {
    Role.ICC: "/referrer/",
    Role.COMMISSIONER: "/commissioner/",
    Role.VSO_LEAD: "/vso/",
    Role.VSO_WORKER: "/vso/worker/",
    Role.ADMINISTRATOR: "/administrator/",
}
WRONG = "The email address or password is not right"


def sign_in(client, email, password=TEST_PASSWORD, **extra):
    return client.post(
        reverse("login"), {"username": email, "password": password, **extra}, follow=True
    )


@pytest.mark.parametrize("role", list(ROLE_HOME_PATHS))
def test_each_role_lands_on_its_own_home_page(client, user_for_role, role):
    user = user_for_role(role)

    response = sign_in(client, user.email)

    assert response.redirect_chain[-1][0] == ROLE_HOME_PATHS[role]
    assert response.status_code == 200
    assert response.wsgi_request.user == user


def test_it_accepts_the_email_in_any_case(client, icc):
    response = sign_in(client, "IVY.Carter@Example.org")

    assert response.wsgi_request.user == icc


def test_it_follows_next_to_the_page_asked_for(client, icc):
    response = sign_in(client, icc.email, next="/organisations/")

    assert response.redirect_chain[-1][0] == "/organisations/"


def test_a_wrong_password_gets_a_plain_message_and_no_session(client, icc):
    response = sign_in(client, icc.email, "not-the-password")

    assert WRONG in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated


def test_an_unknown_email_gets_exactly_the_same_message(client, icc):
    def page_for(email):
        html = sign_in(client, email, "not-the-password").content.decode()
        return re.sub(r'name="csrfmiddlewaretoken" value="\w+"', "", html).replace(email, "X")

    known, unknown = page_for(icc.email), page_for("nobody@example.org")

    assert WRONG in unknown
    # Nothing on the page may tell the two apart, so the email cannot be probed.
    assert known == unknown


def test_an_inactive_account_gets_the_same_message(client, icc):
    icc.is_active = False
    icc.save()

    response = sign_in(client, icc.email)

    assert WRONG in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated


def test_it_locks_the_account_after_five_failures_even_with_the_right_password(client, icc):
    for _ in range(5):
        sign_in(client, icc.email, "not-the-password")

    response = sign_in(client, icc.email)

    assert response.status_code == 429
    assert "Too many sign-in attempts" in response.content.decode()
    assert "Try again in 15 minutes" in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated


def test_failures_typed_in_other_capitals_count_against_the_same_account(client, icc):
    for email in ["IVY.CARTER@example.org", "ivy.carter@EXAMPLE.org", "Ivy.Carter@example.org"]:
        sign_in(client, email, "nope-nope-nope")
    sign_in(client, icc.email, "nope-nope-nope")
    sign_in(client, icc.email.upper(), "nope-nope-nope")

    assert sign_in(client, icc.email).status_code == 429


def test_the_lock_lifts_after_the_cool_off(client, icc):
    with time_machine.travel("2026-11-23 09:00 +0000", tick=False) as traveller:
        for _ in range(5):
            sign_in(client, icc.email, "not-the-password")
        assert sign_in(client, icc.email).status_code == 429

        traveller.shift(16 * 60)
        response = sign_in(client, icc.email)

    assert response.wsgi_request.user == icc


def test_a_success_clears_earlier_failures(client, icc):
    for _ in range(4):
        sign_in(client, icc.email, "not-the-password")
    sign_in(client, icc.email)
    client.post(reverse("logout"))

    for _ in range(4):
        sign_in(client, icc.email, "not-the-password")

    assert sign_in(client, icc.email).wsgi_request.user == icc
    assert not AccessAttempt.objects.filter(failures_since_start__gte=5).exists()


def test_sign_out_ends_the_session(client, icc):
    sign_in(client, icc.email)

    response = client.post(reverse("logout"), follow=True)

    assert response.redirect_chain[-1][0] == reverse("login")
    assert client.get(reverse("icc_home")).status_code == 302


def test_the_session_expires_after_thirty_idle_minutes(client, icc):
    with time_machine.travel("2026-11-23 09:00 +0000", tick=False) as traveller:
        sign_in(client, icc.email)
        traveller.shift(29 * 60)
        assert client.get(reverse("icc_home")).status_code == 200

        # Activity renewed the session: 29 more minutes are still within the limit.
        traveller.shift(29 * 60)
        assert client.get(reverse("icc_home")).status_code == 200

        traveller.shift(31 * 60)
        response = client.get(reverse("icc_home"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_signed_in_user_visiting_sign_in_goes_home(client, icc):
    client.force_login(icc)

    response = client.get(reverse("login"))

    assert response.status_code == 302


def test_activity_renews_the_session_at_most_once_a_minute(client, icc):
    with time_machine.travel("2026-11-23 09:00 +0000", tick=False) as traveller:
        sign_in(client, icc.email)
        client.get(reverse("icc_home"))
        session = Session.objects.get()
        first_expiry = session.expire_date

        traveller.shift(30)
        client.get(reverse("icc_home"))
        assert Session.objects.get().expire_date == first_expiry  # no write for this click

        traveller.shift(45)
        client.get(reverse("icc_home"))
        assert Session.objects.get().expire_date == first_expiry + timedelta(seconds=75)
