"""Episodes of wellbeing co-ordination, their goals and inputs (referrals/services_outcomes.py):
who may record them, and every bad input refused at its field with nothing saved."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import Role
from core.conflicts import EditConflict
from referrals.models import Episode, EpisodeInput, Goal, ReferralStatus
from referrals.selectors_outcomes import episode_on_referral, episodes_visible_to
from referrals.services_outcomes import (
    episode_open,
    episode_update,
    goal_add,
    goal_mark,
    input_add,
    score_record,
)
from tests.factories import EpisodeFactory, ReferralFactory, ServiceFactory
from tests.referrals.conftest import STARTED, TODAY

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def refused(call, **arguments) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        call(**arguments)
    return caught.value.message_dict


# --- Opening an episode ----------------------------------------------------------------------


def test_a_vso_worker_opens_an_episode_from_an_accepted_referral(accepted, red_cross_worker):
    episode = episode_open(
        referral=accepted, user=red_cross_worker, subgroup="end_of_life", started_on=STARTED
    )

    episode.refresh_from_db()
    assert (episode.subgroup, episode.started_on, episode.ended_on) == (
        "end_of_life",
        STARTED,
        None,
    )
    assert episode.created_by == red_cross_worker
    assert episode.version == 1


def test_the_lead_may_open_one_too(accepted, red_cross_lead):
    accepted.status = ReferralStatus.IN_PROGRESS
    accepted.save()

    episode_open(referral=accepted, user=red_cross_lead, subgroup="declining", started_on=TODAY)

    assert Episode.objects.filter(referral=accepted).exists()


@pytest.mark.parametrize("status", ["received", "declined", "closed", "withdrawn"])
def test_an_episode_opens_only_once_a_referral_is_accepted_and_until_it_closes(
    accepted, red_cross_worker, status
):
    accepted.status = status
    accepted.decline_reason = "Outside our area" if status == "declined" else ""
    accepted.save()

    errors = refused(
        episode_open, referral=accepted, user=red_cross_worker, subgroup="social",
        started_on=STARTED,
    )  # fmt: skip

    assert "an episode opens on a voluntary referral once it is accepted" in errors["referral"][0]
    assert not Episode.objects.exists()


def test_a_second_episode_on_a_referral_is_refused_naming_the_first(episode, red_cross_lead):
    errors = refused(
        episode_open, referral=episode.referral, user=red_cross_lead, subgroup="social",
        started_on=TODAY,
    )  # fmt: skip

    assert errors["referral"] == [
        f"{episode.referral.reference} already has an episode, started on 26 Oct 2026 by "
        "Wes Patel: open that one."
    ]
    assert Episode.objects.count() == 1


@pytest.mark.parametrize("person", ["icc", "commissioner", "administrator", "other_lead"])
def test_nobody_but_the_receiving_organisation_may_open_an_episode(request, accepted, person):
    with pytest.raises(PermissionDenied):
        episode_open(
            referral=accepted, user=request.getfixturevalue(person), subgroup="social",
            started_on=STARTED,
        )  # fmt: skip

    assert not Episode.objects.exists()


def test_another_systems_vso_may_not_open_one(accepted, western_people):
    with pytest.raises(PermissionDenied):
        episode_open(
            referral=accepted, user=western_people[Role.VSO_LEAD], subgroup="social",
            started_on=STARTED,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("subgroup", "started_on", "field", "message"),
    [
        ("lonely", STARTED, "subgroup", "Choose the sub-group"),
        ("social", TODAY + DAY, "started_on", "The start cannot be in the future."),
        (
            "social",
            datetime.date(2026, 10, 23),
            "started_on",
            "The start cannot be before the referral was made, on 24 Oct 2026.",
        ),
    ],
)
def test_bad_input_on_opening_is_refused_at_its_field(
    accepted, red_cross_worker, subgroup, started_on, field, message
):
    errors = refused(
        episode_open, referral=accepted, user=red_cross_worker, subgroup=subgroup,
        started_on=started_on,
    )  # fmt: skip

    assert errors[field][0].startswith(message)
    assert not Episode.objects.exists()


def test_the_referral_page_offers_an_episode_to_the_organisation_only(
    accepted, red_cross_worker, icc, commissioner
):
    assert episode_on_referral(red_cross_worker, accepted).may_open
    assert episode_on_referral(icc, accepted) is None
    assert episode_on_referral(commissioner, accepted) is None


# --- Editing and ending an episode -----------------------------------------------------------


def update(episode, user, **changes):
    arguments = {
        "subgroup": episode.subgroup, "started_on": episode.started_on,
        "ended_on": episode.ended_on, "expected_version": episode.version,
    } | changes  # fmt: skip
    return episode_update(episode=episode, user=user, **arguments)


def test_ending_an_episode_is_giving_it_an_end_date(episode, red_cross_lead):
    ended = update(episode, red_cross_lead, ended_on=TODAY - DAY, subgroup="mobilising")

    assert (ended.ended_on, ended.subgroup, ended.version) == (TODAY - DAY, "mobilising", 2)
    assert ended.updated_by == red_cross_lead


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"ended_on": STARTED - DAY}, "ended_on", "The end cannot be before the start."),
        ({"ended_on": TODAY + DAY}, "ended_on", "The end cannot be in the future."),
        ({"started_on": TODAY + DAY}, "started_on", "The start cannot be in the future."),
        ({"subgroup": ""}, "subgroup", "Choose the sub-group"),
    ],
)
def test_bad_dates_on_an_episode_are_refused_at_their_field(
    episode, red_cross_worker, changes, field, message
):
    errors = refused(update, episode=episode, user=red_cross_worker, **changes)

    assert errors[field][0].startswith(message)
    episode.refresh_from_db()
    assert (episode.version, episode.started_on, episode.ended_on) == (1, STARTED, None)


def test_an_episode_cannot_move_away_from_what_is_recorded_in_it(episode, red_cross_worker):
    input_add(
        episode=episode, user=red_cross_worker, given_on=STARTED + 3 * DAY, need="befriending",
        minutes=30,
    )  # fmt: skip

    later_start = refused(
        update, episode=episode, user=red_cross_worker, started_on=STARTED + 4 * DAY
    )
    early_end = refused(update, episode=episode, user=red_cross_worker, ended_on=STARTED + DAY)

    assert "recorded from 29 Oct 2026" in later_start["started_on"][0]
    assert "recorded up to 29 Oct 2026" in early_end["ended_on"][0]


def test_a_stale_edit_is_refused_naming_who_changed_the_episode(
    episode, red_cross_worker, red_cross_lead
):
    update(episode, red_cross_lead, subgroup="declining")

    with pytest.raises(EditConflict, match="changed by Vera Lewis"):
        update(episode, red_cross_worker, subgroup="mobilising", expected_version=1)

    episode.refresh_from_db()
    assert episode.subgroup == "declining"


def test_nobody_else_may_edit_an_episode(episode, other_lead, icc):
    for person in (other_lead, icc):
        with pytest.raises(PermissionDenied):
            update(episode, person, subgroup="declining")


# --- Goals -----------------------------------------------------------------------------------


def test_a_goal_is_set_and_later_marked_met(episode, red_cross_worker, red_cross_lead):
    goal = goal_add(
        episode=episode, user=red_cross_worker, description="  Get to the lunch club  ",
        set_on=STARTED,
    )  # fmt: skip

    marked = goal_mark(
        goal=goal, user=red_cross_lead, outcome="met", reviewed_on=TODAY,
        expected_updated_at=goal.updated_at,
    )  # fmt: skip

    goal.refresh_from_db()
    assert (goal.description, goal.outcome, goal.reviewed_on) == (
        "Get to the lunch club",
        "met",
        TODAY,
    )
    assert marked.updated_by == red_cross_lead


@pytest.mark.parametrize(
    ("description", "set_on", "field", "message"),
    [
        ("   ", STARTED, "description", "Write the goal"),
        ("x" * 201, STARTED, "description", "Too long: 201 characters"),
        ("Walk\x00 again", STARTED, "description", "Contains a control character"),
        ("Walk again", STARTED - DAY, "set_on", "The day the goal was set cannot be before"),
        ("Walk again", TODAY + DAY, "set_on", "The day the goal was set cannot be in the future."),
    ],
)
def test_bad_goals_are_refused_at_their_field(
    episode, red_cross_worker, description, set_on, field, message
):
    errors = refused(
        goal_add, episode=episode, user=red_cross_worker, description=description, set_on=set_on
    )

    assert errors[field][0].startswith(message)
    assert not Goal.objects.exists()


@pytest.mark.parametrize(
    ("outcome", "reviewed_on", "field", "message"),
    [
        ("maybe", TODAY, "outcome", "Choose whether the goal was met."),
        ("met", STARTED + DAY, "reviewed_on", "The review cannot be before the goal was set"),
        ("not_met", TODAY + DAY, "reviewed_on", "The review cannot be in the future."),
    ],
)
def test_bad_marks_are_refused_at_their_field(
    episode, red_cross_worker, outcome, reviewed_on, field, message
):
    goal = goal_add(
        episode=episode, user=red_cross_worker, description="Walk", set_on=STARTED + 2 * DAY
    )

    errors = refused(
        goal_mark, goal=goal, user=red_cross_worker, outcome=outcome, reviewed_on=reviewed_on,
        expected_updated_at=goal.updated_at,
    )  # fmt: skip

    assert errors[field][0].startswith(message)
    goal.refresh_from_db()
    assert (goal.outcome, goal.reviewed_on) == ("", None)


def test_marking_a_goal_someone_else_marked_meanwhile_is_refused(
    episode, red_cross_worker, red_cross_lead, episode_clock
):
    goal = goal_add(episode=episode, user=red_cross_worker, description="Walk", set_on=STARTED)
    opened_at = goal.updated_at
    episode_clock.shift(60)  # a goal's version is the moment it was last saved
    goal_mark(
        goal=goal, user=red_cross_lead, outcome="met", reviewed_on=TODAY,
        expected_updated_at=opened_at,
    )  # fmt: skip

    with pytest.raises(EditConflict, match=r"changed by Vera Lewis .* it is now met"):
        goal_mark(
            goal=goal, user=red_cross_worker, outcome="not_met", reviewed_on=TODAY,
            expected_updated_at=opened_at,
        )  # fmt: skip

    goal.refresh_from_db()
    assert goal.outcome == "met"


# --- Inputs ----------------------------------------------------------------------------------


def test_an_input_is_recorded_with_its_need_and_minutes(episode, red_cross_worker):
    given = input_add(
        episode=episode, user=red_cross_worker, given_on=TODAY, need="care_coordination",
        minutes=90, note=" Rang the GP ",
    )  # fmt: skip

    given.refresh_from_db()
    assert (given.need_id, given.minutes, given.note, given.created_by) == (
        "care_coordination", 90, "Rang the GP", red_cross_worker,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"need": "personal_care"}, "need", "Choose what the input was"),
        ({"need": "nonsense"}, "need", "Choose what the input was"),
        ({"minutes": 0}, "minutes", "Enter the minutes spent, from 1 to 1440"),
        ({"minutes": 1441}, "minutes", "Enter the minutes spent, from 1 to 1440"),
        ({"minutes": True}, "minutes", "Enter the minutes spent"),
        ({"given_on": TODAY + DAY}, "given_on", "The day of the input cannot be in the future."),
        ({"given_on": STARTED - DAY}, "given_on", "The day of the input cannot be before"),
        ({"note": "y" * 201}, "note", "Too long"),
    ],
)
def test_bad_inputs_are_refused_at_their_field(episode, red_cross_worker, changes, field, message):
    arguments = {"given_on": TODAY, "need": "befriending", "minutes": 30} | changes

    errors = refused(input_add, episode=episode, user=red_cross_worker, **arguments)

    assert errors[field][0].startswith(message)
    assert not EpisodeInput.objects.exists()


def test_nothing_is_recorded_after_an_episode_ends(episode, red_cross_worker):
    update(episode, red_cross_worker, ended_on=TODAY - 2 * DAY)
    episode.refresh_from_db()

    errors = refused(
        input_add, episode=episode, user=red_cross_worker, given_on=TODAY, need="befriending",
        minutes=30,
    )  # fmt: skip

    assert errors["given_on"] == [
        "The day of the input cannot be after the episode ended, on 21 Nov 2026."
    ]


@pytest.mark.parametrize("person", ["icc", "commissioner", "administrator", "other_lead"])
def test_nobody_else_may_add_goals_inputs_or_scores(request, episode, person):
    user = request.getfixturevalue(person)
    calls = [
        lambda: goal_add(episode=episode, user=user, description="Walk", set_on=TODAY),
        lambda: input_add(
            episode=episode, user=user, given_on=TODAY, need="befriending", minutes=5
        ),
        lambda: score_record(
            episode=episode, user=user, measure="rockwood", timepoint="baseline", taken_on=TODAY,
            score=4,
        ),
    ]  # fmt: skip
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()
    assert not (Goal.objects.exists() or EpisodeInput.objects.exists())


# --- Who sees episodes -----------------------------------------------------------------------


def test_only_the_receiving_organisations_people_see_an_episode(
    episode, red_cross_lead, red_cross_worker, icc, commissioner, administrator, other_lead,
    western_people,
):  # fmt: skip
    seen = {
        person: list(episodes_visible_to(person))
        for person in (red_cross_lead, red_cross_worker, icc, commissioner, administrator,
                       other_lead, *western_people.values())
    }  # fmt: skip

    assert seen.pop(red_cross_lead) == [episode]
    assert seen.pop(red_cross_worker) == [episode]
    assert all(found == [] for found in seen.values())


def test_each_organisation_sees_only_its_own_episodes(
    episode, other_lead, age_concern, icc, red_cross_worker
):
    theirs = EpisodeFactory(
        referral=ReferralFactory(
            referrer=icc, service=ServiceFactory(organisation=age_concern), status="accepted"
        )
    )

    assert list(episodes_visible_to(other_lead)) == [theirs]
    assert list(episodes_visible_to(red_cross_worker)) == [episode]
