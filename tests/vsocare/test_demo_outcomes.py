"""The demo's clients of wellbeing co-ordination (#13 point 9): 51 people in Torbay's six
sub-groups, whose scores, inputs, goals and costs are those of Table 1 of the evaluation, so
that the "Added value" section has something true-looking to show at once."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import nhs_number
import pytest
from django.db.models import Avg, Count, Exists, F, OuterRef, Q
from django.utils import timezone

from commissioning.codes import NeedGroup
from commissioning.in_force import specification_in_force
from commissioning.instruments import Measure, pam_level
from commissioning.models import Need, Organisation, Sector, System
from core.dates import age_on
from referrals.models import (
    Episode,
    EpisodeInput,
    Goal,
    GoalOutcome,
    OutcomeScore,
    Patient,
    PatientCost,
    Referral,
    ReferralStatus,
    Subgroup,
    Timepoint,
)
from referrals.reports.loading import default_period
from referrals.reports.outcomes import outcomes_report
from vsocare import demo
from vsocare.demo import seed_demo
from vsocare.demo_outcome_plans import plan_demo_outcomes
from vsocare.demo_outcomes import seed_demo_outcomes

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
TODAY = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=LONDON)
S = Subgroup

# Table 1 of the Torbay evaluation, restated here so that a slip in the demo's tables shows:
# people, WEMWBS, PAM, Outcomes Star and Rockwood means before and after, inputs and goals per
# person, and the mean cost in the 12 months before and after.
TABLE_1 = {
    S.MENTAL_HEALTH: (5, (23, 43), (34, 58), (16, 41), (4.75, 3.75), 5.0, 4.4, (9149, 2894)),
    S.CAREGIVER: (9, (36, 50), (45, 69), (31, 50), (3.89, 3.00), 4.6, 3.3, (2800, 3434)),
    S.SOCIAL: (11, (43, 51), (60, 74), (27, 41), (4.33, 3.22), 3.0, 3.1, (810, 2430)),
    S.MOBILISING: (7, (46, 53), (57, 71), (32, 50), (5.00, 3.86), 3.85, 3.3, (1441, 1731)),
    S.DECLINING: (10, (38, 45), (50, 66), (27, 45), (4.44, 3.67), 3.66, 3.0, (1515, 14794)),
    S.END_OF_LIFE: (9, (38, 40), (41, 44), (25, 38), (5.44, 5.78), 3.88, 2.4, (7375, 19365)),
}  # fmt: skip
MEASURES = (Measure.WEMWBS, Measure.PAM, Measure.OUTCOMES_STAR, Measure.ROCKWOOD)
# How far a group's mean may be from Table 1's: whole scores cannot always hit it exactly.
TOLERANCE = {
    Measure.WEMWBS: 0.5,
    Measure.PAM: 0.5,
    Measure.OUTCOMES_STAR: 0.5,
    Measure.ROCKWOOD: 0.1,
}
SERVICE = "Wellbeing Co-ordination"


@pytest.fixture
def seeded(time_machine):
    time_machine.move_to(TODAY, tick=False)
    return seed_demo()


def episodes():
    return Episode.objects.filter(referral__service__name=SERVICE)


@pytest.mark.usefixtures("seeded")
def test_51_clients_in_torbays_six_sub_groups_each_taken_on_by_the_wellbeing_service():
    counts = dict(episodes().values_list("subgroup").annotate(n=Count("pk")))

    assert counts == {subgroup: row[0] for subgroup, row in TABLE_1.items()}
    assert episodes().values("referral__patient").distinct().count() == 51
    for episode in episodes().select_related("referral__service"):
        referral = episode.referral
        assert referral.destination_sector == Sector.VOLUNTARY
        assert referral.status in (ReferralStatus.CLOSED, ReferralStatus.IN_PROGRESS)
        assert (referral.status == ReferralStatus.CLOSED) == (episode.ended_on is not None)
        assert not referral.out_of_remit and referral.remit_reasons == []
        spec = specification_in_force(service=referral.service, on_date=episode.started_on)
        assert {*MEASURES, "goals"} <= set(spec.outcome_measures)
        assert spec.outcomes_star_version == "motivational_7"


@pytest.mark.usefixtures("seeded")
def test_episodes_started_in_the_last_six_months_and_most_ended_after_8_to_12_weeks():
    today = timezone.localdate()
    first_day, yesterday = default_period()
    spec = specification_in_force(service=episodes().first().referral.service, on_date=today)
    ended = running = overrun = 0
    for episode in episodes().select_related("referral"):
        assert first_day <= today - datetime.timedelta(weeks=26) <= episode.started_on
        assert timezone.localdate(episode.referral.first_contact_at) == episode.started_on
        days = ((episode.ended_on or today) - episode.started_on).days
        overrun += days > 7 * spec.max_episode_weeks
        if episode.ended_on is None:
            running += 1
            continue
        ended += 1
        assert episode.ended_on <= yesterday
        assert timezone.localdate(episode.referral.closed_at) == episode.ended_on
        assert days > 7 * spec.max_episode_weeks or 8 * 7 <= days <= 12 * 7
    assert running == 4
    assert ended == 47
    # One ended late and one still running past the longest episode: the overrun flag shows.
    assert overrun == 2
    assert episodes().filter(ended_on__isnull=True, started_on__lt=today - datetime.timedelta(
        weeks=spec.max_episode_weeks
    )).count() == 1  # fmt: skip


def paired_means(queryset):
    """(sub-group or None, measure) -> (mean before, mean after) over the episodes scored at
    both timepoints, as the outcomes report pairs them."""
    followed_up = OutcomeScore.objects.filter(
        episode=OuterRef("episode"), measure=OuterRef("measure"), timepoint=Timepoint.FOLLOW_UP
    )
    before = (
        queryset.filter(timepoint=Timepoint.BASELINE)
        .filter(Exists(followed_up))
        .values_list("episode__subgroup", "measure")
        .annotate(mean=Avg("score"))
    )
    after = (
        queryset.filter(timepoint=Timepoint.FOLLOW_UP)
        .values_list("episode__subgroup", "measure")
        .annotate(mean=Avg("score"))
    )
    means_after = {(subgroup, measure): mean for subgroup, measure, mean in after}
    return {
        (subgroup, measure): (mean, means_after[subgroup, measure])
        for subgroup, measure, mean in before
    }


@pytest.mark.usefixtures("seeded")
def test_each_groups_mean_scores_before_and_after_are_table_1s():
    means = paired_means(OutcomeScore.objects.filter(episode__in=episodes()))

    for subgroup, (_, *by_measure, _, _, _) in TABLE_1.items():
        for measure, (table_before, table_after) in zip(MEASURES, by_measure, strict=True):
            before, after = means[subgroup, measure]
            assert abs(float(before) - table_before) <= TOLERANCE[measure], (subgroup, measure)
            assert abs(float(after) - table_after) <= TOLERANCE[measure], (subgroup, measure)
    overall = {
        measure: OutcomeScore.objects.filter(
            episode__in=episodes(), measure=measure, timepoint=Timepoint.FOLLOW_UP
        ).aggregate(mean=Avg("score"))["mean"]
        for measure in MEASURES
    }
    # Table 1's "N = 49" row: WEMWBS 38 -> 47, PAM 48.6 -> 64.6, Star 27 -> 44, RCFS 4.6 -> 3.9.
    assert abs(overall[Measure.WEMWBS] - 47) < 1
    assert abs(overall[Measure.PAM] - Decimal("64.6")) < 2
    assert abs(overall[Measure.OUTCOMES_STAR] - 44) < 1.5
    assert abs(overall[Measure.ROCKWOOD] - Decimal("3.9")) < Decimal("0.2")


@pytest.mark.usefixtures("seeded")
def test_scores_are_made_as_the_instruments_score_them():
    scores = OutcomeScore.objects.filter(episode__in=episodes())

    assert scores.filter(timepoint=Timepoint.BASELINE).count() == 51 * len(MEASURES)
    for score in scores:
        if score.measure == Measure.WEMWBS:
            assert len(score.items) == 14 and score.score == sum(score.items)
            assert all(1 <= item <= 5 for item in score.items)
        elif score.measure == Measure.OUTCOMES_STAR:
            assert score.star_version == "motivational_7"
            assert len(score.items) == 7 and score.score == sum(score.items)
            assert all(1 <= item <= 10 for item in score.items)
        elif score.measure == Measure.PAM:
            assert score.level == pam_level(score.score) and not score.items
        else:
            assert score.score == int(score.score) and 1 <= score.score <= 9
        assert score.item_count == len(score.items)
        episode = score.episode
        assert episode.started_on <= score.taken_on <= (episode.ended_on or timezone.localdate())
    # PAM's four activation levels all appear, from the mental health group's 34 to 74.
    assert set(scores.values_list("level", flat=True).exclude(level=None)) >= {1, 2, 3, 4}


@pytest.mark.usefixtures("seeded")
def test_a_few_follow_ups_are_missing_as_in_torbay():
    today = timezone.localdate()
    followed_up = OutcomeScore.objects.filter(
        episode=OuterRef("episode"), measure=OuterRef("measure"), timepoint=Timepoint.FOLLOW_UP
    )
    missing = dict(
        OutcomeScore.objects.filter(
            episode__in=episodes().filter(ended_on__isnull=False), timepoint=Timepoint.BASELINE
        )
        .exclude(Exists(followed_up))
        .values_list("measure")
        .annotate(n=Count("pk"))
    )

    # Table 1: PAM [missing 4], Outcomes Star [miss. 3], RCFS [miss. 2]; WEMWBS complete.
    assert missing == {Measure.PAM: 4, Measure.OUTCOMES_STAR: 3, Measure.ROCKWOOD: 2}
    # The one running past 12 weeks is due its follow-up too: the lead's list has both kinds.
    overdue = episodes().filter(
        ended_on__isnull=True, started_on__lte=today - datetime.timedelta(weeks=12)
    )
    assert overdue.count() == 1
    assert not OutcomeScore.objects.filter(
        episode__in=overdue, timepoint=Timepoint.FOLLOW_UP
    ).exists()


@pytest.mark.usefixtures("seeded")
def test_about_three_goals_each_and_nine_in_ten_met():
    goals = Goal.objects.filter(episode__in=episodes())
    met = goals.filter(outcome=GoalOutcome.MET).count()

    assert 3.0 <= goals.count() / 51 <= 3.3  # Table 1: 3.17
    assert 0.88 <= met / goals.count() <= 0.95  # Table 1: 91%
    per_group = dict(goals.values_list("episode__subgroup").annotate(n=Count("pk", distinct=True)))
    for subgroup, row in TABLE_1.items():
        assert abs(per_group[subgroup] / row[0] - row[6]) <= 0.1, subgroup
    # Goals still open are only in episodes still running; each reviewed goal after it was set.
    assert not goals.filter(outcome="", episode__ended_on__isnull=False).exists()
    assert not goals.exclude(outcome="").filter(reviewed_on__lt=F("set_on")).exists()
    assert (
        not goals.filter(episode__ended_on__isnull=False)
        .exclude(reviewed_on=F("episode__ended_on"))
        .exists()
    )


@pytest.mark.usefixtures("seeded")
def test_inputs_are_box_2s_mix_at_about_four_each():
    inputs = EpisodeInput.objects.filter(episode__in=episodes())
    total = inputs.count()
    by_kind = dict(inputs.values_list("need__group").annotate(n=Count("pk")))

    assert 3.6 <= total / 51 <= 4.0  # Table 1: 3.79
    shares = {kind: by_kind.get(kind, 0) / total for kind in NeedGroup}
    # Box 2: practical 35%, social isolation 26%, care co-ordination 20%, mental health 19%.
    assert abs(shares[NeedGroup.PRACTICAL] - 0.35) <= 0.02
    assert abs(shares[NeedGroup.SOCIAL] - 0.26) <= 0.02
    assert abs(shares[NeedGroup.CARE_COORDINATION] - 0.20) <= 0.02
    assert abs(shares[NeedGroup.MENTAL_HEALTH] - 0.19) <= 0.02
    assert shares[NeedGroup.STATUTORY] == 0
    per_group = dict(inputs.values_list("episode__subgroup").annotate(n=Count("pk")))
    for subgroup, row in TABLE_1.items():
        assert abs(per_group[subgroup] / row[0] - row[5]) <= 0.1, subgroup
    assert Need.objects.filter(code__in=inputs.values("need")).count() >= 8
    assert not inputs.filter(Q(minutes__lt=15) | Q(minutes__gt=180)).exists()
    assert not inputs.filter(
        Q(given_on__lt=F("episode__started_on")) | Q(given_on__gt=F("episode__ended_on"))
    ).exists()


@pytest.mark.usefixtures("seeded")
def test_costs_fall_for_mental_health_and_rise_steeply_for_the_declining_and_dying():
    costs = PatientCost.objects.filter(patient__referrals__episode__in=episodes())
    means = {
        subgroup: (before, after)
        for subgroup, before, after in costs.values_list(
            "patient__referrals__episode__subgroup"
        ).annotate(before=Avg("cost_12m_before"), after=Avg("cost_12m_after"))
    }

    for subgroup, row in TABLE_1.items():
        table_before, table_after = row[7]
        before, after = means[subgroup]
        assert abs(before - table_before) <= 1 and abs(after - table_after) <= 1, subgroup
    before, after = means[S.MENTAL_HEALTH]
    assert after < before / 2
    for subgroup in (S.DECLINING, S.END_OF_LIFE):
        before, after = means[subgroup]
        assert after - before > 10_000
    # Only those whose episode has ended have a year after it to cost.
    assert costs.count() == episodes().filter(ended_on__isnull=False).count() == 47
    assert not costs.filter(Q(cost_12m_before__lt=0) | Q(cost_12m_after__lt=0)).exists()


@pytest.mark.usefixtures("seeded")
def test_the_clients_are_synthetic_mostly_old_and_mostly_living_alone():
    today = timezone.localdate()
    patients = Patient.objects.filter(referrals__episode__in=episodes()).distinct()
    ages = sorted(age_on(patient.date_of_birth, today) for patient in patients)

    assert len(ages) == 51
    assert ages[0] == 52 and ages[-1] == 99  # Torbay: range 52-99
    assert 76 <= sum(ages) / len(ages) <= 80  # Torbay: mean 77.4
    for patient in patients:
        assert patient.nhs_number.startswith("999") and nhs_number.is_valid(patient.nhs_number)
        assert patient.consents.get().decision == "given"
    assert patients.filter(lives_alone=True).count() >= 0.7 * 51  # Torbay: 37 of 49
    assert patients.filter(is_carer=True).exists() and patients.filter(is_cared_for=True).exists()
    assert (
        not patients.filter(lives_alone=True)
        .filter(Q(is_carer=True) | Q(is_cared_for=True))
        .exists()
    )
    every_name = Patient.objects.values_list("given_name", "family_name")
    assert len(set(every_name)) == Patient.objects.count()


@pytest.mark.usefixtures("seeded")
def test_the_added_value_report_opens_on_torbays_figures():
    first_day, last_day = default_period()
    system = System.objects.get(name=demo.SYSTEM_NAME)

    overall = outcomes_report(system=system, date_from=first_day, date_to=last_day)["overall"]

    assert overall["people"] == 51
    assert 88 <= overall["goals_met_percent"] <= 95
    measures = overall["measures"]
    assert (round(measures["wemwbs"]["before"]), round(measures["wemwbs"]["after"])) == (38, 47)
    assert (
        round(measures["outcomes_star"]["before"]),
        round(measures["outcomes_star"]["after"]),
    ) == (27, 44)
    assert measures["pam"]["level_before"] < 2 < 3 < measures["pam"]["level_after"]
    assert 3000 < overall["cost"]["before"] < 4000 and 7500 < overall["cost"]["after"] < 9000


def test_seeding_again_adds_nothing_even_on_another_day(time_machine):
    time_machine.move_to(TODAY, tick=False)
    assert seed_demo()["episodes"] == 51
    tables = (Patient, Referral, Episode, Goal, EpisodeInput, OutcomeScore, PatientCost)
    counts = [model.objects.count() for model in tables]

    time_machine.move_to(TODAY + datetime.timedelta(days=40), tick=False)
    assert seed_demo()["episodes"] == 0

    assert [model.objects.count() for model in tables] == counts


def test_the_same_clients_are_planned_whatever_the_day():
    first = plan_demo_outcomes(today=datetime.date(2026, 11, 23), max_weeks=12)
    later = plan_demo_outcomes(today=datetime.date(2027, 3, 1), max_weeks=12)
    shift = datetime.date(2027, 3, 1) - datetime.date(2026, 11, 23)

    for one, two in zip(first, later, strict=True):
        assert (one.external_id, one.patient.nhs_number, one.subgroup) == (
            two.external_id, two.patient.nhs_number, two.subgroup
        )  # fmt: skip
        assert one.started_on + shift == two.started_on
        assert [(s.measure, s.score, s.items) for s in one.scores] == [
            (s.measure, s.score, s.items) for s in two.scores
        ]
        assert [(g.description, g.outcome) for g in one.goals] == [
            (g.description, g.outcome) for g in two.goals
        ]
        assert one.cost == two.cost


def test_writing_the_clients_takes_a_bulk_insert_per_table(
    time_machine, monkeypatch, django_assert_max_num_queries
):
    time_machine.move_to(TODAY, tick=False)
    monkeypatch.setattr(demo, "seed_demo_outcomes", lambda **kwargs: 0)
    seed_demo()
    system = System.objects.get(name=demo.SYSTEM_NAME)
    organisations = {o.name: o for o in Organisation.objects.filter(system=system)}

    # Three queries per client are the remit checks intake makes; the rest is one per table.
    with django_assert_max_num_queries(3 * 51 + 20):
        assert seed_demo_outcomes(system=system, organisations=organisations) == 51
    # A second run only looks: the ICC, the service, the referrals (and a savepoint's two).
    with django_assert_max_num_queries(5):
        assert seed_demo_outcomes(system=system, organisations=organisations) == 0
