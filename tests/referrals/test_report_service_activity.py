import datetime
from zoneinfo import ZoneInfo

import pytest

from commissioning.codes import ServiceStatus, SpecificationStatus
from commissioning.models import ServiceSpecification
from referrals.models import (
    Concern,
    ConcernSeverity,
    Referral,
    ReferralStatus,
    RemitClause,
    RemitLimitMark,
)
from referrals.reports.activity import service_activity
from tests.factories import (
    OrganisationFactory,
    PlaceFactory,
    ReferralFactory,
    ServiceFactory,
    SpecificationFactory,
    SystemFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
MAY_FROM, MAY_TO = datetime.date(2026, 5, 1), datetime.date(2026, 5, 31)
TODAY = datetime.date(2026, 6, 30)


def at(month, day, hour=10, minute=0):
    return datetime.datetime(2026, month, day, hour, minute, tzinfo=LONDON)


def report(date_from=MAY_FROM, date_to=MAY_TO, system=None, **kwargs):
    kwargs.setdefault("today", TODAY)
    return service_activity(
        system=system or SystemFactory(), date_from=date_from, date_to=date_to, **kwargs
    )


def row_for(result, service):
    return next(row for row in result["services"] if row["service_id"] == service.pk)


@pytest.fixture
def refer(home_from_hospital, icc, patient):
    def make(**kwargs):
        kwargs.setdefault("service", home_from_hospital)
        kwargs.setdefault("referred_at", at(5, 12))
        return ReferralFactory(referrer=icc, patient=patient, **kwargs)

    return make


def test_it_counts_what_each_service_received_accepted_and_declined(refer, home_from_hospital):
    refer()
    refer(status=ReferralStatus.ACCEPTED, decided_at=at(5, 12, 12))
    refer(status=ReferralStatus.CLOSED, decided_at=at(5, 12, 12), closed_at=at(5, 20))
    refer(status=ReferralStatus.DECLINED, decided_at=at(5, 13), decline_reason="Full this week.")
    refer(status=ReferralStatus.WITHDRAWN, withdrawn_at=at(5, 14))
    refer(referred_at=at(6, 2))  # outside the period

    row = row_for(report(), home_from_hospital)

    assert (row["received"], row["accepted"], row["declined"], row["withdrawn"]) == (5, 2, 1, 1)


def test_it_gives_the_median_time_to_first_contact_against_the_target(refer, home_from_hospital):
    ServiceSpecification.objects.filter(service=home_from_hospital).update(response_target_hours=24)
    for hours in (2, 10, 30):
        refer(
            status=ReferralStatus.IN_PROGRESS,
            decided_at=at(5, 12, 11),
            first_contact_at=at(5, 12) + datetime.timedelta(hours=hours),
        )
    refer()  # not contacted yet: not in the median

    row = row_for(report(), home_from_hospital)

    assert row["contacted"] == 3
    assert row["median_hours_to_contact"] == 10.0
    assert row["response_target_hours"] == 24
    assert row["contacted_within_target"] == 2


def test_capacity_is_read_month_by_month_against_the_version_in_force(refer, home_from_hospital):
    ServiceSpecification.objects.filter(service=home_from_hospital).update(monthly_capacity=2)
    for day in (2, 3, 4):
        refer(referred_at=at(4, day))
    refer(referred_at=at(5, 2))
    refer(referred_at=at(5, 3), status=ReferralStatus.DECLINED, decline_reason="No one free.")

    row = row_for(report(datetime.date(2026, 4, 10), MAY_TO), home_from_hospital)

    # April is counted from the 1st, as the capacity rule counts it: 3 of 2, then 1 of 2.
    assert (row["capacity_used"], row["capacity_commissioned"]) == (4, 4)
    assert row["months_over_capacity"] == 1


def test_a_month_with_no_set_limit_is_counted_apart(refer, home_from_hospital):
    ServiceSpecification.objects.filter(service=home_from_hospital).update(monthly_capacity=None)
    refer()

    row = row_for(report(), home_from_hospital)

    assert (row["capacity_used"], row["capacity_commissioned"]) == (0, None)
    assert row["capacity_used_without_limit"] == 1


def test_overrides_and_remit_marks_are_counted_per_service(
    refer, home_from_hospital, red_cross_lead
):
    refer(out_of_remit=True, override_reason="Nobody else can go today.")
    marked = refer()
    refer()
    RemitLimitMark.objects.create(
        referral=marked,
        specification=home_from_hospital.specifications.get(),
        clause=RemitClause.CAPACITY,
        clause_text="Monthly capacity: 40 referrals",
        marked_by=red_cross_lead,
        marked_at=at(5, 13),
    )

    row = row_for(report(), home_from_hospital)

    assert (row["overrides"], row["marked_at_limit"]) == (1, 1)


def test_an_active_service_with_no_referral_is_off_the_radar(
    refer, home_from_hospital, age_concern
):
    quiet = ServiceFactory(organisation=age_concern, name="Street Champions")
    closed = ServiceFactory(
        organisation=age_concern, name="Lunch Club", status=ServiceStatus.DEFUNCT
    )
    refer()

    result = report()

    radar = [row["service"] for row in result["off_the_radar"]]
    assert radar == ["Street Champions"]
    assert closed.pk not in [row["service_id"] for row in result["services"]]
    assert row_for(result, quiet)["received"] == 0


def test_a_place_narrows_the_referrals_and_the_services_listed(
    refer, home_from_hospital, age_concern, system, northbridge
):
    southfield = PlaceFactory(system=system, name="Southfield")
    local = ServiceFactory(organisation=age_concern, name="Southfield Good Neighbours")
    local.places.add(southfield)
    refer(place=northbridge)
    refer(place=southfield)

    result = report(place=northbridge)

    assert row_for(result, home_from_hospital)["received"] == 1
    assert local.pk not in [row["service_id"] for row in result["services"]]


def test_it_counts_distinct_voluntary_services_per_referrer_team(
    refer, home_from_hospital, age_concern, icc, social_care
):
    befriending = ServiceFactory(organisation=age_concern, name="Telephone Befriending")
    SpecificationFactory(service=befriending, version=1)
    refer()
    refer()
    refer(service=befriending)
    refer(service=None, organisation=social_care, destination_sector=social_care.sector)
    gp_surgery = OrganisationFactory(system=icc.organisation.system, name="Marsh Lane Surgery")
    gp = UserFactory(role=icc.role, organisation=gp_surgery)
    ReferralFactory(referrer=gp, service=home_from_hospital, referred_at=at(5, 12))

    teams = {row["team"]: row for row in report()["teams"]}

    assert teams[icc.organisation.name] == {
        "team": icc.organisation.name,
        "referrals": 4,
        "voluntary_referrals": 3,
        "voluntary_services": 2,
        "voluntary_organisations": 2,
    }
    assert teams["Marsh Lane Surgery"]["voluntary_services"] == 1


def test_open_concerns_are_counted_as_they_stood_at_the_end_of_the_period(
    refer, red_cross_worker, icc
):
    referral = refer()

    def concern(**kwargs):
        return Concern.objects.create(
            referral=referral,
            raised_by=red_cross_worker,
            raised_by_organisation=red_cross_worker.organisation,
            addressed_to=icc.organisation,
            description="Still waiting for the care package.",
            **kwargs,
        )

    concern(
        severity=ConcernSeverity.CRITICAL,
        raised_at=at(5, 20),
        acknowledge_by=at(5, 20, 14),
        escalated_at=at(5, 20, 14, 5),
    )
    concern(
        severity=ConcernSeverity.LOW,
        raised_at=at(5, 21),
        acknowledge_by=at(5, 26),
        acknowledged_at=at(5, 22),
        acknowledged_by=icc,
    )
    concern(  # resolved in the period: no longer open
        severity=ConcernSeverity.HIGH,
        raised_at=at(5, 2),
        acknowledge_by=at(5, 3),
        acknowledged_at=at(5, 2, 12),
        acknowledged_by=icc,
        resolved_at=at(5, 4),
        resolved_by=icc,
        resolution="Visit booked for tomorrow.",
    )
    concern(severity=ConcernSeverity.HIGH, raised_at=at(6, 2), acknowledge_by=at(6, 3))

    assert report()["concerns"] == [
        {
            "addressed_to": icc.organisation.name,
            "raised_by": red_cross_worker.organisation.name,
            "open": 2,
            "awaiting_acknowledgement": 1,
            "past_deadline": 1,
            "serious": 1,
            "escalated": 1,
            "last_escalated_at": "2026-05-20 14:05",
            "oldest_raised_on": "2026-05-20",
        }
    ]


def test_it_is_one_query_that_gives_the_same_answer_twice(
    refer, home_from_hospital, django_assert_num_queries
):
    refer()
    system = SystemFactory()
    with django_assert_num_queries(1):
        first = report(system=system)

    assert report() == first
    assert Referral.objects.count() == 1


def test_a_service_read_against_the_version_in_force_at_the_end_of_the_period(
    refer, home_from_hospital
):
    ServiceSpecification.objects.filter(service=home_from_hospital).update(
        status=SpecificationStatus.RETIRED, ends_on=datetime.date(2026, 5, 15)
    )
    SpecificationFactory(
        service=home_from_hospital,
        version=2,
        response_target_hours=4,
        starts_on=datetime.date(2026, 5, 16),
    )
    refer()

    assert row_for(report(), home_from_hospital)["specification_version"] == 2
