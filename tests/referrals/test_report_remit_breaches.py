import datetime
import re
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from commissioning.codes import SpecificationStatus, Urgency
from commissioning.models import ServiceSpecification
from referrals.models import (
    Concern,
    ConcernSeverity,
    Referral,
    ReferralStatus,
    RemitClause,
    RemitLimitMark,
)
from referrals.reports.breaches import remit_breaches
from tests.factories import (
    EpisodeFactory,
    PlaceFactory,
    ReferralFactory,
    ServiceFactory,
    SpecificationFactory,
    SystemFactory,
)

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
UTC = datetime.UTC
MAY_FROM, MAY_TO = datetime.date(2026, 5, 1), datetime.date(2026, 5, 31)
TODAY = datetime.date(2026, 6, 30)
ZERO = {
    "urgency": 0,
    "excluded_activity": 0,
    "capacity": 0,
    "episode_length": 0,
    "interim_cover": 0,
    "concern_unacknowledged": 0,
}


def at(month, day, hour=10, minute=0):
    return datetime.datetime(2026, month, day, hour, minute, tzinfo=LONDON)


def report(date_from=MAY_FROM, date_to=MAY_TO, system=None, **kwargs):
    return remit_breaches(
        system=system or SystemFactory(), date_from=date_from, date_to=date_to, today=TODAY,
        **kwargs,
    )  # fmt: skip


def ids(result, rule):
    return [i for row in result["by_service"] if row["rule"] == rule for i in row["referral_ids"]]


def set_specification(service, **changes):
    ServiceSpecification.objects.filter(service=service).update(**changes)


@pytest.fixture
def refer(home_from_hospital, icc, patient):
    """A referral to Home from Hospital that is within its remit unless told otherwise."""

    def make(**kwargs):
        kwargs.setdefault("service", home_from_hospital)
        kwargs.setdefault("referred_at", at(5, 12))
        return ReferralFactory(referrer=icc, patient=patient, **kwargs).pk

    return make


@pytest.fixture
def statutory(social_care, icc, patient):
    """A referral to adult social care, which a voluntary referral may cover for."""

    def make(**kwargs):
        kwargs.setdefault("service", None)
        return ReferralFactory(
            referrer=icc,
            patient=patient,
            organisation=social_care,
            destination_sector=social_care.sector,
            **kwargs,
        )

    return make


def test_it_reports_every_rule_at_nought_when_nothing_broke_the_remit(refer):
    refer()

    assert report() == {
        "from": "2026-05-01",
        "to": "2026-05-31",
        "total": 0,
        "by_rule": ZERO,
        "by_service": [],
        "marked_at_limit": [],
    }


def test_a_referral_more_urgent_than_the_highest_accepted_is_an_urgency_breach(refer):
    emergency = refer(urgency=Urgency.EMERGENCY)
    refer(urgency=Urgency.URGENT)

    result = report()

    assert result["by_rule"] == {**ZERO, "urgency": 1}
    assert ids(result, "urgency") == [emergency]


def test_a_referral_asking_for_excluded_work_is_an_excluded_activity_breach(refer):
    washing = refer(activities=["shopping", "personal_care"])
    refer(activities=["shopping", "befriending"])

    result = report()

    assert result["by_rule"] == {**ZERO, "excluded_activity": 1}
    assert ids(result, "excluded_activity") == [washing]


def test_it_lists_each_rule_per_service_with_counts_totals_and_overrides(
    refer, age_concern, red_cross, home_from_hospital
):
    befriending = ServiceFactory(organisation=age_concern, name="Telephone Befriending")
    SpecificationFactory(service=befriending, version=1, max_urgency=Urgency.SOON)
    first = refer(urgency=Urgency.EMERGENCY, activities=["clinical_task"])
    overridden = refer(
        urgency=Urgency.EMERGENCY, out_of_remit=True, override_reason="No one else can go today."
    )
    too_soon = refer(service=befriending, urgency=Urgency.URGENT)

    result = report()

    assert result == {
        "from": "2026-05-01",
        "to": "2026-05-31",
        "total": 4,
        "by_rule": {**ZERO, "urgency": 3, "excluded_activity": 1},
        "by_service": [
            {
                "organisation": "Age Concern Eastmoor Befriending",
                "organisation_id": age_concern.pk,
                "service": "Telephone Befriending",
                "service_id": befriending.pk,
                "rule": "urgency",
                "count": 1,
                "referral_ids": [too_soon],
                "overridden_ids": [],
                "overridden": 0,
            },
            {
                "organisation": "Eastern Red Cross Home from Hospital",
                "organisation_id": red_cross.pk,
                "service": "Home from Hospital",
                "service_id": home_from_hospital.pk,
                "rule": "excluded_activity",
                "count": 1,
                "referral_ids": [first],
                "overridden_ids": [],
                "overridden": 0,
            },
            {
                "organisation": "Eastern Red Cross Home from Hospital",
                "organisation_id": red_cross.pk,
                "service": "Home from Hospital",
                "service_id": home_from_hospital.pk,
                "rule": "urgency",
                "count": 2,
                "referral_ids": [first, overridden],
                "overridden_ids": [overridden],
                "overridden": 1,
            },
        ],
        "marked_at_limit": [],
    }


