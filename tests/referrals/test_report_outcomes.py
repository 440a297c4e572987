"""The outcomes report on a small Torbay-like cohort, every figure worked out by hand below.

June 2026. Four people, five episodes:

- Ann (mental health, Northbridge): needs mental health support, befriending, shopping; inputs
  2 x mental health support (60 min) and shopping (30); goals 2 set, 2 met; WEMWBS 28 -> 42,
  PAM 40 -> 60 (level 1 -> 3); costs 9,000 -> 3,000.
- Bob (mental health, Northbridge): needs mental health support and personal care (statutory);
  inputs bereavement support (45) and personal care (statutory, 30); 1 goal, not met;
  WEMWBS 28 -> 56; Rockwood 5 -> 4; costs 5,000 -> 6,000.
- Cat (social): needs befriending, care co-ordination; inputs befriending (45), care
  co-ordination (30); 2 goals, 1 met, 1 still open; WEMWBS at baseline only (42); Outcomes Star
  21 -> 35; no costs.
- Dan: two episodes, social (Befriending, Age Concern: need and input befriending, 60) and
  declining (Home from Hospital: befriending and home help, input home help 90; Rockwood
  6 -> 7); costs 1,000 -> 15,000, counted once for everyone.
"""

import datetime
from decimal import Decimal

import pytest
import time_machine

from commissioning.codes import SpecificationStatus
from commissioning.models import Sector
from referrals.models import ReferralStatus, Subgroup
from referrals.reports.outcomes import MEASURES, NEED_GROUPS, outcomes_report
from tests.factories import (
    EpisodeFactory,
    EpisodeInputFactory,
    FrameworkFactory,
    GoalFactory,
    OrganisationFactory,
    OutcomeScoreFactory,
    PatientCostFactory,
    PatientFactory,
    PlaceFactory,
    ReferralFactory,
    ServiceFactory,
    SpecificationFactory,
    score_fields,
)

pytestmark = pytest.mark.django_db

JUNE = {"date_from": datetime.date(2026, 6, 1), "date_to": datetime.date(2026, 6, 30)}


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(datetime.datetime(2026, 11, 20, 9, 0, tzinfo=datetime.UTC)):
        yield


