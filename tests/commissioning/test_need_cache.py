"""The need codes kept in the shared cache (commissioning/need_cache.py, core/kept.py): read
from the database once, then from the cache by every page until an administrator changes a
code; a page never fails for want of the cache."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from redis.exceptions import ConnectionError as RedisConnectionError

from commissioning.forms import flat_need_choices, need_choices
from commissioning.models import Need, NeedGroup
from commissioning.selectors import need_labels
from core import kept

pytestmark = pytest.mark.django_db


def need_reads(queries):
    return [q for q in queries if 'FROM "commissioning_need"' in q["sql"]]


def test_the_codes_are_read_once_then_kept():
    with CaptureQueriesContext(connection) as first:
        labels = need_labels()
    with CaptureQueriesContext(connection) as then:
        assert need_labels() == labels
        choices = need_choices()
        flat = flat_need_choices()

    assert len(need_reads(first)) == 1 and need_reads(then) == []
    assert labels == dict(Need.objects.values_list("code", "label"))
    assert flat == list(Need.objects.values_list("code", "label"))
    grouped = {label for label, _ in choices}
    assert grouped == {NeedGroup(g).label for g in Need.objects.values_list("group", flat=True)}


@pytest.mark.parametrize("change", ["added", "renamed", "deleted"])
def test_a_code_changed_is_read_again_at_once(change):
    need_labels()
    if change == "added":
        Need.objects.create(code="befriending-phone", label="Telephone befriending", group="social")
    elif change == "renamed":
        need = Need.objects.order_by("code").first()
        need.label = "Renamed by an administrator"
        need.save()
    else:
        Need.objects.order_by("code").first().delete()

    assert need_labels() == dict(Need.objects.values_list("code", "label"))


def test_the_directory_and_the_referral_page_read_no_codes_once_kept(
    client, icc, home_from_hospital
):
    from tests.factories import ReferralFactory

    referral = ReferralFactory(service=home_from_hospital, referrer=icc)
    client.force_login(icc)
    client.get(reverse("directory"))
    client.get(reverse("referral_detail", args=[referral.pk]))

    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("directory")).status_code == 200
        assert client.get(reverse("referral_detail", args=[referral.pk])).status_code == 200

    assert need_reads(queries) == []


def test_without_the_cache_the_codes_come_from_the_database(monkeypatch, caplog):
    def refused(*args, **kwargs):
        raise RedisConnectionError("refused")

    monkeypatch.setattr(kept.cache, "get", refused)
    monkeypatch.setattr(kept.cache, "set", refused)

    assert need_labels() == dict(Need.objects.values_list("code", "label"))
    assert "unreachable" in caplog.text
