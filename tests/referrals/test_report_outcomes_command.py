"""`python manage.py report outcomes`: the report as JSON in full, as CSV with small numbers
suppressed, and a clear message for a bad name or date."""

import csv
import datetime
import io
import json
import re

import pytest
import time_machine
from django.core.management import CommandError, call_command

from referrals.models import Subgroup
from tests.factories import (
    EpisodeFactory,
    GoalFactory,
    OrganisationFactory,
    OutcomeScoreFactory,
    PatientCostFactory,
    ReferralFactory,
    ServiceFactory,
    score_fields,
)

pytestmark = pytest.mark.django_db

JUNE = ("--from", "2026-06-01", "--to", "2026-06-30")


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(datetime.datetime(2026, 11, 20, 9, 0, tzinfo=datetime.UTC)):
        yield


def run(*args) -> str:
    out = io.StringIO()
    call_command("report", "outcomes", *args, stdout=out)
    return out.getvalue()


def rows(*args) -> dict[str, dict[str, str]]:
    return {row["group"]: row for row in csv.DictReader(io.StringIO(run(*args, "--format", "csv")))}


@pytest.fixture
def people(icc, home_from_hospital, system):
    """Seven people at Home from Hospital: six maintaining their mental health, one declining.
    Each: WEMWBS 28 -> 42, one goal met, costs £1,000 -> £1,500."""

    def person(subgroup):
        referral = ReferralFactory(
            referrer=icc, service=home_from_hospital, status="accepted",
            referred_at=datetime.datetime(2026, 6, 2, 10, tzinfo=datetime.UTC),
        )  # fmt: skip
        episode = EpisodeFactory(referral=referral, subgroup=subgroup)
        for timepoint, value in (("baseline", 2), ("follow_up", 3)):
            OutcomeScoreFactory(episode=episode, measure="wemwbs", timepoint=timepoint,
                                **score_fields("wemwbs", [value] * 14))  # fmt: skip
        GoalFactory(episode=episode, outcome="met", reviewed_on=datetime.date(2026, 8, 30))
        PatientCostFactory(system=system, patient=referral.patient, cost_12m_before=1000,
                           cost_12m_after=1500)  # fmt: skip

    for _ in range(6):
        person(Subgroup.MENTAL_HEALTH)
    person(Subgroup.DECLINING)


def test_the_json_has_the_keys_the_issue_names(people):
    data = json.loads(run(*JUNE))

    assert {"period", "overall", "by_group"} <= set(data)
    assert data["period"] == {"from": "2026-06-01", "to": "2026-06-30"}
    for group in (data["overall"], *data["by_group"]):
        assert {"people", "goals_set", "goals_met", "measures", "cost"} <= set(group)
        assert {"wemwbs", "pam", "outcomes_star", "rockwood"} <= set(group["measures"])
        for figures in group["measures"].values():
            assert {"people", "before", "after", "change_percent"} <= set(figures)
        assert {"people", "before", "after", "change"} <= set(group["cost"])
    assert all("group" in group for group in data["by_group"])
    assert {"by_service", "by_place"} <= set(data["parity"])


def test_the_json_is_in_full_small_numbers_included(people):
    data = json.loads(run(*JUNE))

    declining = next(g for g in data["by_group"] if g["group"] == "declining")
    assert (data["overall"]["people"], declining["people"]) == (7, 1)
    assert declining["measures"]["wemwbs"]["before"] == 28.0


def test_the_csv_suppresses_small_numbers_and_what_would_give_them_away(people):
    table = rows(*JUNE)

    assert list(table) == ["overall", *Subgroup.values]
    overall, mental, declining = table["overall"], table["mental_health"], table["declining"]
    assert (overall["people"], overall["wemwbs_before"], overall["cost_change"]) == (
        "7", "28.0", "3500.0",
    )  # fmt: skip
    assert (declining["people"], declining["goals_met"]) == ("<5", "<5")
    assert (declining["wemwbs_before"], declining["cost_change"]) == ("withheld", "withheld")
    # Everyone less the six would give the one away: the six are withheld too.
    assert (mental["people"], mental["wemwbs_people"], mental["cost_people"]) == (
        "withheld", "withheld", "withheld",
    )  # fmt: skip
    assert (mental["wemwbs_after"], mental["cost_change"]) == ("withheld", "withheld")
    assert table["caregiver"]["people"] == "0"


def test_a_scope_is_found_by_name_in_any_capitals(people, age_concern):
    ours = json.loads(run(*JUNE, "--organisation", "eastern red cross home from hospital",
                          "--service", "HOME FROM HOSPITAL", "--place", "northbridge"))  # fmt: skip
    theirs = json.loads(run(*JUNE, "--organisation", age_concern.name))

    assert ours["scope"] == {
        "organisation": "Eastern Red Cross Home from Hospital",
        "service": "Home from Hospital",
        "place": "Northbridge",
    }
    assert theirs["overall"]["people"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--organisation", "Atlantis Trust"], "No organisation called 'Atlantis Trust'. "
         "Organisations: Age Concern Eastmoor Befriending, Eastern Red Cross Home from Hospital."),
        (["--organisation", "NHS Eastern Health ICB"], "No organisation called"),
        (["--service", "Lunch Club"], "No service called 'Lunch Club'. Services: Befriending, "
         "Home from Hospital."),
        (["--organisation", "Age Concern Eastmoor Befriending", "--service", "Home from Hospital"],
         "Services: Befriending."),
        (["--place", "Atlantis"], "No place called 'Atlantis'"),
        (["--service", "Westbay Helping Hands"], "No service called"),
    ],
)  # fmt: skip
def test_a_name_not_in_the_system_is_refused_with_the_names_there_are(
    people, age_concern, icb, western_people, args, message
):
    ServiceFactory(organisation=age_concern, name="Befriending")
    ServiceFactory(
        organisation=western_people["vso_lead"].organisation, name="Westbay Helping Hands"
    )

    with pytest.raises(CommandError, match=re.escape(message)):
        run(*JUNE, "--system", "eastern health", *args)


def test_two_services_of_one_name_need_their_organisation(people, age_concern, system):
    ServiceFactory(organisation=age_concern, name="Home from Hospital")

    with pytest.raises(CommandError, match="Several services are called"):
        run(*JUNE, "--service", "Home from Hospital")
    scoped = json.loads(
        run(*JUNE, "--service", "Home from Hospital", "--organisation", age_concern.name)
    )
    assert scoped["overall"]["people"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-06-30", "--to", "2026-06-01"], "ends before it starts"),
        (["--from", "30/06/2026", "--to", "2026-07-01"], "--from must be a date"),
        (["--from", "2026-06-01", "--to", "2028-01-01"], "--to 2028-01-01: Cannot be after"),
        (["--from", "1999-12-31", "--to", "2026-06-30"], "Cannot be before 1 January 2000"),
    ],
)
def test_a_bad_period_is_refused(system, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_organisation_and_service_belong_to_the_outcomes_report_only(system):
    with pytest.raises(CommandError, match="for the outcomes report only"):
        call_command("report", "referral-split", *JUNE, "--service", "Home from Hospital")


def test_another_systems_organisation_is_not_found(people, western_people):
    OrganisationFactory(system=western_people["icc"].organisation.system, voluntary=True,
                        name="Western Only")  # fmt: skip

    with pytest.raises(CommandError, match="No organisation called 'Western Only'"):
        run(*JUNE, "--system", "Eastern Health", "--organisation", "Western Only")
