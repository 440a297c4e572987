"""The episode pages through the real client: opening one from the referral's page, each form
coming back in place with what was typed and its error, the list with its overruns and missing
follow-ups, the scores before and after with the Outcomes Star's chart, who may open them, and
query counts that do not grow with what an episode holds."""

import datetime
import json
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Role
from referrals.models import Episode, EpisodeInput, Goal, OutcomeScore
from referrals.services_outcomes import goal_add, input_add, score_record
from tests.error_summary import error_summary_of, ids_in
from tests.factories import (
    EpisodeFactory,
    EpisodeInputFactory,
    GoalFactory,
    OutcomeScoreFactory,
    ReferralFactory,
    score_fields,
)
from tests.referrals.conftest import STARTED, TODAY

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def page_of(client, user, name, *args, data=None):
    client.force_login(user)
    url = reverse(name, args=args)
    return client.post(url, data) if data is not None else client.get(url)


# --- From the referral's page ----------------------------------------------------------------


def test_the_referral_page_offers_an_episode_then_links_to_it(client, accepted, red_cross_worker):
    before = page_of(client, red_cross_worker, "referral_detail", accepted.pk).content.decode()

    opened = page_of(
        client, red_cross_worker, "episode_open", accepted.pk,
        data={"subgroup": "caregiver", "started_on": STARTED.isoformat()},
    )  # fmt: skip

    episode = Episode.objects.get()
    assert reverse("episode_open", args=[accepted.pk]) in before
    assert opened.status_code == 302
    assert opened["Location"] == reverse("episode_detail", args=[episode.pk])
    after = client.get(reverse("referral_detail", args=[accepted.pk])).content.decode()
    assert reverse("episode_detail", args=[episode.pk]) in after
    assert reverse("episode_open", args=[accepted.pk]) not in after


@pytest.mark.parametrize("person", ["icc", "commissioner"])
def test_others_who_see_the_referral_are_offered_no_episode(client, request, accepted, person):
    user = request.getfixturevalue(person)
    EpisodeFactory(referral=accepted)

    page = page_of(client, user, "referral_detail", accepted.pk).content.decode()

    assert "episode" not in page.lower()
    assert page_of(client, user, "episode_open", accepted.pk).status_code == 403


def test_the_open_page_shows_the_longest_episode_and_the_measures(client, accepted, red_cross_lead):
    page = page_of(client, red_cross_lead, "episode_open", accepted.pk).content.decode()

    terms = re.search(r'data-testid="episode-terms">(.*?)</p>', page, re.S)[1]
    assert "at most 12 weeks" in terms
    assert "WEMWBS, SWEMWBS, PAM, Outcomes Star, Rockwood Clinical Frailty Scale" in terms


def test_a_bad_start_comes_back_in_place_with_what_was_typed(client, accepted, red_cross_worker):
    response = page_of(
        client, red_cross_worker, "episode_open", accepted.pk,
        data={"subgroup": "declining", "started_on": (TODAY + DAY).isoformat()},
    )  # fmt: skip

    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors == {"started_on": ["The start cannot be in the future."]}
    assert 'value="declining" checked' in response.content.decode().replace("\n", " ") or (
        form["subgroup"].value() == "declining"
    )
    assert error_summary_of(response).hrefs == {"#id_started_on"}
    assert not Episode.objects.exists()


def test_a_closed_referral_is_sent_back_with_a_reason(client, accepted, red_cross_worker):
    accepted.status = "closed"
    accepted.save()

    response = page_of(client, red_cross_worker, "episode_open", accepted.pk)

    assert response.status_code == 302
    assert response["Location"] == reverse("referral_detail", args=[accepted.pk])


# --- The episode's page ----------------------------------------------------------------------


def test_the_page_shows_the_length_against_the_specification(client, episode, red_cross_worker):
    page = page_of(client, red_cross_worker, "episode_detail", episode.pk).content.decode()

    length = re.search(r'data-testid="episode-length">(.*?)</dd>', page, re.S)[1]
    assert " ".join(length.split()) == "4 weeks of at most 12 (28 days)"
    assert "episode-overrun" not in page


