"""Two-factor sign-in: after the password, a code from an authenticator app (TOTP), set up on the
first sign-in, throttled when wrong, required by the admin too, and reset by an administrator of
the person's own system. Off in development and the demo; on by default in production."""

import re
import secrets
from base64 import b32encode

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Role
from accounts.services import two_factor_reset
from tests.factories import TEST_PASSWORD
from tests.vsocare.test_settings import manage

pytestmark = pytest.mark.django_db

ENROL = "/sign-in/two-factor/set-up/"
VERIFY = "/sign-in/two-factor/"
NOW = "2026-11-23 09:00 +0000"


@pytest.fixture(autouse=True)
def clock(request):
    """A stopped clock for the pages: the codes change every 30 seconds, and a test moves it on
    itself. Not for the settings tests, whose child processes a stopped clock would slow."""
    if "client" not in request.fixturenames:
        yield None
        return
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def required(settings):
    settings.TWO_FACTOR_REQUIRED = True


def code_for(device, *, steps_on=0):
    """The code the person's authenticator app shows now (or steps_on periods later)."""
    device.refresh_from_db()
    return f"{totp(device.bin_key, t0=device.t0 - steps_on * device.step):06d}"


def wrong_code_for(device):
    # Not the code of this period, nor of the one before or after, which are accepted too.
    near = {code_for(device, steps_on=step) for step in (-1, 0, 1)}
    return next(code for code in (f"{n:06d}" for n in range(1, 10)) if code not in near)


def authenticator_of(user):
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def sign_in(client, user, **extra):
    return client.post(
        reverse("login"), {"username": user.email, "password": TEST_PASSWORD, **extra}, follow=True
    )