def test_it_judges_a_referral_by_the_version_in_force_on_its_day_not_todays(
    refer, home_from_hospital
):
    set_specification(
        home_from_hospital,
        status=SpecificationStatus.RETIRED,
        max_urgency=Urgency.ROUTINE,
        ends_on=datetime.date(2026, 6, 30),
    )
    SpecificationFactory(
        service=home_from_hospital,
        version=2,
        status=SpecificationStatus.ACTIVE,
        max_urgency=Urgency.EMERGENCY,
        starts_on=datetime.date(2026, 7, 1),
    )
    june = refer(urgency=Urgency.SOON, referred_at=at(6, 15))
    refer(urgency=Urgency.SOON, referred_at=at(7, 15))

    result = report(datetime.date(2026, 6, 1), datetime.date(2026, 7, 31))

    assert ids(result, "urgency") == [june]


def test_a_draft_version_is_never_the_one_in_force(refer, home_from_hospital):
    SpecificationFactory(
        service=home_from_hospital,
        version=2,
        status=SpecificationStatus.DRAFT,
        max_urgency=Urgency.ROUTINE,
        starts_on=datetime.date(2026, 5, 1),
    )
    refer(urgency=Urgency.SOON)

    assert report()["by_rule"] == ZERO


def test_a_referral_with_no_specification_in_force_is_left_out(refer):
    refer(urgency=Urgency.EMERGENCY, referred_at=at(3, 15))

    result = report(datetime.date(2026, 3, 1), datetime.date(2026, 3, 31))

    assert (result["total"], result["by_service"]) == (0, [])


def test_referrals_beyond_the_monthly_capacity_are_breaches_in_the_order_referred(
    refer, home_from_hospital
):
    set_specification(home_from_hospital, monthly_capacity=2)
    # Created out of order: the order referred decides, not the order typed in.
    fourth = refer(referred_at=at(5, 20))
    refer(referred_at=at(5, 2))
    third = refer(referred_at=at(5, 14))
    refer(referred_at=at(5, 9))

    result = report()

    assert ids(result, "capacity") == sorted([third, fourth])
    assert result["by_rule"]["capacity"] == 2


def test_declined_and_withdrawn_referrals_take_no_capacity(refer, home_from_hospital):
    set_specification(home_from_hospital, monthly_capacity=2)
    refer(referred_at=at(5, 2), status=ReferralStatus.DECLINED, decline_reason="Full this week.")
    refer(referred_at=at(5, 3), status=ReferralStatus.WITHDRAWN)
    refer(referred_at=at(5, 4), status=ReferralStatus.CLOSED, closed_at=at(5, 5))
    refer(referred_at=at(5, 6))
    beyond = refer(referred_at=at(5, 7))

    assert ids(report(), "capacity") == [beyond]


def test_capacity_is_counted_from_the_first_of_the_month_even_when_the_period_starts_later(
    refer, home_from_hospital
):
    set_specification(home_from_hospital, monthly_capacity=1)
    refer(referred_at=at(4, 30))
    refer(referred_at=at(5, 3))
    beyond = refer(referred_at=at(5, 12))

    result = report(datetime.date(2026, 5, 10), datetime.date(2026, 5, 20))

    assert ids(result, "capacity") == [beyond]


def test_capacity_is_the_services_across_every_place_even_in_one_places_report(
    refer, home_from_hospital, system, northbridge
):
    set_specification(home_from_hospital, monthly_capacity=1)
    southmoor = PlaceFactory(system=system, name="Southmoor")
    refer(referred_at=at(5, 3), place=southmoor)
    beyond = refer(referred_at=at(5, 5), place=northbridge)

    result = report(place=northbridge)

    assert ids(result, "capacity") == [beyond]