def test_an_episode_past_its_longest_length_is_flagged(client, accepted, red_cross_worker):
    accepted.referred_at -= datetime.timedelta(days=100)
    accepted.save()
    episode = EpisodeFactory(referral=accepted, started_on=TODAY - 85 * DAY)

    page = page_of(client, red_cross_worker, "episode_detail", episode.pk).content.decode()

    assert 'data-testid="episode-overrun"' in page
    listing = client.get(reverse("episode_list")).content.decode()
    assert "Longer than the specification allows" in listing


def test_each_form_comes_back_in_place_with_its_error_and_what_was_typed(
    client, episode, red_cross_worker
):
    cases = [
        ("episode_goal_add", {"description": "Walk to the shop", "set_on": "2026-02-30"},
         "goal_form", "set_on", "goal-set_on"),
        ("episode_input_add", {"given_on": TODAY.isoformat(), "need": "befriending",
                               "minutes": "1500", "note": "Sat with her all night"},
         "input_form", "minutes", "input-minutes"),
        ("episode_edit", {"subgroup": "social", "started_on": STARTED.isoformat(),
                          "ended_on": (STARTED - DAY).isoformat(), "version": "1"},
         "edit_form", "ended_on", "episode-ended_on"),
    ]  # fmt: skip
    for name, data, form_name, field, field_id in cases:
        response = page_of(client, red_cross_worker, name, episode.pk, data=data)

        assert response.status_code == 400, name
        form = response.context[form_name]
        assert list(form.errors) == [field], (name, form.errors)
        page = response.content.decode()
        assert f"#{field_id}" in error_summary_of(response).hrefs, name
        assert field_id in ids_in(response), name
        for typed in data.values():
            if typed not in ("1", "2026-02-30", "befriending", "social"):
                assert typed in page, (name, typed)
        assert 'value="befriending" selected' in page or name != "episode_input_add"
    assert not (Goal.objects.exists() or EpisodeInput.objects.exists())


def test_an_item_out_of_range_is_refused_beside_it_keeping_the_rest(
    client, episode, red_cross_worker
):
    items = {f"item_{n}": "3" for n in range(1, 15)} | {"item_9": "6"}

    response = page_of(
        client, red_cross_worker, "episode_score_record", episode.pk,
        data={"measure": "wemwbs", "timepoint": "baseline", "taken_on": STARTED.isoformat(),
              **items},
    )  # fmt: skip

    assert response.status_code == 400
    form = response.context["score_form"]
    assert form.errors == {"item_9": ["The score for statement 9 is from 1 to 5."]}
    page = response.content.decode()
    assert error_summary_of(response).hrefs == {"#wemwbs-baseline-item_9"}
    assert 'id="wemwbs-baseline-item_9"' in page and 'value="6"' in page
    assert not OutcomeScore.objects.exists()


def test_a_score_recorded_through_the_page_is_shown_before_and_after(
    client, episode, red_cross_worker
):
    baseline = {f"item_{n}": "2" for n in range(1, 15)}
    follow_up = {f"item_{n}": "4" for n in range(1, 15)}
    for timepoint, items, day in (("baseline", baseline, STARTED), ("follow_up", follow_up, TODAY)):
        response = page_of(
            client, red_cross_worker, "episode_score_record", episode.pk,
            data={"measure": "wemwbs", "timepoint": timepoint, "taken_on": day.isoformat(),
                  **items},
        )  # fmt: skip
        assert response.status_code == 302

    page = client.get(reverse("episode_detail", args=[episode.pk])).content.decode()
    row = re.search(r'data-testid="score-row-wemwbs">(.*?)</tr>', page, re.S)[1]
    cells = [" ".join(re.sub("<[^>]+>", " ", cell).split()) for cell in row.split("<td>")[1:]]
    assert cells == ["28 taken 26 Oct 2026", "56 taken 23 Nov 2026", "+28"]


