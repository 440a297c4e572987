"""The "Added value" pages: the commissioner's (suppressed, whole system), the dashboard's section
of it, the VSO lead's own outcomes (in full on the page) and their CSVs (always suppressed)."""

import csv
import datetime
import io

import pytest
import time_machine
from django.urls import reverse

from accounts.models import Role
from tests.factories import (
    EpisodeFactory,
    EpisodeInputFactory,
    GoalFactory,
    OutcomeScoreFactory,
    PatientCostFactory,
    PatientFactory,
    ReferralFactory,
    ServiceFactory,
    SpecificationFactory,
    score_fields,
)

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 20)
PERIOD = {"date_from": "2026-04-01", "date_to": "2026-11-19"}


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(datetime.datetime(2026, 11, 20, 9, 0, tzinfo=datetime.UTC)):
        yield


def clients(service, count: int, *, before: int = 3, after: int = 4, cost=(1000, 1500)):
    """`count` people with an episode on the service, WEMWBS all `before` then all `after` on
    each of the 14 items, two goals (one met), one input, and their costs."""
    episodes = []
    for number in range(count):
        referral = ReferralFactory(
            service=service,
            status="accepted",
            # Family names no organisation's or heading's share, so the check that a CSV names
            # nobody cannot fail by chance the way a random "Cross" once matched "Red Cross".
            patient=PatientFactory(family_name=f"Quenby{'abcdefghij'[number % 10]}{number}"),
            referred_at=datetime.datetime(2026, 6, 1, 10, 0, tzinfo=datetime.UTC),
        )
        episode = EpisodeFactory(referral=referral, started_on=datetime.date(2026, 6, 2))
        for timepoint, value, day in (("baseline", before, 2), ("follow_up", after, 25)):
            OutcomeScoreFactory(
                episode=episode, measure="wemwbs", timepoint=timepoint,
                taken_on=datetime.date(2026, 6 if day == 2 else 8, day),
                **score_fields("wemwbs", [value] * 14),
            )  # fmt: skip
        GoalFactory(episode=episode, outcome="met", reviewed_on=datetime.date(2026, 8, 25))
        GoalFactory(episode=episode)
        EpisodeInputFactory(episode=episode)
        PatientCostFactory(
            system=service.organisation.system,
            patient=referral.patient,
            cost_12m_before=cost[0],
            cost_12m_after=cost[1],
        )
        episodes.append(episode)
    return episodes


def page(client, user, name, **query):
    client.force_login(user)
    return client.get(reverse(name), PERIOD | query)


def csv_rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_a_commissioner_sees_the_system_figures_with_small_numbers_suppressed(
    client, commissioner, home_from_hospital
):
    clients(home_from_hospital, 3)
    response = page(client, commissioner, "added_value")
    assert response.status_code == 200
    summary = response.context["report"]["overall"]
    assert summary["people"] == "<5"
    html = response.content.decode()
    assert "&lt;5" in html
    assert "42.0" not in html and "56.0" not in html  # WEMWBS means of 3 people are withheld


def test_five_people_are_shown_in_full_to_a_commissioner(client, commissioner, home_from_hospital):
    clients(home_from_hospital, 5)
    response = page(client, commissioner, "added_value")
    wemwbs = response.context["report"]["overall"]["measures"]["wemwbs"]
    assert (wemwbs["people"], wemwbs["before"], wemwbs["after"]) == (5, 42.0, 56.0)
    assert wemwbs["change_percent"] == pytest.approx(33.3, abs=0.1)
    assert "42.0 → 56.0" in response.content.decode()


def test_a_vso_lead_sees_their_own_clients_in_full_and_no_one_elses(
    client, red_cross_lead, home_from_hospital, age_concern
):
    clients(home_from_hospital, 2)
    befriending = ServiceFactory(organisation=age_concern, name="Befriending")
    SpecificationFactory(service=befriending)
    clients(befriending, 6, before=2, after=2)
    response = page(client, red_cross_lead, "our_outcomes")
    assert response.status_code == 200
    overall = response.context["report"]["overall"]
    assert overall["people"] == 2
    assert overall["measures"]["wemwbs"]["before"] == 42.0
    # Other organisations' funding shares are for commissioners to compare.
    services = {row["service"] for row in response.context["parity"]["by_service"]}
    assert services == {"Home from Hospital"}