def test_an_episode_longer_than_allowed_is_a_breach_open_or_closed(refer):
    # Home from Hospital allows six weeks (42 days).
    closed_late = refer(
        status=ReferralStatus.CLOSED,
        referred_at=at(5, 1),
        decided_at=at(5, 1, 12),
        first_contact_at=at(5, 2),
        closed_at=at(6, 14),
    )
    refer(
        status=ReferralStatus.CLOSED,
        referred_at=at(5, 1),
        first_contact_at=at(5, 2),
        closed_at=at(6, 13),
    )
    still_running = refer(
        status=ReferralStatus.IN_PROGRESS, referred_at=at(5, 12), first_contact_at=at(5, 13)
    )
    accepted_only = refer(
        status=ReferralStatus.ACCEPTED, referred_at=at(5, 12), decided_at=at(5, 12)
    )
    refer(status=ReferralStatus.IN_PROGRESS, referred_at=at(5, 25), first_contact_at=at(5, 26))

    result = report()

    assert ids(result, "episode_length") == sorted([closed_late, still_running, accepted_only])


def episode(referral_id, started, ended=None):
    """An episode recorded on the referral, from and to (month, day) of 2026."""
    return EpisodeFactory(
        referral=Referral.objects.get(pk=referral_id),
        started_on=datetime.date(2026, *started),
        ended_on=datetime.date(2026, *ended) if ended else None,
    )


def test_a_recorded_episode_is_measured_from_its_start_to_its_end_or_the_reports_day(refer):
    # Home from Hospital allows six weeks (42 days); the report's day is 30 June. Each
    # referral's own times say the opposite of its episode, so only the episode can decide.
    closed = {
        "status": ReferralStatus.CLOSED,
        "referred_at": at(5, 1),
        "first_contact_at": at(5, 2),
    }
    ended_late = refer(**closed, closed_at=at(6, 13))
    episode(ended_late, (5, 2), (6, 14))  # 43 days
    ended_in_time = refer(**closed, closed_at=at(6, 20))
    episode(ended_in_time, (5, 2), (6, 13))  # 42 days
    running_late = refer(status=ReferralStatus.IN_PROGRESS, first_contact_at=at(5, 26))
    episode(running_late, (5, 12))  # 49 days to 30 June
    running_in_time = refer(status=ReferralStatus.IN_PROGRESS, first_contact_at=at(5, 13))
    episode(running_in_time, (5, 19))  # 42 days to 30 June
    # Without an episode, the referral's own times, as before episodes were recorded.
    without_episode = refer(**closed, closed_at=at(6, 20))

    result = report()

    assert ids(result, "episode_length") == sorted([ended_late, running_late, without_episode])


def test_a_received_referral_has_no_episode_yet(refer):
    refer(status=ReferralStatus.RECEIVED, referred_at=at(5, 1))

    assert report()["by_rule"]["episode_length"] == 0


def test_covering_a_statutory_referral_that_waited_too_long_is_an_interim_cover_breach(
    refer, statutory
):
    # Home from Hospital covers for at most 14 days; TODAY is 30 June.
    still_waiting = statutory(referred_at=at(5, 1))
    seen_in_time = statutory(
        referred_at=at(5, 1), status=ReferralStatus.IN_PROGRESS, first_contact_at=at(5, 11)
    )
    seen_late = statutory(
        referred_at=at(5, 1), status=ReferralStatus.IN_PROGRESS, first_contact_at=at(5, 21)
    )
    declined_in_time = statutory(
        referred_at=at(5, 1),
        status=ReferralStatus.DECLINED,
        decline_reason="Not eligible.",
        decided_at=at(5, 5),
    )
    covering_the_wait = refer(interim_cover_for=still_waiting, referred_at=at(5, 2))
    refer(interim_cover_for=seen_in_time, referred_at=at(5, 2))
    covering_the_late_one = refer(interim_cover_for=seen_late, referred_at=at(5, 2))
    refer(interim_cover_for=declined_in_time, referred_at=at(5, 2))

    result = report()

    assert ids(result, "interim_cover") == sorted([covering_the_wait, covering_the_late_one])


def test_cover_the_vso_declined_is_no_interim_cover_breach(refer, statutory):
    waiting = statutory(referred_at=at(5, 1))
    refer(
        interim_cover_for=waiting,
        status=ReferralStatus.DECLINED,
        decline_reason="Cannot cover personal care.",
    )

    assert report()["by_rule"]["interim_cover"] == 0


def test_a_statutory_referral_is_never_in_the_report(statutory, social_care):
    reablement = ServiceFactory(organisation=social_care, name="Reablement")
    SpecificationFactory(service=reablement, version=1, max_urgency=Urgency.ROUTINE)
    statutory(service=reablement, urgency=Urgency.EMERGENCY, referred_at=at(5, 12))

    result = report()

    assert (result["total"], result["by_service"]) == (0, [])


def test_it_reports_only_the_place_asked_for(refer, system, northbridge):
    southmoor = PlaceFactory(system=system, name="Southmoor")
    here = refer(urgency=Urgency.EMERGENCY, place=northbridge)
    refer(urgency=Urgency.EMERGENCY, place=southmoor)
    refer(urgency=Urgency.EMERGENCY, place=None)

    result = report(place=northbridge)

    assert ids(result, "urgency") == [here]


