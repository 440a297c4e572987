from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessFailureLog, AccessLog

from accounts.tasks import prune_sign_in_records

pytestmark = pytest.mark.django_db


def record_sign_ins():
    AccessLog.objects.create(username="ivy@example.org", ip_address="127.0.0.1")
    AccessFailureLog.objects.create(username="ivy@example.org", ip_address="127.0.0.1")


def test_it_deletes_sign_in_records_older_than_the_retention_period(settings):
    settings.SIGN_IN_RECORD_DAYS = 365
    with time_machine.travel("2025-11-01 09:00 +0000"):
        record_sign_ins()
    with time_machine.travel("2026-11-01 09:00 +0000"):
        record_sign_ins()

    with time_machine.travel("2026-11-23 09:00 +0000"):
        deleted = prune_sign_in_records()

    assert deleted == 2
    assert AccessLog.objects.count() == 1
    assert AccessFailureLog.objects.count() == 1
    assert AccessLog.objects.get().attempt_time.year == 2026


def test_running_it_twice_deletes_nothing_more(settings):
    with time_machine.travel(timedelta(days=-400)):
        record_sign_ins()
    prune_sign_in_records()

    assert prune_sign_in_records() == 0
