"""Outcome scores at baseline and at 12 weeks or exit (referrals/services_outcomes.py): each
measure's exact rule, only the measures the specification asks for, a follow-up only after its
baseline, corrections, the episode's length against its specification, and the VSO lead's list
of missing follow-ups."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from commissioning.codes import SpecificationStatus
from commissioning.instruments import STAR_VERSIONS, SWEMWBS_METRIC
from core.conflicts import EditConflict
from referrals.models import Episode, OutcomeScore
from referrals.scoring import score_figures
from referrals.selectors_outcomes import (
    episodes_needing_follow_up,
    episodes_visible_to,
    measure_rows,
    measures_required,
    open_episodes,
    star_chart,
    with_length,
)
from referrals.services_outcomes import episode_update, score_record
from tests.factories import (
    EpisodeFactory,
    OutcomeScoreFactory,
    ReferralFactory,
    SpecificationFactory,
    score_fields,
)
from tests.referrals.conftest import STARTED, TODAY

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
STAR = STAR_VERSIONS["motivational_7"]


def record(episode, user, measure, timepoint="baseline", taken_on=TODAY, **answers):
    return score_record(
        episode=episode, user=user, measure=measure, timepoint=timepoint, taken_on=taken_on,
        **answers,
    )  # fmt: skip


def refused(call, *arguments, **keywords) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        call(*arguments, **keywords)
    return caught.value.message_dict


# --- Each measure's rule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("measure", "answers", "score", "level", "items"),
    [
        ("wemwbs", {"items": [3] * 14}, Decimal("42"), None, [3] * 14),
        ("wemwbs", {"items": [1] * 14}, Decimal("14"), None, [1] * 14),
        ("wemwbs", {"items": [5] * 14}, Decimal("70"), None, [5] * 14),
        # 7 items of 3: a raw 21, whose metric score the published table gives as 19.25.
        ("swemwbs", {"items": [3] * 7}, Decimal("19.25"), None, [3] * 7),
        ("swemwbs", {"items": [1] * 7}, Decimal("7.00"), None, [1] * 7),
        ("pam", {"score": Decimal("47.0")}, Decimal("47.0"), 1, []),
        ("pam", {"score": Decimal("47.1")}, Decimal("47.1"), 2, []),
        ("pam", {"score": Decimal("55.2")}, Decimal("55.2"), 3, []),
        ("pam", {"score": Decimal("67.1")}, Decimal("67.1"), 4, []),
        ("pam", {"score": 100}, Decimal("100"), 4, []),
        ("outcomes_star", {"items": [4, 5, 6, 7, 3, 2, 1]}, Decimal("28"), None,
         [4, 5, 6, 7, 3, 2, 1]),
        ("rockwood", {"score": 9}, Decimal("9"), None, []),
    ],
)  # fmt: skip
def test_each_measure_is_scored_as_its_instrument_says(
    episode, red_cross_worker, measure, answers, score, level, items
):
    recorded = record(episode, red_cross_worker, measure, **answers)

    recorded.refresh_from_db()
    assert (recorded.score, recorded.level, recorded.items) == (score, level, items)
    assert recorded.item_count == len(items)
    assert recorded.star_version == ("motivational_7" if measure == "outcomes_star" else "")
    assert recorded.updated_by == red_cross_worker


@pytest.mark.parametrize(
    ("measure", "answers", "field", "message"),
    [
        ("wemwbs", {"items": [3] * 13}, "items", "Enter all 14 scores; 13 entered."),
        ("wemwbs", {"items": [3] * 13 + [6]}, "items", "Score 14 is 6; each score is from 1 to 5."),
        ("wemwbs", {"items": [0] + [3] * 13}, "items", "Score 1 is 0"),
        ("wemwbs", {"items": [3] * 14, "score": 42}, "score", "WEMWBS is scored from its items."),
        ("swemwbs", {"items": [3] * 14}, "items", "Enter all 7 scores; 14 entered."),
        ("outcomes_star", {"items": [11] * 7}, "items",
         "Score 1 is 11; each score is from 1 to 10."),
        ("outcomes_star", {"items": [5] * 8}, "items", "Enter all 7 scores; 8 entered."),
        ("pam", {"score": Decimal("100.1")}, "score", "The PAM score is from 0 to 100."),
        ("pam", {"score": Decimal("-1")}, "score", "The PAM score is from 0 to 100."),
        ("pam", {"score": Decimal("55.25")}, "score", "Give the PAM score to one decimal place"),
        ("pam", {}, "score", "Enter the PAM score."),
        ("pam", {"score": 50, "items": [50]}, "items", "PAM has one score."),
        ("rockwood", {"score": 10}, "score", "The Clinical Frailty Scale is from 1 to 9."),
        ("rockwood", {"score": 0}, "score", "The Clinical Frailty Scale is from 1 to 9."),
        ("rockwood", {"score": Decimal("4.5")}, "score", "The Clinical Frailty Scale is a whole"),
    ],
)  # fmt: skip
def test_out_of_range_or_incomplete_answers_are_refused_at_their_field(
    episode, red_cross_worker, measure, answers, field, message
):
    errors = refused(record, episode, red_cross_worker, measure, **answers)

    assert errors[field][0].startswith(message)
    assert not OutcomeScore.objects.exists()


ITEM_RULES = {"wemwbs": (14, 1, 5), "swemwbs": (7, 1, 5), "outcomes_star": (7, 1, 10)}


@given(
    measure=st.sampled_from(sorted(ITEM_RULES)),
    items=st.lists(st.integers(min_value=-3, max_value=13), max_size=16),
)
def test_item_scores_are_accepted_exactly_when_complete_and_in_range(measure, items):
    count, low, high = ITEM_RULES[measure]
    complete_in_range = len(items) == count and all(low <= item <= high for item in items)

    try:
        figures = score_figures(measure=measure, items=items, star=STAR)
    except ValidationError:
        assert not complete_in_range
    else:
        assert complete_in_range
        total = sum(items)
        assert figures.score == (SWEMWBS_METRIC[total] if measure == "swemwbs" else total)
        assert figures.items == items


@given(score=st.decimals(min_value=-5, max_value=105, allow_nan=True, places=2))
def test_pam_scores_are_accepted_exactly_from_0_to_100_to_one_place(score):
    in_range = score.is_finite() and 0 <= score <= 100 and score == score.quantize(Decimal("0.1"))

    try:
        figures = score_figures(measure="pam", score=score)
    except ValidationError:
        assert not in_range
    else:
        assert in_range
        floors = [Decimal("47.1"), Decimal("55.2"), Decimal("67.1")]
        assert figures.level == 1 + sum(score >= floor for floor in floors)


@given(
    score=st.one_of(
        st.integers(min_value=-3, max_value=13),
        st.decimals(places=1, min_value=-3, max_value=13),
    )
)
def test_the_frailty_scale_is_accepted_exactly_as_a_whole_number_from_1_to_9(score):
    whole = Decimal(score) == Decimal(score).to_integral_value() and 1 <= score <= 9

    try:
        score_figures(measure="rockwood", score=score)
    except ValidationError:
        assert not whole
    else:
        assert whole


# --- Only what the specification asks for ----------------------------------------------------


def test_only_the_measures_the_specification_asks_for_are_recorded(
    episode, red_cross_worker, episode_specification
):
    episode_specification.outcome_measures = ["wemwbs", "goals"]
    episode_specification.save()

    errors = refused(record, episode, red_cross_worker, "rockwood", score=4)

    assert measures_required(episode) == ["wemwbs"]
    assert errors["measure"] == [
        "The specification for this episode does not ask for that measure."
    ]


def test_the_measures_are_those_of_the_version_in_force_on_the_episodes_start(
    episode, episode_specification, red_cross_worker
):
    episode_specification.ends_on = STARTED + 9 * DAY
    episode_specification.status = SpecificationStatus.RETIRED
    episode_specification.save()
    SpecificationFactory(
        service=episode_specification.service, framework=episode_specification.framework,
        version=2, outcome_measures=["pam"], max_episode_weeks=8, starts_on=STARTED + 10 * DAY,
    )  # fmt: skip

    later = episode_update(
        episode=episode, user=red_cross_worker, expected_version=1, subgroup="social",
        started_on=STARTED + 10 * DAY, ended_on=None,
    )  # fmt: skip

    assert measures_required(Episode.objects.get(pk=episode.pk)) == ["pam"]
    assert open_episodes(red_cross_worker, today=TODAY).get().max_weeks == 8
    assert later.started_on == STARTED + 10 * DAY


def test_no_specification_in_force_asks_for_nothing(episode, episode_specification):
    episode_specification.status = SpecificationStatus.DRAFT
    episode_specification.save()

    assert measures_required(episode) == []
    assert (
        open_episodes(episode.referral.organisation.users.first(), today=TODAY).get().max_weeks
        is None
    )


def test_a_star_without_a_version_named_cannot_be_recorded(
    episode, episode_specification, red_cross_worker
):
    episode_specification.outcomes_star_version = ""
    episode_specification.save()

    errors = refused(record, episode, red_cross_worker, "outcomes_star", items=[5] * 7)

    assert errors["measure"] == ["Say which version of the Outcomes Star is used."]


# --- Baseline and follow-up ------------------------------------------------------------------


def test_a_follow_up_needs_its_baseline_first(episode, red_cross_worker):
    errors = refused(record, episode, red_cross_worker, "rockwood", "follow_up", score=4)

    assert errors["timepoint"] == ["Record the baseline first: the follow-up is compared with it."]
    assert not OutcomeScore.objects.exists()


def test_a_follow_up_before_its_baseline_is_refused(episode, red_cross_worker):
    record(episode, red_cross_worker, "rockwood", taken_on=STARTED + 5 * DAY, score=5)

    errors = refused(
        record, episode, red_cross_worker, "rockwood", "follow_up", taken_on=STARTED + 4 * DAY,
        score=4,
    )  # fmt: skip

    assert errors["taken_on"] == [
        "The follow-up cannot be before the baseline, taken on 31 Oct 2026."
    ]
    assert OutcomeScore.objects.count() == 1


@pytest.mark.parametrize(
    ("taken_on", "message"),
    [
        (TODAY + DAY, "The day it was taken cannot be in the future."),
        (STARTED - DAY,
         "The day it was taken cannot be before the episode started, on 26 Oct 2026."),
    ],
)  # fmt: skip
def test_a_score_is_dated_within_the_episode(episode, red_cross_worker, taken_on, message):
    errors = refused(record, episode, red_cross_worker, "rockwood", taken_on=taken_on, score=4)

    assert errors["taken_on"] == [message]


def test_the_same_measure_twice_at_a_timepoint_is_refused_saying_what_is_there(
    episode, red_cross_worker, red_cross_lead
):
    record(episode, red_cross_worker, "wemwbs", taken_on=STARTED, items=[3] * 14)

    errors = refused(record, episode, red_cross_lead, "wemwbs", items=[4] * 14)

    assert errors["timepoint"] == [
        "The baseline WEMWBS is already recorded (42, taken on 26 Oct 2026 by Wes Patel): "
        "correct that one instead."
    ]
    assert OutcomeScore.objects.get().score == 42


def test_a_score_is_corrected_naming_the_version_opened(
    episode, red_cross_worker, red_cross_lead, episode_clock
):
    first = record(episode, red_cross_worker, "wemwbs", taken_on=STARTED, items=[3] * 14)
    episode_clock.shift(60)

    corrected = record(
        episode, red_cross_lead, "wemwbs", taken_on=STARTED + DAY, items=[4] * 14,
        expected_updated_at=first.updated_at,
    )  # fmt: skip

    assert OutcomeScore.objects.get() == corrected
    assert (corrected.score, corrected.taken_on, corrected.updated_by) == (
        56, STARTED + DAY, red_cross_lead,
    )  # fmt: skip
    with pytest.raises(EditConflict, match="changed by Vera Lewis"):
        record(
            episode, red_cross_worker, "wemwbs", items=[5] * 14,
            expected_updated_at=first.updated_at,
        )  # fmt: skip
    assert OutcomeScore.objects.get().score == 56


def test_a_baseline_cannot_be_moved_after_its_follow_up(episode, red_cross_worker):
    baseline = record(episode, red_cross_worker, "rockwood", taken_on=STARTED, score=6)
    record(episode, red_cross_worker, "rockwood", "follow_up", taken_on=STARTED + DAY, score=5)

    errors = refused(
        record, episode, red_cross_worker, "rockwood", taken_on=STARTED + 2 * DAY, score=6,
        expected_updated_at=baseline.updated_at,
    )  # fmt: skip

    assert errors["taken_on"] == [
        "The baseline cannot be after the follow-up, taken on 27 Oct 2026."
    ]


# --- Length against the specification -------------------------------------------------------


@pytest.mark.parametrize(
    ("started_days_ago", "ended_on", "weeks", "overrun"),
    [
        (28, None, 4, False),
        (84, None, 12, False),  # exactly 12 weeks is the longest allowed, not past it
        (85, None, 12, True),
        (100, TODAY - 20 * DAY, 11, False),  # ended: measured to its end, not to today
    ],
)
def test_the_weeks_in_and_the_overrun_flag(
    red_cross_worker, accepted, started_days_ago, ended_on, weeks, overrun
):
    accepted.referred_at -= datetime.timedelta(days=100)
    accepted.save()
    EpisodeFactory(referral=accepted, started_on=TODAY - started_days_ago * DAY, ended_on=ended_on)

    found = with_length(episodes_visible_to(red_cross_worker), today=TODAY).get()

    assert (found.weeks_in, found.max_weeks, found.overrun) == (weeks, 12, overrun)


# --- Missing follow-ups ----------------------------------------------------------------------


def answers(measure: str) -> dict:
    return score_fields(measure, 5 if measure == "rockwood" else [3] * 14)


def test_the_lead_is_shown_each_baseline_whose_follow_up_is_due_and_missing(
    red_cross_lead, accepted, icc, home_from_hospital, other_lead
):
    def episode_with(started_days_ago, ended=False, measures=("wemwbs",), followed=()):
        started = TODAY - started_days_ago * DAY
        episode = EpisodeFactory(
            referral=ReferralFactory(
                referrer=icc, service=home_from_hospital, status="accepted",
                referred_at=accepted.referred_at - datetime.timedelta(days=120),
            ),
            started_on=started, ended_on=TODAY if ended else None,
        )  # fmt: skip
        for measure in measures:
            OutcomeScoreFactory(episode=episode, measure=measure, **answers(measure))
        for measure in followed:
            OutcomeScoreFactory(
                episode=episode, measure=measure, timepoint="follow_up", **answers(measure)
            )
        return episode

    twelve_weeks = episode_with(84)
    ended = episode_with(10, ended=True, measures=("wemwbs", "rockwood"))
    episode_with(83)  # not yet due
    episode_with(90, followed=("wemwbs",))  # followed up
    episode_with(90, measures=())  # no baseline: nothing to compare
    partly = episode_with(100, measures=("wemwbs", "rockwood"), followed=("wemwbs",))

    due = list(episodes_needing_follow_up(red_cross_lead, today=TODAY))

    assert due == [partly, twelve_weeks, ended]
    assert [episode.follow_up_missing for episode in due] == [
        ["rockwood"], ["wemwbs"], ["rockwood", "wemwbs"],
    ]  # fmt: skip
    assert list(episodes_needing_follow_up(other_lead, today=TODAY)) == []


# --- The radar chart's data ------------------------------------------------------------------


def test_the_star_chart_holds_each_areas_scores_before_and_after(episode, red_cross_worker):
    record(
        episode, red_cross_worker, "outcomes_star", taken_on=STARTED, items=[2, 3, 4, 5, 6, 7, 1]
    )
    record(episode, red_cross_worker, "outcomes_star", "follow_up", items=[6, 6, 6, 6, 6, 7, 8])

    chart = star_chart(measure_rows(list(episode.scores.all()), required=["outcomes_star"]))

    assert chart == {
        "version": STAR.name,
        "labels": [f"Domain {n}" for n in range(1, 8)],
        "baseline": [2, 3, 4, 5, 6, 7, 1],
        "follow_up": [6, 6, 6, 6, 6, 7, 8],
        "highest": 10,
    }


def test_there_is_no_chart_until_a_star_is_recorded(episode, red_cross_worker):
    record(episode, red_cross_worker, "rockwood", score=3)

    rows = measure_rows(list(episode.scores.all()), required=["outcomes_star", "rockwood"])

    assert star_chart(rows) is None
    assert [row.measure for row in rows] == ["outcomes_star", "rockwood"]