def test_the_period_runs_by_the_uk_clock(refer):
    # 23:30 UTC on 31 March is 00:30 on 1 April in British Summer Time, and likewise for May.
    first_of_april = refer(
        urgency=Urgency.EMERGENCY,
        referred_at=datetime.datetime(2026, 3, 31, 23, 30, tzinfo=UTC),
    )
    refer(urgency=Urgency.EMERGENCY, referred_at=datetime.datetime(2026, 4, 30, 23, 30, tzinfo=UTC))

    result = report(datetime.date(2026, 4, 1), datetime.date(2026, 4, 30))

    assert ids(result, "urgency") == [first_of_april]


def concern_on(referral_id, *, raised, deadline, acknowledged=None, by=None):
    referral = Referral.objects.get(pk=referral_id)
    return Concern.objects.create(
        referral=referral,
        raised_by=by or referral.referrer,
        raised_by_organisation=referral.organisation,
        addressed_to=referral.referrer_organisation,
        severity=ConcernSeverity.HIGH,
        description="She has waited nine days for the social-care visit.",
        raised_at=raised,
        acknowledge_by=deadline,
        acknowledged_at=acknowledged,
        acknowledged_by=referral.referrer if acknowledged else None,
    )


def test_a_concern_not_acknowledged_by_its_deadline_is_a_breach(refer):
    late = refer()
    never = refer()
    in_time = refer()
    not_due = refer()
    concern_on(late, raised=at(5, 13), deadline=at(5, 14), acknowledged=at(5, 20))
    concern_on(never, raised=at(5, 13), deadline=at(5, 14))
    concern_on(in_time, raised=at(5, 13), deadline=at(5, 14), acknowledged=at(5, 13, 15))
    # Due after the end of the report's "today": not late yet.
    concern_on(not_due, raised=at(6, 30, 9), deadline=at(7, 1, 9))

    result = report()

    assert result["by_rule"] == {**ZERO, "concern_unacknowledged": 2}
    assert ids(result, "concern_unacknowledged") == [late, never]


def test_marked_referrals_are_listed_apart_from_the_breaches(
    refer, red_cross_lead, home_from_hospital
):
    marked = refer(urgency=Urgency.EMERGENCY)
    refer()
    RemitLimitMark.objects.create(
        referral_id=marked,
        specification=home_from_hospital.specifications.get(),
        clause=RemitClause.URGENCY,
        clause_text="Highest urgency accepted: Urgent",
        marked_by=red_cross_lead,
        marked_at=at(5, 13),
    )

    result = report()

    assert result["total"] == 1  # the urgency breach; the mark is not a rule of its own
    assert [(row["rule"], row["referral_ids"]) for row in result["marked_at_limit"]] == [
        ("marked_at_limit", [marked])
    ]


def test_one_organisations_report_keeps_its_capacity_count_whole(
    refer, home_from_hospital, age_concern
):
    set_specification(home_from_hospital, monthly_capacity=1)
    befriending = ServiceFactory(organisation=age_concern, name="Telephone Befriending")
    SpecificationFactory(service=befriending, version=1, max_urgency=Urgency.ROUTINE)
    refer(referred_at=at(5, 2))
    second = refer(referred_at=at(5, 20))
    refer(service=befriending)

    result = report(
        datetime.date(2026, 5, 10), MAY_TO, organisation=home_from_hospital.organisation
    )

    assert [(row["service"], row["rule"], row["referral_ids"]) for row in result["by_service"]] == [
        ("Home from Hospital", "capacity", [second])
    ]


def test_it_is_one_read_only_query_that_gives_the_same_answer_twice(
    refer, django_assert_num_queries
):
    refer(urgency=Urgency.EMERGENCY)
    system = SystemFactory()

    with django_assert_num_queries(1):
        first = report(system=system)

    assert report() == first


def test_it_narrows_referrals_by_an_index_on_the_referral_date(refer):
    refer(urgency=Urgency.EMERGENCY)
    system = SystemFactory()
    with CaptureQueriesContext(connection) as queries:
        report(system=system)

    with connection.cursor() as cursor:
        # On a few rows the planner may take any index, or none. Forbid sequential scans and,
        # inside this test's transaction, drop the indexes that lead with the service, so that
        # only the indexes holding referred_at remain: they serve only a bare range on it.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s",
            [Referral._meta.db_table, "%(service_id%"],
        )
        for (index,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{index}"')
        cursor.execute("EXPLAIN " + queries[0]["sql"])
        plan = "\n".join(line for (line,) in cursor.fetchall())

    assert re.search(r"(Index|Recheck) Cond: .*\breferred_at >=", plan), plan
