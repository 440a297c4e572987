import pytest

pytestmark = pytest.mark.django_db


def test_health_says_the_database_and_broker_answer(client):
    response = client.get("/health/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": True, "broker": True}


def test_health_reports_a_broker_that_does_not_answer(client, settings, tmp_path):
    settings.CELERY_BROKER_URL = f"redis+socket://{tmp_path}/nothing-listens-here.sock"

    response = client.get("/health/")

    assert response.status_code == 503
    assert response.json() == {"status": "failing", "database": True, "broker": False}


def test_health_needs_no_sign_in_and_is_never_cached(client):
    response = client.get("/health/")

    assert "no-cache" in response["Cache-Control"]
