"""What the episode tests share (test_episode*.py): a frozen clock, a specification that asks for
every scored measure, and an episode on an accepted Red Cross referral."""

import datetime

import pytest
import time_machine

from referrals.models import ReferralStatus
from referrals.services_outcomes import episode_open
from tests.factories import ReferralFactory

NOW = datetime.datetime(2026, 11, 23, 10, 0, tzinfo=datetime.UTC)
TODAY = datetime.date(2026, 11, 23)
STARTED = datetime.date(2026, 10, 26)  # four weeks before TODAY
EVERY_MEASURE = ["wemwbs", "swemwbs", "pam", "outcomes_star", "rockwood", "goals"]


@pytest.fixture
def episode_clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def episode_specification(home_from_hospital):
    """Home from Hospital's specification, asking for every measure, episodes of 12 weeks."""
    spec = home_from_hospital.specifications.get()
    spec.outcome_measures = EVERY_MEASURE
    spec.outcomes_star_version = "motivational_7"
    spec.max_episode_weeks = 12
    spec.save()
    return spec


@pytest.fixture
def accepted(episode_clock, icc, home_from_hospital, episode_specification):
    """A referral the Red Cross accepted, made a month before today."""
    return ReferralFactory(
        referrer=icc,
        service=home_from_hospital,
        status=ReferralStatus.ACCEPTED,
        referred_at=NOW - datetime.timedelta(days=30),
    )


@pytest.fixture
def episode(accepted, red_cross_worker):
    return episode_open(
        referral=accepted, user=red_cross_worker, subgroup="social", started_on=STARTED
    )
