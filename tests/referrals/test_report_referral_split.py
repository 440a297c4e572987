import datetime

import pytest
from django.utils import timezone

from referrals.models import Referral
from referrals.reports.split import referral_split
from tests.factories import PlaceFactory, ReferralFactory, SystemFactory

pytestmark = pytest.mark.django_db


def at(day: str, hour: int = 10) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.fromisoformat(day).replace(hour=hour))


@pytest.fixture
def destinations(system, red_cross, home_from_hospital, social_care, community_trust):
    return {
        "health": {"organisation": community_trust, "service": None},
        "social_care": {"organisation": social_care, "service": None},
        "voluntary": {"organisation": red_cross, "service": home_from_hospital},
    }


def bulk(template: Referral, destinations, counts: dict, when: datetime.datetime, **extra):
    rows = []
    for sector, count in counts.items():
        for _ in range(count):
            rows.append(
                Referral(
                    patient=template.patient,
                    referrer=template.referrer,
                    referrer_organisation=template.referrer_organisation,
                    source=extra.get("source", "icc"),
                    destination_sector=sector,
                    lawful_basis="consent" if sector == "voluntary" else "",
                    urgency="soon",
                    referred_at=when,
                    needs=["shopping"],
                    place=extra.get("place"),
                    **destinations[sector],
                )
            )
    Referral.objects.bulk_create(rows)


def test_the_source_studys_year_gives_its_percentages(destinations, icc, home_from_hospital):
    template = ReferralFactory(referrer=icc, service=home_from_hospital)
    template.delete()
    bulk(
        template,
        destinations,
        {"health": 167, "social_care": 396, "voluntary": 181},
        at("2026-06-01"),
    )

    report = referral_split(
        system=SystemFactory(),
        date_from=datetime.date(2026, 1, 1),
        date_to=datetime.date(2026, 12, 31),
    )

    assert report["total"] == 744
    assert report["by_sector"] == {"health": 167, "social_care": 396, "voluntary": 181}
    assert report["percent"] == {"health": 22.4, "social_care": 53.2, "voluntary": 24.3}


def test_it_breaks_the_split_down_by_place_team_source_and_month(
    destinations, icc, home_from_hospital, system
):
    north = PlaceFactory(system=system, name="Northbridge")
    salt = PlaceFactory(system=system, name="Saltmarsh Coast")
    template = ReferralFactory(referrer=icc, service=home_from_hospital)
    template.delete()
    bulk(template, destinations, {"health": 1, "voluntary": 3}, at("2026-05-10"), place=north)
    bulk(template, destinations, {"social_care": 2}, at("2026-06-10"), place=salt, source="gp")

    report = referral_split(
        system=SystemFactory(),
        date_from=datetime.date(2026, 5, 1),
        date_to=datetime.date(2026, 6, 30),
    )

    places = {row["place"]: row for row in report["by_place"]}
    assert places["Northbridge"]["voluntary"] == 3
    assert places["Northbridge"]["percent"]["voluntary"] == 75.0
    assert places["Saltmarsh Coast"]["social_care"] == 2
    assert [(row["month"], row["total"]) for row in report["by_month"]] == [
        ("2026-05", 4),
        ("2026-06", 2),
    ]
    assert {row["source"]: row["total"] for row in report["by_source"]} == {"gp": 2, "icc": 4}
    assert report["by_team"] == [
        {"team": icc.organisation.name, "total": 6, "health": 1, "social_care": 2, "voluntary": 3,
         "percent": {"health": 16.7, "social_care": 33.3, "voluntary": 50.0}}
    ]  # fmt: skip


def test_the_period_and_months_follow_uk_time(destinations, icc, home_from_hospital):
    # 23:30 UTC on 31 March is 00:30 on 1 April in British Summer Time.
    ReferralFactory(
        referrer=icc, service=home_from_hospital,
        referred_at=datetime.datetime(2026, 3, 31, 23, 30, tzinfo=datetime.UTC),
    )  # fmt: skip

    march = referral_split(
        system=SystemFactory(),
        date_from=datetime.date(2026, 3, 1),
        date_to=datetime.date(2026, 3, 31),
    )
    april = referral_split(
        system=SystemFactory(),
        date_from=datetime.date(2026, 4, 1),
        date_to=datetime.date(2026, 4, 30),
    )

    assert (march["total"], april["total"]) == (0, 1)
    assert april["by_month"][0]["month"] == "2026-04"


def test_a_place_filter_keeps_only_that_places_referrals(
    destinations, icc, home_from_hospital, system
):
    north = PlaceFactory(system=system, name="Northbridge")
    ReferralFactory(
        referrer=icc, service=home_from_hospital, place=north, referred_at=at("2026-05-01")
    )
    ReferralFactory(
        referrer=icc, service=home_from_hospital, place=None, referred_at=at("2026-05-01")
    )

    report = referral_split(
        system=SystemFactory(),
        date_from=datetime.date(2026, 5, 1),
        date_to=datetime.date(2026, 5, 31),
        place=north,
    )

    assert report["total"] == 1 and report["place"] == "Northbridge"


def test_an_empty_period_gives_zeros_not_an_error():
    report = referral_split(
        system=SystemFactory(),
        date_from=datetime.date(2026, 5, 1),
        date_to=datetime.date(2026, 5, 31),
    )

    assert report["total"] == 0
    assert report["percent"] == {"health": 0.0, "social_care": 0.0, "voluntary": 0.0}
    assert report["by_place"] == []


def test_it_runs_as_a_fixed_handful_of_queries_however_many_referrals(
    destinations, icc, home_from_hospital, django_assert_max_num_queries
):
    template = ReferralFactory(referrer=icc, service=home_from_hospital)
    template.delete()
    bulk(
        template, destinations, {"health": 50, "social_care": 80, "voluntary": 40}, at("2026-06-01")
    )

    with django_assert_max_num_queries(5):
        referral_split(
            system=SystemFactory(),
            date_from=datetime.date(2026, 1, 1),
            date_to=datetime.date(2026, 12, 31),
        )