def test_a_score_is_corrected_from_the_page(client, episode, red_cross_worker, episode_clock):
    score_record(
        episode=episode, user=red_cross_worker, measure="pam", timepoint="baseline",
        taken_on=STARTED, score=48,
    )  # fmt: skip
    form = page_of(client, red_cross_worker, "episode_detail", episode.pk).context["scores"]
    pam = next(entries for row, entries in form if row.measure == "pam")[0].form
    assert pam["score"].value() == Decimal("48.0")
    episode_clock.shift(60)

    response = client.post(
        reverse("episode_score_record", args=[episode.pk]),
        {"measure": "pam", "timepoint": "baseline", "taken_on": STARTED.isoformat(),
         "score": "56.1", "replacing": pam["replacing"].value()},
    )  # fmt: skip
    again = client.post(
        reverse("episode_score_record", args=[episode.pk]),
        {"measure": "pam", "timepoint": "baseline", "taken_on": STARTED.isoformat(),
         "score": "40"},
    )  # fmt: skip

    assert response.status_code == 302
    assert (OutcomeScore.objects.get().score, OutcomeScore.objects.get().level) == (
        Decimal("56.1"), 3,
    )  # fmt: skip
    assert again.status_code == 400
    assert "already recorded" in again.context["score_form"].non_field_errors()[0]


def test_a_measure_the_specification_does_not_ask_for_is_not_offered(
    client, episode, red_cross_worker, episode_specification
):
    episode_specification.outcome_measures = ["rockwood"]
    episode_specification.save()

    page = page_of(client, red_cross_worker, "episode_detail", episode.pk)
    posted = client.post(
        reverse("episode_score_record", args=[episode.pk]),
        {"measure": "pam", "timepoint": "baseline", "taken_on": TODAY.isoformat(), "score": "50"},
    )

    assert [row.measure for row, _ in page.context["scores"]] == ["rockwood"]
    assert 'data-testid="score-form-pam-baseline"' not in page.content.decode()
    assert posted.status_code == 302
    assert not OutcomeScore.objects.exists()


def test_the_star_is_drawn_from_json_beside_a_table_of_the_same_figures(
    client, episode, red_cross_worker
):
    for timepoint, items in (("baseline", [2, 3, 4, 5, 6, 7, 1]), ("follow_up", [6] * 7)):
        score_record(
            episode=episode, user=red_cross_worker, measure="outcomes_star",
            timepoint=timepoint, taken_on=TODAY, items=items,
        )  # fmt: skip

    page = page_of(client, red_cross_worker, "episode_detail", episode.pk).content.decode()

    script = r'<script id="star-data" type="application/json">(.*?)</script>'
    data = json.loads(re.search(script, page)[1])
    assert data["baseline"] == [2, 3, 4, 5, 6, 7, 1] and data["follow_up"] == [6] * 7
    assert 'data-star-chart="star-data"' in page
    assert "js/episode-star-chart" in page
    table = re.search(r'id="star-caption".*?<tbody>(.*?)</tbody>', page, re.S)[1]
    rows = [" ".join(re.sub("<[^>]+>", " ", row).split()) for row in table.split("</tr>")[:-1]]
    assert rows[0] == "Domain 1 2 6" and rows[6] == "Domain 7 1 6"


def test_without_a_star_no_chart_script_is_loaded(client, episode, red_cross_worker):
    page = page_of(client, red_cross_worker, "episode_detail", episode.pk).content.decode()

    assert "chart.umd" not in page and "star-data" not in page


