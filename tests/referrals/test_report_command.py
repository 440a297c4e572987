import csv
import datetime
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.factories import PlaceFactory, ReferralFactory

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("report", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def referrals(icc, home_from_hospital, system):
    north = PlaceFactory(system=system, name="Northbridge")
    when = timezone.make_aware(datetime.datetime(2026, 6, 1, 10))
    ReferralFactory(referrer=icc, service=home_from_hospital, place=north, referred_at=when)
    ReferralFactory(referrer=icc, service=home_from_hospital, place=None, referred_at=when)


def test_referral_split_prints_the_documented_json(referrals):
    data = json.loads(run("referral-split", "--from", "2026-06-01", "--to", "2026-06-30"))

    assert {"from", "to", "total", "by_sector", "percent", "by_place", "by_team", "by_source",
            "by_month"} <= set(data)  # fmt: skip
    assert data["total"] == 2 and data["by_sector"]["voluntary"] == 2


def test_referral_split_for_one_place_as_csv(referrals):
    rows = list(csv.DictReader(io.StringIO(run(
        "referral-split", "--from", "2026-06-01", "--to", "2026-06-30",
        "--place", "northbridge", "--format", "csv",
    ))))  # fmt: skip

    overall = rows[0]
    assert (overall["dimension"], overall["total"], overall["percent_voluntary"]) == (
        "overall",
        "1",
        "100.0",
    )


def test_remit_breaches_prints_the_documented_json(referrals):
    data = json.loads(run("remit-breaches", "--from", "2026-06-01", "--to", "2026-06-30"))

    assert {"from", "to", "total", "by_rule", "by_service"} <= set(data)
    assert set(data["by_rule"]) == {
        "urgency", "excluded_activity", "capacity", "episode_length", "interim_cover",
        "concern_unacknowledged",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-06-30", "--to", "2026-06-01"], "ends before it starts"),
        (["--from", "30/06/2026", "--to", "2026-07-01"], "--from must be a date"),
        (["--from", "2026-06-01", "--to", "2026-06-30", "--place", "Atlantis"], "No place called"),
        (["--from", "2026-06-01", "--to", "9999-12-31"], "--to 9999-12-31: Cannot be after"),
        (["--from", "0001-01-01", "--to", "2026-06-30"], "Cannot be before 1 January 2000"),
    ],
)
def test_bad_input_exits_with_a_message(system, args, message):
    with pytest.raises(CommandError, match=message):
        run("referral-split", *args)


def test_an_unknown_format_is_refused():
    with pytest.raises(CommandError):
        run("referral-split", "--from", "2026-06-01", "--to", "2026-06-30", "--format", "xml")


def test_service_activity_prints_json_and_csv(referrals, home_from_hospital):
    data = json.loads(run("service-activity", "--from", "2026-06-01", "--to", "2026-06-30"))
    rows = list(csv.DictReader(io.StringIO(run(
        "service-activity", "--from", "2026-06-01", "--to", "2026-06-30", "--format", "csv",
    ))))  # fmt: skip

    assert {"services", "off_the_radar", "teams", "concerns"} <= set(data)
    assert [(row["service"], row["received"]) for row in rows] == [("Home from Hospital", "2")]
