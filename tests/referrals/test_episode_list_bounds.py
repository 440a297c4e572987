"""The episodes list stays a page however long the organisation's history: the follow-ups to
chase are the oldest few, not every one ever missed, and the list's queries do not grow with
either list (issue 16, point 1)."""

import datetime

import pytest
from django.urls import reverse

from referrals import selectors_outcomes
from tests.factories import EpisodeFactory, OutcomeScoreFactory, ReferralFactory, score_fields
from tests.referrals.conftest import TODAY

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


@pytest.fixture
def ended_without_follow_up(episode_clock, icc, home_from_hospital, episode_specification):
    """Ended episodes with a baseline and no follow-up, each a day older than the last."""

    def make(how_many):
        made = []
        for n in range(how_many):
            episode = EpisodeFactory(
                referral=ReferralFactory(
                    referrer=icc, service=home_from_hospital, status="accepted"
                ),
                started_on=TODAY - (100 + n) * DAY,
                ended_on=TODAY - n * DAY,
            )
            OutcomeScoreFactory(episode=episode, measure="rockwood", **score_fields("rockwood", 5))
            made.append(episode)
        return made

    return make


def test_the_oldest_follow_ups_are_shown_and_the_rest_are_said_to_wait(
    client, red_cross_lead, ended_without_follow_up, monkeypatch
):
    monkeypatch.setattr(selectors_outcomes, "FOLLOW_UPS_SHOWN", 3)
    made = ended_without_follow_up(5)
    client.force_login(red_cross_lead)

    response = client.get(reverse("episode_list"))

    oldest_first = sorted(made, key=lambda e: (e.started_on, e.pk))
    assert response.context["follow_ups"] == oldest_first[:3]
    assert "More than 3 episodes missing a follow-up" in response.content.decode()


def test_a_short_list_of_follow_ups_is_counted_exactly(
    client, red_cross_lead, ended_without_follow_up, monkeypatch
):
    monkeypatch.setattr(selectors_outcomes, "FOLLOW_UPS_SHOWN", 3)
    ended_without_follow_up(3)
    client.force_login(red_cross_lead)

    response = client.get(reverse("episode_list"))

    assert len(response.context["follow_ups"]) == 3
    assert "3 episodes missing a follow-up" in response.content.decode()
    assert "More than" not in response.content.decode()


@pytest.mark.parametrize("how_many", [2, 60])
def test_the_list_takes_six_queries_however_many_episodes(
    client, red_cross_worker, ended_without_follow_up, django_assert_max_num_queries, how_many
):
    ended_without_follow_up(how_many)
    client.force_login(red_cross_worker)
    client.get(reverse("episode_list"))  # the first request after signing in saves the session

    # The session, the user, the follow-ups, the open episodes' count and page, the bell.
    with django_assert_max_num_queries(6):
        response = client.get(reverse("episode_list"))

    assert len(response.context["follow_ups"]) == min(how_many, 50)