def test_goals_are_counted_set_and_met(client, episode, red_cross_worker):
    goal = goal_add(episode=episode, user=red_cross_worker, description="Walk", set_on=STARTED)
    goal_add(episode=episode, user=red_cross_worker, description="Cook", set_on=STARTED)
    page_of(client, red_cross_worker, "episode_detail", episode.pk)

    marked = client.post(
        reverse("goal_mark", args=[goal.pk]),
        {"outcome": "met", "reviewed_on": TODAY.isoformat(), "updated_at": goal.updated_at},
    )

    assert marked.status_code == 302
    page = client.get(reverse("episode_detail", args=[episode.pk])).content.decode()
    assert re.search(r'data-testid="goal-count">(.*?)</p>', page)[1] == "2 goals set, 1 met."


def test_inputs_are_totalled_by_kind(client, episode, red_cross_worker):
    for need, minutes in (("befriending", 30), ("digital_inclusion", 45), ("shopping", 20)):
        input_add(
            episode=episode, user=red_cross_worker, given_on=TODAY, need=need, minutes=minutes
        )

    page = page_of(client, red_cross_worker, "episode_detail", episode.pk).content.decode()

    totals = re.findall(r'data-testid="input-total">(.*?)</tr>', page)
    assert [" ".join(re.sub("<[^>]+>", " ", row).split()) for row in totals] == [
        "Practical support 1 20", "Social isolation 2 75",
    ]  # fmt: skip


# --- The list --------------------------------------------------------------------------------


def test_the_list_is_in_the_vso_navigation_only(client, user_for_role):
    for role in Role:
        client.force_login(user_for_role(role))
        labels = [
            item.label for item in client.get(reverse("home"), follow=True).context["nav_items"]
        ]
        assert ("Episodes" in labels) == (role in (Role.VSO_LEAD, Role.VSO_WORKER)), role
        expected = 200 if role in (Role.VSO_LEAD, Role.VSO_WORKER) else 403
        assert client.get(reverse("episode_list")).status_code == expected, role


def test_the_list_puts_missing_follow_ups_first(client, episode, red_cross_lead):
    score_record(
        episode=episode, user=red_cross_lead, measure="rockwood", timepoint="baseline",
        taken_on=STARTED, score=5,
    )  # fmt: skip
    Episode.objects.filter(pk=episode.pk).update(ended_on=TODAY)

    page = page_of(client, red_cross_lead, "episode_list").content.decode()

    assert page.index('data-testid="follow-up-row"') < page.index('id="open-heading"')
    row = re.search(r'data-testid="follow-up-row">(.*?)</tr>', page, re.S)[1]
    assert "Rockwood Clinical Frailty Scale" in row


# --- Who may open the pages ------------------------------------------------------------------


@pytest.mark.parametrize("person", ["icc", "commissioner", "administrator", "other_lead"])
def test_an_episode_is_not_found_by_anyone_else(client, request, episode, person):
    user = request.getfixturevalue(person)
    goal = GoalFactory(episode=episode)

    for name, pk in (("episode_detail", episode.pk), ("episode_goal_add", episode.pk),
                     ("episode_score_record", episode.pk), ("goal_mark", goal.pk)):  # fmt: skip
        assert page_of(client, user, name, pk, data={"description": "x"}).status_code == 404
    assert page_of(client, user, "episode_detail", episode.pk).status_code == 404
    assert Goal.objects.count() == 1


def test_another_systems_people_find_nothing(client, episode, western_people):
    for person in western_people.values():
        assert page_of(client, person, "episode_detail", episode.pk).status_code == 404
        assert page_of(client, person, "episode_open", episode.referral.pk).status_code == 404
        if person.role in (Role.VSO_LEAD, Role.VSO_WORKER):
            listing = page_of(client, person, "episode_list").content.decode()
            assert episode.referral.reference not in listing