def sign_in_fully(client, user):
    """Signed in with the password and the code: the session django-otp's login leaves."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or authenticator_of(user)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


def field_errors(response):
    return response.context["form"].errors.get("token", [])


# --- Setting up an authenticator at the first sign-in


def test_after_the_password_a_person_with_no_authenticator_is_sent_to_set_one_up(
    client, required, icc
):
    response = sign_in(client, icc)

    assert response.redirect_chain[-1][0] == f"{ENROL}?next=/referrer/"
    device = TOTPDevice.objects.get(user=icc)
    assert not device.confirmed
    page = response.content.decode()
    # The QR code is drawn into the page, so the key never leaves the server in a request.
    assert re.search(r'<svg [^>]*role="img"[^>]*aria-label="QR code', page)
    assert "<img" not in page.split('id="main-content"')[1]
    key = b32encode(device.bin_key).decode()
    shown = re.search(r'data-testid="two-factor-key">([A-Z2-7 ]+)<', page).group(1)
    assert shown.split(" ") == [key[i : i + 4] for i in range(0, len(key), 4)]
    assert 'autocomplete="one-time-code"' in page
    assert 'inputmode="numeric"' in page


def test_the_set_up_page_keeps_the_same_key_when_opened_again(client, required, icc):
    sign_in(client, icc)
    first = TOTPDevice.objects.get(user=icc).key

    client.get(ENROL)

    assert list(TOTPDevice.objects.filter(user=icc).values_list("key", flat=True)) == [first]


def test_set_up_refuses_a_wrong_code_beside_the_field_and_stays_unverified(client, required, icc):
    sign_in(client, icc)
    device = TOTPDevice.objects.get(user=icc)

    response = client.post(ENROL, {"token": wrong_code_for(device), "next": "/"})

    assert response.status_code == 200
    assert field_errors(response) == [
        "That code is not right. Enter the 6-digit code your authenticator app shows now."
    ]
    device.refresh_from_db()
    assert not device.confirmed
    assert client.get(reverse("icc_home"))["Location"].startswith(ENROL)


def test_set_up_with_the_right_code_signs_in_and_goes_to_the_page_asked_for(client, required, icc):
    sign_in(client, icc, next="/organisations/")
    device = TOTPDevice.objects.get(user=icc)

    response = client.post(
        ENROL, {"token": code_for(device), "next": "/organisations/"}, follow=True
    )

    assert response.redirect_chain[-1][0] == "/organisations/"
    assert response.status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("icc_home")).status_code == 200
    # Set up once: the set-up page is not shown again.
    assert client.get(ENROL).status_code == 302


def test_a_code_typed_with_a_space_is_accepted(client, required, icc):
    sign_in(client, icc)
    device = TOTPDevice.objects.get(user=icc)
    code = code_for(device)

    response = client.post(ENROL, {"token": f" {code[:3]} {code[3:]} "})

    assert response.status_code == 302
    assert client.get(reverse("icc_home")).status_code == 200


def test_a_code_that_is_not_six_digits_is_refused_and_not_counted(client, required, icc):
    device = authenticator_of(icc)
    sign_in(client, icc)

    response = client.post(VERIFY, {"token": "12ab"})

    assert field_errors(response) == ["Enter the 6 digits your authenticator app shows."]
    device.refresh_from_db()
    assert device.throttling_failure_count == 0


# --- The code at every sign-in


def test_a_person_with_an_authenticator_is_asked_for_its_code_before_any_page(
    client, required, icc
):
    device = authenticator_of(icc)

    response = sign_in(client, icc, next="/referrals/")

    assert response.redirect_chain[-1][0] == f"{VERIFY}?next=/referrals/"
    for path in ("/", "/referrer/", "/referrals/", "/account/password/", "/directory/"):
        assert client.get(path)["Location"] == f"{VERIFY}?next={path}"
    # The menu would lead nowhere else, so it is not shown.
    assert 'href="/referrals/"' not in response.content.decode()

    response = client.post(VERIFY, {"token": code_for(device), "next": "/referrals/"}, follow=True)

    assert response.redirect_chain[-1][0] == "/referrals/"
    assert response.status_code == 200
    assert client.get("/referrer/").status_code == 200
    assert 'href="/referrals/"' in client.get("/referrer/").content.decode()


def test_a_wrong_code_is_refused_beside_the_field(client, required, icc):
    device = authenticator_of(icc)
    sign_in(client, icc)

    response = client.post(VERIFY, {"token": wrong_code_for(device)})

    assert response.status_code == 200
    assert field_errors(response) == [
        "That code is not right. Enter the 6-digit code your authenticator app shows now."
    ]
    assert client.get("/referrer/").status_code == 302


def test_a_code_cannot_be_used_twice(client, required, icc):
    device = authenticator_of(icc)
    sign_in(client, icc)
    code = code_for(device)
    client.post(VERIFY, {"token": code})
    client.post(reverse("logout"))
    sign_in(client, icc)

    response = client.post(VERIFY, {"token": code})

    assert response.status_code == 200
    assert field_errors(response)


def test_wrong_codes_are_throttled_and_the_page_says_when_to_try_again(
    client, clock, required, icc
):
    device = authenticator_of(icc)
    sign_in(client, icc)
    for _ in range(4):
        client.post(VERIFY, {"token": wrong_code_for(device)})
        clock.shift(60)

    fifth = client.post(VERIFY, {"token": wrong_code_for(device)})
    # Even the right code is refused until the wait is over.
    too_soon = client.post(VERIFY, {"token": code_for(device)})
    clock.shift(17)
    after_the_wait = client.post(VERIFY, {"token": code_for(device)})

    assert field_errors(fifth) == [
        "That code is not right. Enter the 6-digit code your authenticator app shows now. "
        "Wait 16 seconds before the next try."
    ]
    assert field_errors(too_soon) == ["Too many wrong codes in a row. Try again in 16 seconds."]
    assert after_the_wait.status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == 0


def test_the_wait_is_said_in_minutes_once_it_is_long(client, required, icc):
    device = authenticator_of(icc)
    device.throttling_failure_count = 9
    device.throttling_failure_timestamp = device.created_at
    device.save()
    client.force_login(icc)

    response = client.post(VERIFY, {"token": code_for(device)})

    assert field_errors(response) == ["Too many wrong codes in a row. Try again in 5 minutes."]


def test_sign_out_and_health_stay_open_before_the_code(client, monkeypatch, required, icc):
    # /health/'s own checks wait on the real clock, which these tests stop.
    monkeypatch.setattr("vsocare.views.run_checks", lambda **_: {})
    authenticator_of(icc)
    sign_in(client, icc)

    assert client.get(reverse("health")).status_code == 200
    response = client.post(reverse("logout"), follow=True)

    assert response.redirect_chain[-1][0] == reverse("login")
    assert not response.wsgi_request.user.is_authenticated


def test_a_second_authenticator_cannot_be_added_with_the_password_alone(client, required, icc):
    device = authenticator_of(icc)
    sign_in(client, icc)

    opened = client.get(ENROL)
    posted = client.post(ENROL, {"token": "123456"})

    assert opened["Location"] == VERIFY
    assert posted["Location"] == VERIFY
    assert list(TOTPDevice.objects.filter(user=icc)) == [device]


def test_the_password_page_says_when_two_factor_was_set_up(client, required, icc):
    sign_in_fully(client, icc)

    page = client.get(reverse("password_change")).content.decode()

    assert "Two-factor sign-in" in page
    assert "Set up on" in page


# --- The Django admin


def test_the_django_admin_needs_the_code_too(client, required, administrator):
    authenticator_of(administrator)
    client.force_login(administrator)

    for path in ("/admin/", "/admin/accounts/user/"):
        assert client.get(path)["Location"] == f"{VERIFY}?next={path}"
        assert client.post(path, {})["Location"] == f"{VERIFY}?next={path}"


def test_a_verified_administrator_reaches_the_admin(client, required, administrator):
    sign_in_fully(client, administrator)

    assert client.get("/admin/accounts/user/").status_code == 200


def test_the_admin_never_lists_authenticators_or_their_keys(client, administrator):
    sign_in_fully(client, administrator)

    assert client.get("/admin/otp_totp/totpdevice/").status_code == 404
    assert client.get("/admin/otp_totp/").status_code == 404


# --- An administrator resets a lost authenticator


def test_an_administrator_resets_a_lost_authenticator_and_the_person_sets_up_a_new_one(
    client, required, administrator, icc
):
    lost = authenticator_of(icc)
    their_browser = Client()
    sign_in_fully(their_browser, icc)
    sign_in_fully(client, administrator)
    page = reverse("admin:accounts_user_change", args=[icc.pk])
    reset = reverse("admin:accounts_user_two_factor_reset", args=[icc.pk])

    assert reset in client.get(page).content.decode()
    assert "Reset two-factor sign-in" in client.get(reset).content.decode()
    response = client.post(reset, follow=True)

    assert response.redirect_chain[-1][0] == page
    assert f"Two-factor sign-in was reset for {icc.full_name}" in response.content.decode()
    assert not TOTPDevice.objects.filter(pk=lost.pk).exists()
    assert LogEntry.objects.get(object_id=str(icc.pk)).change_message == (
        "Reset two-factor sign-in."
    )
    # Signed out everywhere: the new authenticator is set up after the password, not by
    # whoever held a session.
    assert their_browser.get("/referrer/")["Location"].startswith(reverse("login"))
    assert sign_in(their_browser, icc).redirect_chain[-1][0] == f"{ENROL}?next=/referrer/"


def test_an_administrator_of_another_system_cannot_reset_it(client, required, icc, western_people):
    device = authenticator_of(icc)
    sign_in_fully(client, western_people[Role.ADMINISTRATOR])
    reset = reverse("admin:accounts_user_two_factor_reset", args=[icc.pk])

    assert client.get(reset).status_code == 404
    assert client.post(reset).status_code == 404
    assert TOTPDevice.objects.filter(pk=device.pk).exists()


@pytest.mark.parametrize("who", ["western_administrator", "commissioner", "themselves"])
def test_the_reset_service_refuses_anyone_but_another_administrator_of_the_system(
    who, administrator, commissioner, western_people
):
    device = authenticator_of(administrator)
    by = {
        "western_administrator": western_people[Role.ADMINISTRATOR],
        "commissioner": commissioner,
        "themselves": administrator,
    }[who]

    with pytest.raises(PermissionDenied):
        two_factor_reset(user=administrator, by=by)

    assert TOTPDevice.objects.filter(pk=device.pk).exists()


# --- Switched off (development, the demo, and these tests unless they ask for it)


def test_when_not_required_sign_in_goes_straight_home_with_or_without_an_authenticator(
    client, settings, icc, commissioner
):
    settings.TWO_FACTOR_REQUIRED = False
    authenticator_of(commissioner)

    assert sign_in(client, icc).redirect_chain[-1][0] == "/referrer/"
    assert client.get(ENROL)["Location"] == "/referrer/"
    assert client.get(VERIFY)["Location"] == "/referrer/"
    client.post(reverse("logout"))
    assert sign_in(client, commissioner).redirect_chain[-1][0] == "/commissioner/"
    assert not TOTPDevice.objects.filter(user=icc).exists()


# --- The setting


def diffsettings(**environment):
    return manage("diffsettings", **environment)


def test_production_requires_two_factor_by_default_and_development_does_not():
    production = diffsettings(
        DJANGO_ENV="production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(60),
        DJANGO_ALLOWED_HOSTS="vsocare.example.nhs.uk",
        EMAIL_URL="smtp+tls://smtp.example.nhs.uk:587",
        DEFAULT_FROM_EMAIL="vsocare@example.nhs.uk",
        SITE_URL="https://vsocare.example.nhs.uk",
    )
    development = diffsettings()

    assert "TWO_FACTOR_REQUIRED = True" in production.stdout, production.stderr
    assert "TWO_FACTOR_REQUIRED = False" in development.stdout, development.stderr


def test_a_malformed_two_factor_setting_stops_start_up_and_is_named():
    result = manage("check", TWO_FACTOR_REQUIRED="sometimes")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "TWO_FACTOR_REQUIRED" in result.stderr.splitlines()[-1]


def test_production_with_two_factor_switched_off_is_named_by_the_deployment_checklist():
    result = manage(
        "check",
        "--deploy",
        DJANGO_ENV="production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(60),
        DJANGO_ALLOWED_HOSTS="vsocare.example.nhs.uk",
        EMAIL_URL="smtp+tls://smtp.example.nhs.uk:587",
        DEFAULT_FROM_EMAIL="vsocare@example.nhs.uk",
        SITE_URL="https://vsocare.example.nhs.uk",
        TWO_FACTOR_REQUIRED="false",
    )

    assert "accounts.W001" in result.stderr + result.stdout


def test_a_verified_page_reads_the_authenticator_with_the_user_not_after_it(client, required, icc):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    sign_in_fully(client, icc)
    client.get("/referrals/")  # the first request after signing in saves the session

    with CaptureQueriesContext(connection) as queries:
        assert client.get("/referrals/").status_code == 200

    alone = [q["sql"] for q in queries if q["sql"].startswith('SELECT "otp_totp_totpdevice"')]
    assert alone == []
    assert any("otp_totp_totpdevice" in q["sql"] for q in queries)
    # As without two-factor: the session, the user, the page, its count, the bell, the places.
    assert len(queries) <= 6


@pytest.mark.parametrize("change", ["deleted", "unconfirmed", "someone else's"])
def test_a_session_whose_authenticator_is_no_longer_theirs_is_asked_for_a_code_again(
    client, required, icc, red_cross_lead, change
):
    device = sign_in_fully(client, icc)
    assert client.get("/referrals/").status_code == 200

    if change == "deleted":
        device.delete()
    elif change == "unconfirmed":
        TOTPDevice.objects.filter(pk=device.pk).update(confirmed=False)
    else:
        TOTPDevice.objects.filter(pk=device.pk).update(user=red_cross_lead)

    response = client.get("/referrals/")
    assert response.status_code == 302
    assert response["Location"].startswith((ENROL, VERIFY))
    assert DEVICE_ID_SESSION_KEY not in client.session


@pytest.mark.parametrize("named", ["otp_totp.totpdevice/x", "otp_static.staticdevice/1", "junk"])
def test_a_session_naming_no_device_of_theirs_is_not_verified(client, required, icc, named):
    sign_in_fully(client, icc)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = named
    session.save()

    assert client.get("/referrals/")["Location"] == f"{VERIFY}?next=/referrals/"