def at(month: int, day: int) -> datetime.datetime:
    return datetime.datetime(2026, month, day, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture
def open_episode(icc):
    def make(service, subgroup, *, patient=None, started=None, needs=(), place=None,
             status=ReferralStatus.ACCEPTED):  # fmt: skip
        started = started or at(6, 10)
        referral = ReferralFactory(
            patient=patient or PatientFactory(), referrer=icc, service=service,
            status=status, referred_at=started, needs=list(needs), activities=[], place=place,
        )  # fmt: skip
        return EpisodeFactory(referral=referral, subgroup=subgroup, started_on=started.date())

    return make


def scores(episode, measure, before, after=None):
    OutcomeScoreFactory(
        episode=episode, measure=measure, timepoint="baseline", **score_fields(measure, before)
    )
    if after is not None:
        OutcomeScoreFactory(
            episode=episode, measure=measure, timepoint="follow_up",
            taken_on=episode.started_on + datetime.timedelta(weeks=12),
            **score_fields(measure, after),
        )  # fmt: skip


def inputs(episode, *given):
    for need, minutes in given:
        EpisodeInputFactory(episode=episode, need_id=need, minutes=minutes)


def goals(episode, *outcomes):
    for outcome in outcomes:
        reviewed = episode.started_on + datetime.timedelta(weeks=12) if outcome else None
        GoalFactory(episode=episode, outcome=outcome, reviewed_on=reviewed)


@pytest.fixture
def befriending(age_concern, system):
    """Age Concern's service: £73,000 a year to 15 June, then a new version at £36,500."""
    service = ServiceFactory(organisation=age_concern, name="Befriending")
    framework = FrameworkFactory(system=system)
    SpecificationFactory(
        service=service, framework=framework, version=1, status=SpecificationStatus.RETIRED,
        funding_gbp=Decimal("73000"), starts_on=datetime.date(2026, 4, 1),
        ends_on=datetime.date(2026, 6, 15),
    )  # fmt: skip
    SpecificationFactory(
        service=service, framework=framework, version=2, funding_gbp=Decimal("36500"),
        starts_on=datetime.date(2026, 6, 16), ends_on=datetime.date(2027, 3, 31),
    )  # fmt: skip
    return service


@pytest.fixture
def carers(system):
    """A carers' service in another place, £36,500 a year (£100 a day)."""
    eastmoor = PlaceFactory(system=system, name="Eastmoor")
    carers_trust = OrganisationFactory(
        system=system, place=eastmoor, name="Eastmoor Carers", voluntary=True
    )
    service = ServiceFactory(organisation=carers_trust, name="Carers Support")
    SpecificationFactory(
        service=service, framework=FrameworkFactory(system=system), version=1,
        funding_gbp=Decimal("36500"),
    )  # fmt: skip
    return service


@pytest.fixture
def cohort(open_episode, home_from_hospital, befriending, northbridge, system):
    hfh = home_from_hospital
    ann = open_episode(hfh, Subgroup.MENTAL_HEALTH, place=northbridge,
                       needs=["mental_health_support", "befriending", "shopping"])  # fmt: skip
    inputs(ann, ("mental_health_support", 60), ("mental_health_support", 60), ("shopping", 30))
    goals(ann, "met", "met")
    scores(ann, "wemwbs", [2] * 14, [3] * 14)
    scores(ann, "pam", 40, 60)
    PatientCostFactory(system=system, patient=ann.referral.patient, cost_12m_before=9000,
                       cost_12m_after=3000)  # fmt: skip

    bob = open_episode(hfh, Subgroup.MENTAL_HEALTH, place=northbridge,
                       needs=["mental_health_support", "personal_care"])  # fmt: skip
    inputs(bob, ("bereavement_support", 45), ("personal_care", 30))
    goals(bob, "not_met")
    scores(bob, "wemwbs", [2] * 14, [4] * 14)
    scores(bob, "rockwood", 5, 4)
    PatientCostFactory(system=system, patient=bob.referral.patient, cost_12m_before=5000,
                       cost_12m_after=6000)  # fmt: skip

    cat = open_episode(hfh, Subgroup.SOCIAL, needs=["befriending", "care_coordination"])
    inputs(cat, ("befriending", 45), ("care_coordination", 30))
    goals(cat, "met", "")
    scores(cat, "wemwbs", [3] * 14)
    scores(cat, "outcomes_star", [3] * 7, [5] * 7)

    dan = PatientFactory()
    dan_social = open_episode(befriending, Subgroup.SOCIAL, patient=dan, needs=["befriending"])
    inputs(dan_social, ("befriending", 60))
    dan_declining = open_episode(hfh, Subgroup.DECLINING, patient=dan, started=at(6, 20),
                                 needs=["befriending", "home_help"])  # fmt: skip
    inputs(dan_declining, ("home_help", 90))
    scores(dan_declining, "rockwood", 6, 7)
    PatientCostFactory(system=system, patient=dan, cost_12m_before=1000, cost_12m_after=15000)
    return {"ann": ann, "bob": bob, "cat": cat, "dan": dan_declining}


def june(system, **scope):
    return outcomes_report(system=system, **JUNE, **scope)


def group(result, code):
    return next(g for g in result["by_group"] if g["group"] == code)


def test_everyone_is_counted_once_with_their_issues_inputs_and_goals(cohort, system):
    overall = june(system)["overall"]

    assert overall["people"] == 4
    assert (overall["issues"], overall["issues_per_person"]) == (8, 2.0)
    assert overall["issues_by_group"] == {
        "practical": 2, "social": 3, "care_coordination": 1, "mental_health": 2,
    }  # fmt: skip
    assert overall["issues_mix"] == {
        "practical": 25.0, "social": 37.5, "care_coordination": 12.5, "mental_health": 25.0,
    }  # fmt: skip
    assert (overall["statutory_issues"], overall["statutory_inputs"]) == (1, 1)
    assert (overall["inputs"], overall["inputs_per_person"]) == (8, 2.0)
    assert overall["inputs_mix"] == {
        "practical": 25.0, "social": 25.0, "care_coordination": 12.5, "mental_health": 37.5,
    }  # fmt: skip
    assert overall["minutes_per_person"] == 105.0
    assert (overall["goals_set"], overall["goals_met"], overall["goals_met_percent"]) == (
        5, 3, 60.0,
    )  # fmt: skip
    assert overall["goals_per_person"] == 1.3


def test_each_measure_compares_the_same_people_before_and_after(cohort, system):
    measures = june(system)["overall"]["measures"]

    assert set(measures) == set(MEASURES)
    # Cat's WEMWBS has no follow-up, so only Ann's and Bob's count.
    assert measures["wemwbs"] == {
        "people": 2,
        "before": 28.0,
        "after": 49.0,
        "change_percent": 75.0,
    }
    assert measures["pam"] == {
        "people": 1, "before": 40.0, "after": 60.0, "change_percent": 50.0,
        "level_before": 1.0, "level_after": 3.0,
    }  # fmt: skip
    assert measures["outcomes_star"]["change_percent"] == 66.7
    # Lower is better on the Rockwood scale: Bob's fall and Dan's rise cancel out.
    assert measures["rockwood"] == {"people": 2, "before": 5.5, "after": 5.5, "change_percent": 0.0}
    assert measures["swemwbs"] == {
        "people": 0, "before": None, "after": None, "change_percent": None,
    }  # fmt: skip


def test_an_outcomes_star_counts_only_when_the_same_chart_is_used_twice(
    open_episode, home_from_hospital, system
):
    switched = open_episode(home_from_hospital, Subgroup.SOCIAL)
    OutcomeScoreFactory(episode=switched, measure="outcomes_star", timepoint="baseline",
                        **score_fields("outcomes_star", [3] * 7))  # fmt: skip
    OutcomeScoreFactory(
        episode=switched, measure="outcomes_star", timepoint="follow_up",
        **score_fields("outcomes_star", [5] * 8, star_version="older_persons"),
    )  # fmt: skip

    assert june(system)["overall"]["measures"]["outcomes_star"]["people"] == 0


def test_costs_count_each_person_with_costs_once(cohort, system, western):
    # The same patient's figures from another system are that system's, not this one's.
    PatientCostFactory(system=western, patient=cohort["ann"].referral.patient,
                       cost_12m_before=1, cost_12m_after=1_000_000)  # fmt: skip

    cost = june(system)["overall"]["cost"]

    assert cost == {
        "people": 3, "before": 5000.0, "after": 8000.0, "change": 9000.0,
        "change_per_person": 3000.0,
    }  # fmt: skip


def test_every_sub_group_has_its_own_figures_in_order(cohort, system):
    result = june(system)

    assert [(g["group"], g["label"]) for g in result["by_group"]] == list(Subgroup.choices)
    mental = group(result, Subgroup.MENTAL_HEALTH)
    assert (mental["people"], mental["issues_per_person"], mental["inputs"]) == (2, 2.0, 4)
    assert (mental["minutes_per_person"], mental["goals_met_percent"]) == (97.5, 66.7)
    assert mental["measures"]["rockwood"]["change_percent"] == -20.0
    assert mental["cost"] == {
        "people": 2, "before": 7000.0, "after": 4500.0, "change": -5000.0,
        "change_per_person": -2500.0,
    }  # fmt: skip
    social = group(result, Subgroup.SOCIAL)
    assert (social["people"], social["issues_per_person"], social["inputs_per_person"]) == (
        2, 1.5, 1.5,
    )  # fmt: skip
    assert (social["minutes_per_person"], social["goals_met_percent"]) == (67.5, 50.0)
    assert social["cost"]["change"] == 14000.0
    declining = group(result, Subgroup.DECLINING)
    assert (declining["people"], declining["issues"], declining["goals_met_percent"]) == (
        1, 2, None,
    )  # fmt: skip
    assert declining["measures"]["rockwood"]["change_percent"] == 16.7
    nobody = group(result, Subgroup.END_OF_LIFE)
    assert (nobody["people"], nobody["issues_per_person"], nobody["goals_set"]) == (0, None, 0)
    assert nobody["issues_mix"] == dict.fromkeys(NEED_GROUPS)
    assert nobody["cost"] == {
        "people": 0, "before": None, "after": None, "change": None, "change_per_person": None,
    }  # fmt: skip


def test_only_episodes_started_in_the_period_count(
    cohort, open_episode, home_from_hospital, system
):
    for day in (at(5, 31), at(7, 1)):
        late = open_episode(home_from_hospital, Subgroup.SOCIAL, started=day, needs=["shopping"])
        inputs(late, ("shopping", 30))
        goals(late, "met")

    overall = june(system)["overall"]

    assert (overall["people"], overall["inputs"], overall["goals_set"]) == (4, 8, 5)


def test_an_empty_period_has_every_group_and_no_figures(system, home_from_hospital):
    result = june(system)

    assert result["period"] == {"from": "2026-06-01", "to": "2026-06-30"}
    assert result["scope"] == {"organisation": None, "service": None, "place": None}
    assert result["overall"]["people"] == 0
    assert result["overall"]["goals_met_percent"] is None
    assert result["overall"]["measures"]["wemwbs"]["before"] is None
    assert len(result["by_group"]) == len(Subgroup.values)


def test_a_scope_narrows_to_the_referrals_organisation_service_or_place(
    cohort, system, age_concern, home_from_hospital, northbridge
):
    by_organisation = june(system, organisation=age_concern)
    by_service = june(system, service=home_from_hospital)
    by_place = june(system, place=northbridge)

    assert by_organisation["scope"]["organisation"] == age_concern.name
    assert by_organisation["overall"]["people"] == 1  # Dan, at Befriending
    assert by_organisation["overall"]["inputs_mix"]["social"] == 100.0
    assert (by_service["overall"]["people"], by_service["overall"]["inputs"]) == (4, 7)
    assert by_place["overall"]["people"] == 2  # Ann and Bob
    assert by_place["overall"]["measures"]["wemwbs"]["people"] == 2


def test_another_system_is_left_out_and_its_records_refused(
    cohort, system, western, western_people, open_episode, home_from_hospital
):
    charity = western_people["vso_lead"].organisation
    theirs = ServiceFactory(organisation=charity, name="Westbay Helping Hands")
    SpecificationFactory(service=theirs, framework=FrameworkFactory(system=western))
    episode = open_episode(theirs, Subgroup.SOCIAL, needs=["shopping"])
    inputs(episode, ("shopping", 30))

    ours, west = june(system), june(western)

    assert (ours["overall"]["people"], ours["overall"]["inputs"]) == (4, 8)
    assert (west["overall"]["people"], west["overall"]["inputs"]) == (1, 1)
    assert [row["service"] for row in west["parity"]["by_service"]] == ["Westbay Helping Hands"]
    with pytest.raises(Exception, match="not a service of Western Health"):
        june(western, service=home_from_hospital)
    with pytest.raises(Exception, match="not an organisation of Eastern Health"):
        june(system, organisation=charity)


def test_a_period_that_ends_before_it_starts_is_refused(system):
    with pytest.raises(Exception, match="ends before it starts"):
        outcomes_report(
            system=system, date_from=datetime.date(2026, 6, 2), date_to=datetime.date(2026, 6, 1)
        )


@pytest.fixture
def parity_referrals(cohort, icc, home_from_hospital, carers, social_care):
    """On top of the cohort's referrals (Home from Hospital 4 accepted, Befriending 1): one
    declined to Home from Hospital, a closed and a new one to Carers Support, and a referral to
    social care, which is no voluntary service's."""
    ReferralFactory(referrer=icc, service=home_from_hospital, status="declined",
                    decline_reason="Full this month", referred_at=at(6, 3))  # fmt: skip
    ReferralFactory(referrer=icc, service=carers, status="closed", referred_at=at(6, 4))
    ReferralFactory(referrer=icc, service=carers, referred_at=at(6, 5))
    ReferralFactory(referrer=icc, service=None, organisation=social_care,
                    destination_sector=Sector.SOCIAL_CARE, referred_at=at(6, 6))  # fmt: skip


def test_parity_sets_each_services_share_of_referrals_against_its_funding(parity_referrals, system):
    parity = june(system)["parity"]
    rows = {row["service"]: row for row in parity["by_service"]}

    # Funding for June's 30 days: £85,000 x 30/365; 15 days at £200 and 15 at £100; 30 x £100.
    assert parity["totals"] == {"referrals": 8, "funding": 14486.3}
    hfh, befriending, carers = (
        rows["Home from Hospital"],
        rows["Befriending"],
        rows["Carers Support"],
    )
    assert (hfh["referrals"], hfh["referral_share_percent"], hfh["accepted"]) == (5, 62.5, 4)
    assert (hfh["funding"], hfh["funding_share_percent"]) == (6986.3, 48.2)
    assert hfh["cost_per_accepted"] == 1746.58
    assert (befriending["funding"], befriending["funding_share_percent"]) == (4500.0, 31.1)
    assert (befriending["cost_per_accepted"], befriending["place"]) == (4500.0, "Northbridge")
    assert (carers["referrals"], carers["accepted"], carers["cost_per_accepted"]) == (2, 1, 3000.0)
    assert carers["funding_share_percent"] == 20.7


def test_a_contract_ending_in_the_period_is_funded_for_its_own_days(
    system, home_from_hospital, carers
):
    carers.specifications.update(ends_on=datetime.date(2026, 6, 20))

    rows = {row["service"]: row for row in june(system)["parity"]["by_service"]}

    assert rows["Carers Support"]["funding"] == 2000.0  # 20 days at £100
    assert rows["Home from Hospital"]["funding"] == 6986.3


def test_parity_per_place_sums_the_services_of_its_organisations(parity_referrals, system):
    places = {row["place"]: row for row in june(system)["parity"]["by_place"]}

    assert set(places) == {"Northbridge", "Eastmoor"}
    north = places["Northbridge"]
    assert (north["referrals"], north["referral_share_percent"], north["accepted"]) == (6, 75.0, 5)
    assert (north["funding"], north["funding_share_percent"]) == (11486.3, 79.3)
    assert north["cost_per_accepted"] == 2297.26
    assert places["Eastmoor"]["funding_share_percent"] == 20.7


def test_parity_scope_lists_fewer_rows_but_keeps_the_systems_shares(
    parity_referrals, system, carers
):
    parity = june(system, organisation=carers.organisation)["parity"]

    assert [(row["service"], row["referral_share_percent"]) for row in parity["by_service"]] == [
        ("Carers Support", 25.0)
    ]


def test_a_service_without_a_specification_in_force_has_no_funding(
    parity_referrals, system, age_concern, icc
):
    unfunded = ServiceFactory(organisation=age_concern, name="Lunch Club")
    ReferralFactory(referrer=icc, service=unfunded, status="accepted", referred_at=at(6, 9))

    row = next(r for r in june(system)["parity"]["by_service"] if r["service"] == "Lunch Club")

    assert (row["referrals"], row["funding"], row["funding_share_percent"]) == (1, 0.0, 0.0)
    assert (row["commissioned"], row["cost_per_accepted"]) == (False, None)


def test_the_queries_stay_the_same_however_much_data(
    cohort, open_episode, home_from_hospital, carers, system, django_assert_num_queries
):
    with django_assert_num_queries(2):
        june(system)
    for n in range(12):
        episode = open_episode(home_from_hospital if n % 2 else carers, Subgroup.CAREGIVER,
                               needs=["befriending", "shopping"])  # fmt: skip
        inputs(episode, ("befriending", 30), ("shopping", 20))
        goals(episode, "met")
        scores(episode, "wemwbs", [3] * 14, [4] * 14)
        PatientCostFactory(system=system, patient=episode.referral.patient)

    with django_assert_num_queries(2):
        result = june(system)

    assert result["overall"]["people"] == 16


def test_running_it_twice_gives_the_same_report(parity_referrals, system):
    assert june(system) == june(system)
