"""Settings refuse to start on a missing or malformed variable, naming it."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)


def manage(*args: str, **overrides: str) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "SESSION_", "AXES_", "CELERY_", "HEALTH_"))
    }
    # Point at the servers this run already uses, so the child starts nothing of its own.
    env.update(DATABASE_URL=settings.DATABASE_URL, REDIS_URL=settings.REDIS_URL)
    env.update(overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DJANGO_DEBUG", "banana"),
        ("DJANGO_ENV", "staging"),
        ("SESSION_IDLE_MINUTES", "half an hour"),
        ("SESSION_IDLE_MINUTES", "0"),
        ("AXES_FAILURE_LIMIT", "many"),
        ("DATABASE_URL", "mysql://root@localhost/vsocare"),
        ("REDIS_URL", "localhost:6379"),
        ("DJANGO_SECRET_KEY", "too-short"),
        ("REDIS_URL", "unix:///tmp/redis.sock"),
        ("LOG_LEVEL", "CHATTY"),
        ("EMAIL_URL", "pigeon://loft"),
        ("SITE_URL", "vsocare.example.nhs.uk"),
        ("EMAIL_TIMEOUT", "a while"),
        ("DJANGO_CSRF_TRUSTED_ORIGINS", "vsocare.example.nhs.uk"),
        ("CELERY_TASK_SOFT_TIME_LIMIT", "5000"),
        ("CELERY_BROKER_VISIBILITY_TIMEOUT", "600"),
        ("HEALTH_TIMEOUT_SECONDS", "0"),
        ("HEALTH_BEAT_STALE_SECONDS", "soon"),
        ("DATABASE_REPLICA_URL", "replica.example.nhs.uk:5432/vsocare"),
        ("DATABASE_REPLICA_PIN_SECONDS", "0"),
    ],
)
def test_a_malformed_variable_stops_start_up_and_is_named(variable, value):
    result = manage("check", **{variable: value})

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr.splitlines()[-1]


# What production needs beside DJANGO_ENV, DATABASE_URL and REDIS_URL.
def production_variables() -> dict[str, str]:
    return {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
        "DJANGO_ALLOWED_HOSTS": "vsocare.example.nhs.uk",
        "EMAIL_URL": "smtp+tls://smtp.example.nhs.uk:587",
        "DEFAULT_FROM_EMAIL": "VSO Care <vsocare@example.nhs.uk>",
        "SITE_URL": "https://vsocare.example.nhs.uk",
    }


@pytest.mark.parametrize(
    "variable",
    [
        "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "EMAIL_URL",
        "DEFAULT_FROM_EMAIL", "SITE_URL",
    ],
)  # fmt: skip
def test_production_refuses_to_start_without_its_required_variables(variable):
    required = production_variables()
    required[variable] = ""

    result = manage("check", DJANGO_ENV="production", **required)

    assert result.returncode != 0
    assert variable in result.stderr.splitlines()[-1]


def test_production_refuses_debug():
    result = manage("check", DJANGO_ENV="production", DJANGO_DEBUG="true", **production_variables())

    assert result.returncode != 0
    assert "DJANGO_DEBUG" in result.stderr.splitlines()[-1]


def test_production_passes_the_deployment_checklist_with_no_warnings():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_ENV="production",
        **production_variables(),
    )

    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


def test_production_refuses_a_site_url_without_https():
    variables = {**production_variables(), "SITE_URL": "http://vsocare.example.nhs.uk"}

    result = manage("check", DJANGO_ENV="production", **variables)

    assert result.returncode != 0
    assert "SITE_URL" in result.stderr.splitlines()[-1]


def test_development_without_the_production_settings_fails_the_deployment_checklist():
    # Proves the check above can fail: the development defaults are not production-safe.
    result = manage("check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode != 0


@pytest.mark.django_db
def test_every_connection_turns_jit_off_and_prices_random_reads_for_ssd():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('jit'), current_setting('random_page_cost'), "
            "current_setting('pgtrigger.ignore')"
        )
        assert cursor.fetchone() == ("off", "1.1", "{}")


# --- The cache: shared by every process, and never at the broker's expense


def test_the_cache_is_on_the_apps_redis_and_shared_with_another_process():
    from django.core.cache import cache

    assert settings.CACHES["default"]["BACKEND"] == "vsocare.cache.PrefixedRedisCache"
    cache.set("shared-check", "kept by the test process", 60)

    result = manage(
        "shell", "-c", "from django.core.cache import cache; print(cache.get('shared-check'))"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "kept by the test process"


def test_clearing_the_cache_leaves_the_brokers_queues_alone():
    from django.core.cache import cache

    from vsocare.health import redis_client

    broker = redis_client(url=settings.CELERY_BROKER_URL, timeout=2)
    broker.rpush("settings-test-queue", "a task waiting to run")
    cache.set("dropped", "by clear()", 60)
    try:
        cache.clear()

        assert cache.get("dropped") is None
        assert broker.lrange("settings-test-queue", 0, -1) == [b"a task waiting to run"]
    finally:
        broker.delete("settings-test-queue")


@pytest.mark.parametrize(
    ("broker_url", "cache_url"),
    [
        ("redis://127.0.0.1:6379/3", "redis://127.0.0.1:6379/3"),
        ("redis+socket:///srv/var/redis.sock", "unix:///srv/var/redis.sock?db=0"),
        ("redis+socket:///srv/var/redis.sock?virtual_host=2", "unix:///srv/var/redis.sock?db=2"),
    ],
)
def test_the_cache_uses_the_brokers_redis_and_database(broker_url, cache_url):
    from vsocare.cache import redis_py_url

    assert redis_py_url(broker_url) == cache_url


def test_a_replica_url_adds_a_replica_alias_that_tests_read_through_the_test_database():
    result = manage(
        "shell",
        "--verbosity",
        "0",
        "-c",
        "import json; from django.conf import settings as s; r = s.DATABASES['replica']; "
        "print(json.dumps([r['HOST'], r['NAME'], r['TEST'], r['OPTIONS'], s.DATABASE_ROUTERS]))",
        DATABASE_REPLICA_URL="postgresql://reader@replica.example.nhs.uk:5432/vsocare",
    )

    assert result.returncode == 0, result.stderr
    host, name, test, options, routers = json.loads(result.stdout.splitlines()[-1])
    assert (host, name, test["MIRROR"]) == ("replica.example.nhs.uk", "vsocare", "default")
    assert options == {"options": settings.DATABASES["default"]["OPTIONS"]["options"]}
    assert routers == ["core.replica.ReplicaRouter"]


def test_without_a_replica_url_there_is_only_the_primary():
    assert list(settings.DATABASES) == ["default"]