# --- Queries ---------------------------------------------------------------------------------


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_episode_page_takes_the_same_queries_however_much_it_holds(
    client, episode, red_cross_worker, django_assert_max_num_queries
):
    client.force_login(red_cross_worker)
    url = reverse("episode_detail", args=[episode.pk])
    GoalFactory(episode=episode)
    EpisodeInputFactory(episode=episode)
    OutcomeScoreFactory(episode=episode, measure="wemwbs", **score_fields("wemwbs", [3] * 14))
    few = queries(client, url)
    for n in range(20):
        GoalFactory(episode=episode, description=f"Goal {n}", outcome="met", reviewed_on=TODAY)
        EpisodeInputFactory(episode=episode, need_id=["shopping", "befriending"][n % 2])
    for measure, answers in (("pam", 60), ("rockwood", 4), ("outcomes_star", [5] * 7)):
        OutcomeScoreFactory(episode=episode, measure=measure, **score_fields(measure, answers))
        OutcomeScoreFactory(
            episode=episode, measure=measure, timepoint="follow_up",
            **score_fields(measure, answers),
        )  # fmt: skip

    with django_assert_max_num_queries(few):
        client.get(url)


def test_the_list_takes_the_same_queries_however_many_episodes(
    client, episode, red_cross_lead, icc, home_from_hospital, django_assert_max_num_queries
):
    client.force_login(red_cross_lead)
    few = queries(client, reverse("episode_list"))
    for n in range(30):
        more = EpisodeFactory(
            referral=ReferralFactory(referrer=icc, service=home_from_hospital, status="accepted"),
            started_on=TODAY - (n * 5) * DAY, ended_on=TODAY if n % 3 == 0 else None,
        )  # fmt: skip
        OutcomeScoreFactory(episode=more, measure="rockwood", **score_fields("rockwood", 5))

    with django_assert_max_num_queries(few):
        response = client.get(reverse("episode_list"))

    assert len(response.context["follow_ups"]) > 5
    assert len(response.context["page"]) == 21


# --- The score form as a property ------------------------------------------------------------

JUNK = st.sampled_from(["", " ", "x", "3.5", "1e3", "NaN", "-0", "٣"])
ITEMS = {"wemwbs": (14, 1, 5), "swemwbs": (7, 1, 5), "outcomes_star": (7, 1, 10)}


def _whole(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


def _item_answers_ok(measure: str, values: list[str]) -> bool:
    count, low, high = ITEMS[measure]
    found = [_whole(value) for value in values[:count]]
    return len(found) == count and all(v is not None and low <= v <= high for v in found)


def _single_answer_ok(measure: str, text: str) -> bool:
    try:
        value = Decimal(text.strip())
    except ArithmeticError:
        return False
    if not value.is_finite():
        return False
    if measure == "pam":
        return 0 <= value <= 100 and value == value.quantize(Decimal("0.1"))
    # As Django's IntegerField reads it: "4.00" is 4, "4.5" is not a whole number.
    return value == value.to_integral_value() and 1 <= value <= 9 and "e" not in text.lower()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    measure=st.sampled_from(["wemwbs", "swemwbs", "outcomes_star", "pam", "rockwood"]),
    values=st.lists(st.one_of(st.integers(min_value=-2, max_value=12).map(str), JUNK), max_size=16),
    single=st.one_of(
        st.decimals(min_value=-5, max_value=105, places=2).map(str),
        st.integers(min_value=-2, max_value=12).map(str),
        JUNK,
    ),
)
def test_the_score_form_saves_exactly_the_complete_answers_in_range(
    client, episode, red_cross_worker, measure, values, single
):
    OutcomeScore.objects.filter(episode=episode).delete()
    client.force_login(red_cross_worker)
    answers = (
        {f"item_{n}": value for n, value in enumerate(values, start=1)}
        if measure in ITEMS
        else {"score": single}
    )
    expected = (
        _item_answers_ok(measure, values)
        if measure in ITEMS
        else _single_answer_ok(measure, single)
    )

    response = client.post(
        reverse("episode_score_record", args=[episode.pk]),
        {"measure": measure, "timepoint": "baseline", "taken_on": TODAY.isoformat(), **answers},
    )

    saved = OutcomeScore.objects.filter(episode=episode).first()
    assert (response.status_code, saved is not None) == ((302, True) if expected else (400, False))
