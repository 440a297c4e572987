"""Sessions read from the shared cache and kept in the database (core/sessions.py): a signed-in
request reads no session from the database; a session ended by the application is ended in the
cache too; without Redis, signing in, reading pages and signing out still work."""

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from redis.exceptions import ConnectionError as RedisConnectionError

from accounts.services import two_factor_reset
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def session_reads(queries):
    return [q for q in queries if 'FROM "django_session"' in q["sql"]]


def sign_in(client, user):
    response = client.post(
        reverse("login"), {"username": user.email, "password": TEST_PASSWORD}, follow=True
    )
    assert response.context["user"] == user
    return response


def test_a_signed_in_request_reads_its_session_from_the_cache(client, icc):
    sign_in(client, icc)
    page = reverse("directory")

    with CaptureQueriesContext(connection) as queries:
        assert client.get(page).status_code == 200

    assert session_reads(queries) == []
    assert Session.objects.filter(pk=client.session.session_key).exists()


def test_a_session_no_longer_kept_is_read_again_from_the_database(client, icc):
    sign_in(client, icc)
    cache.clear()

    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("directory")).status_code == 200

    assert len(session_reads(queries)) == 1
    with CaptureQueriesContext(connection) as again:
        client.get(reverse("directory"))
    assert session_reads(again) == []


def test_a_session_ended_by_a_two_factor_reset_is_ended_in_the_cache_too(icc, administrator):
    their_browser = Client()
    sign_in(their_browser, icc)
    assert their_browser.get(reverse("directory")).status_code == 200

    two_factor_reset(user=icc, by=administrator)

    assert their_browser.get(reverse("directory"))["Location"].startswith(reverse("login"))


def test_signing_out_ends_the_session_in_the_cache(client, icc):
    sign_in(client, icc)
    key = client.session.session_key
    stolen = Client()
    stolen.cookies["sessionid"] = key

    client.post(reverse("logout"))

    assert stolen.get(reverse("directory"))["Location"].startswith(reverse("login"))


@pytest.fixture
def redis_down(monkeypatch):
    def refused(*args, **kwargs):
        raise RedisConnectionError("refused")

    for name in ("get", "set", "delete", "has_key"):
        monkeypatch.setattr(cache, name, refused)


def test_without_redis_people_sign_in_read_pages_and_sign_out(client, icc, redis_down, caplog):
    sign_in(client, icc)
    key = client.session.session_key

    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("directory")).status_code == 200
    assert len(session_reads(queries)) == 1
    response = client.post(reverse("logout"), follow=True)

    assert response.status_code == 200
    assert not Session.objects.filter(pk=key).exists()
    assert "the cache fails" in caplog.text or "unreachable" in caplog.text