def test_a_lead_cannot_widen_the_scope_to_another_organisation(client, red_cross_lead, age_concern):
    befriending = ServiceFactory(organisation=age_concern, name="Befriending")
    SpecificationFactory(service=befriending)
    clients(befriending, 6)
    response = page(
        client, red_cross_lead, "our_outcomes", organisation=age_concern.pk, service=befriending.pk
    )
    assert response.status_code == 200
    assert "service" in response.context["form"].errors
    assert "report" not in response.context


def test_every_csv_is_suppressed_and_names_nobody(
    client, commissioner, red_cross_lead, home_from_hospital
):
    episodes = clients(home_from_hospital, 3)
    for user, name in ((commissioner, "added_value_csv"), (red_cross_lead, "our_outcomes_csv")):
        response = page(client, user, name)
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv"
        rows = csv_rows(response)
        overall = next(row for row in rows if row["group"] == "overall")
        assert overall["people"] == "<5"
        text = response.content.decode()
        for episode in episodes:
            patient = episode.referral.patient
            assert patient.nhs_number not in text
            assert patient.family_name not in text


@pytest.mark.usefixtures("reports_at_once")  # the dashboard's own reports, as if prepared
def test_the_dashboard_fetches_its_added_value_section(client, commissioner, home_from_hospital):
    clients(home_from_hospital, 5)
    client.force_login(commissioner)
    dashboard = client.get(reverse("dashboard"), PERIOD).content.decode()
    section_url = reverse("added_value_section")
    assert f'hx-get="{section_url}?date_from=2026-04-01&amp;date_to=2026-11-19"' in dashboard
    section = client.get(section_url, PERIOD)
    assert section.status_code == 200
    html = section.content.decode()
    assert 'id="added-value-heading"' in html
    assert "Parity of esteem" in html
    assert section.context["report"]["overall"]["people"] == 5


@pytest.mark.parametrize("name", ["added_value_section", "added_value", "our_outcomes"])
def test_the_pages_take_the_same_queries_however_many_clients(
    client, commissioner, red_cross_lead, home_from_hospital, django_assert_max_num_queries, name
):
    user = red_cross_lead if name == "our_outcomes" else commissioner
    clients(home_from_hospital, 2)
    client.force_login(user)
    client.get(reverse(name), PERIOD)  # the first request of a session fills caches
    with django_assert_max_num_queries(20) as few:
        client.get(reverse(name), PERIOD)
        baseline = len(few)
    clients(home_from_hospital, 8)
    with django_assert_max_num_queries(baseline) as many:
        client.get(reverse(name), PERIOD)
        assert len(many) == baseline


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"date_from": "2026-11-19", "date_to": "2026-04-01"}, "date_to", "ends before it starts"),
        ({"date_from": "31/02/2026"}, "date_from", "real date"),
        ({"date_from": "1800-01-01"}, "date_from", ""),
        ({"service": "999999"}, "service", "valid choice"),
    ],
)
def test_bad_choices_are_refused_at_their_field(client, commissioner, query, field, message):
    response = page(client, commissioner, "added_value", **query)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert "report" not in response.context


def test_a_service_of_another_organisation_is_refused_beside_the_service(
    client, commissioner, home_from_hospital, age_concern
):
    response = page(
        client, commissioner, "added_value",
        organisation=age_concern.pk, service=home_from_hospital.pk,
    )  # fmt: skip
    assert "is not a service of" in response.context["form"].errors["service"][0]


def test_another_system_sees_none_of_it(client, western_people, home_from_hospital):
    clients(home_from_hospital, 6)
    response = page(client, western_people[Role.COMMISSIONER], "added_value")
    assert response.context["report"]["overall"]["people"] in (0, "0")
    lead = page(client, western_people[Role.VSO_LEAD], "our_outcomes")
    assert lead.context["report"]["overall"]["people"] == 0
    # Eastern's service is no choice of theirs.
    chosen = page(
        client, western_people[Role.COMMISSIONER], "added_value", service=home_from_hospital.pk
    )
    assert "service" in chosen.context["form"].errors


@pytest.mark.parametrize("role", [Role.ICC, Role.VSO_WORKER, Role.ADMINISTRATOR])
def test_other_roles_are_turned_away(client, user_for_role, role):
    client.force_login(user_for_role(role))
    for name in ("added_value", "added_value_csv", "added_value_section"):
        assert client.get(reverse(name), PERIOD).status_code == 403
    assert client.get(reverse("our_outcomes"), PERIOD).status_code == 403
