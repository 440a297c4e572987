"""The concern list a page at a time (core.pagination, keys of several columns): open before
resolved and unacknowledged before acknowledged, then the latest resolved, then the nearest
deadline, then the id; every concern reachable exactly once either way, a count that stops at
a bound, a fixed number of queries however many concerns there are, and the list's order read
from its own index (issue 16, point 1)."""

import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.pagination import EPOCH, SortKey, decode_keys, encode_keys
from referrals import selectors_concerns
from referrals.models import Concern
from referrals.selectors_concerns import CONCERN_LIST_ORDER, concerns_in_state
from tests.factories import ReferralFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 23, 10, 0, tzinfo=datetime.UTC)
HOUR = datetime.timedelta(hours=1)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def on_red_cross(icc, home_from_hospital):
    """A referral to the Red Cross, whose concerns its lead and workers see."""
    return ReferralFactory(service=home_from_hospital, referrer=icc)


def concern(referral, raiser, addressed_to, *, due, acknowledged=None, resolved=None, by=None):
    """A concern in any state, written as it stands (the services are tested elsewhere)."""
    return Concern.objects.create(
        referral=referral,
        raised_by=raiser,
        raised_by_organisation=raiser.organisation,
        addressed_to=addressed_to,
        severity="high",
        description="She has waited 19 days and cannot wash alone.",
        raised_at=due - 48 * HOUR,
        acknowledge_by=due,
        acknowledged_at=acknowledged,
        acknowledged_by=by if acknowledged else None,
        resolved_at=resolved,
        resolved_by=by if resolved else None,
        resolution="A visit is arranged." if resolved else "",
    )


def in_list_order(concerns):
    def key(c):
        stage = 2 if c.resolved_at else 1 if c.acknowledged_at else 0
        resolved = -(c.resolved_at.timestamp()) if c.resolved_at else 0
        return (stage, resolved, c.acknowledge_by, c.pk)

    return sorted(concerns, key=key)


@pytest.fixture
def many(on_red_cross, red_cross_worker, social_care, icc):
    """61 concerns in every state, three of each state to each deadline and to each
    resolution, so that only the id tells neighbours apart at a page's edge."""
    made = []
    for n in range(61):
        due = NOW + (n // 9 - 3) * HOUR
        kind = n % 3
        made.append(
            concern(
                on_red_cross, red_cross_worker, social_care, due=due, by=icc,
                acknowledged=due - HOUR if kind else None,
                resolved=NOW - (n // 18) * HOUR if kind == 2 else None,
            )
        )  # fmt: skip
    return made


def walk(client, query=None):
    pages = []
    response = client.get(reverse("concern_list"), query or {})
    while True:
        assert response.status_code == 200
        page = response.context["page"]
        pages.append(list(page))
        if page.next_url is None:
            return pages, response
        response = client.get(reverse("concern_list") + page.next_url)


def test_paging_walks_every_concern_once_in_the_lists_order_both_ways(
    client, red_cross_worker, many
):
    client.force_login(red_cross_worker)

    pages, last = walk(client)
    backwards = [list(last.context["page"])]
    response = last
    while (url := response.context["page"].previous_url) is not None:
        response = client.get(reverse("concern_list") + url)
        backwards.append(list(response.context["page"]))

    assert [len(rows) for rows in pages] == [25, 25, 11]
    assert [c for rows in pages for c in rows] == in_list_order(many)
    assert backwards == pages[::-1]
    assert last.context["page"].first_url == "?"


def test_the_pages_order_is_the_order_of_the_referral_pages_list(
    red_cross_worker, on_red_cross, many
):
    # The referral's page shows its concerns through the same ordered queryset, unpaged.
    assert list(concerns_in_state(red_cross_worker).filter(referral=on_red_cross)) == (
        in_list_order(many)
    )


def test_a_state_is_kept_in_the_links_and_old_page_numbers_are_dropped(
    client, red_cross_worker, many
):
    client.force_login(red_cross_worker)

    pages, _ = walk(client, {"state": "open", "page": "3"})
    first = client.get(reverse("concern_list"), {"state": "open", "page": "3"})

    assert [len(rows) for rows in pages] == [25, 16]
    assert {c.resolved_at for rows in pages for c in rows} == {None}
    query = parse_qs(urlsplit(first.context["page"].next_url or "").query)
    assert query["state"] == ["open"] and "page" not in query


def test_the_count_stops_at_its_bound(client, red_cross_worker, many, monkeypatch):
    monkeypatch.setattr(selectors_concerns, "CONCERN_COUNT_BOUND", 10)
    client.force_login(red_cross_worker)

    response = client.get(reverse("concern_list"))

    page = response.context["page"]
    assert page.count_bounded and page.count == 10
    assert "More than 10 concerns" in response.content.decode()


def test_a_list_on_one_page_is_counted_exactly_without_a_count(
    client, red_cross_worker, on_red_cross, social_care, icc
):
    for n in range(3):
        concern(on_red_cross, red_cross_worker, social_care, due=NOW + n * HOUR, by=icc)
    client.force_login(red_cross_worker)
    client.get(reverse("concern_list"))

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("concern_list"))

    assert response.context["page"].count == 3 and not response.context["page"].count_bounded
    assert "3 concerns" in response.content.decode()
    assert not [q for q in queries if "COUNT(*)" in q["sql"] and "referrals_concern" in q["sql"]]


@pytest.mark.parametrize("how_many", [3, 60])
@pytest.mark.parametrize("person", ["red_cross_worker", "icc", "commissioner"])
def test_the_list_takes_six_queries_however_many_concerns(
    client, request, on_red_cross, red_cross_worker, social_care, icc,
    django_assert_max_num_queries, person, how_many,
):  # fmt: skip
    for n in range(how_many):
        concern(on_red_cross, red_cross_worker, social_care, due=NOW + n * HOUR, by=icc)
    client.force_login(request.getfixturevalue(person))
    client.get(reverse("concern_list"))  # the first request after signing in saves the session

    # The session, the user, the page's ids, its rows, their count up to a bound (once there
    # is a second page) and the notification bell.
    with django_assert_max_num_queries(6):
        response = client.get(reverse("concern_list"))

    assert len(response.context["page"]) == min(how_many, 25)


@pytest.mark.parametrize(
    "cursor",
    ["", "abc", "1.2", "1.2.3", "1.2.3.4.5", "0.0.0.0", "-1.-1.-1.-1", "1.2.3.x",
     "1.99999999999999999.1.1", "1.-99999999999999999.1.1", "1.2.3.9223372036854775808",
     "\uff11.2.3.4", "1.2.3.4 "],
)  # fmt: skip
@pytest.mark.parametrize("direction", ["after", "before"])
def test_a_cursor_that_is_not_one_is_page_one_or_an_empty_page(
    client, red_cross_worker, many, cursor, direction
):
    client.force_login(red_cross_worker)

    response = client.get(reverse("concern_list"), {direction: cursor})

    assert response.status_code == 200
    first = in_list_order(many)[:25]
    if decode_keys(cursor, CONCERN_LIST_ORDER) is None:
        assert list(response.context["page"]) == first


def test_keys_round_trip_and_refuse_what_is_not_a_place():
    keys = (SortKey("stage"), SortKey("at", descending=True, time=True), SortKey("pk"))
    at = datetime.datetime(2026, 11, 29, 14, 3, 7, 123456, tzinfo=datetime.UTC)

    assert decode_keys(encode_keys((2, at, 42), keys), keys) == (2, at, 42)
    assert decode_keys("2.0.42", keys) == (2, EPOCH, 42)
    assert decode_keys("2.0", keys) is None and decode_keys("2.0.42.1", keys) is None
    assert decode_keys("2.0.9223372036854775808", keys) is None  # beyond a bigint
    assert decode_keys("2.-99999999999999999.1", keys) is None  # before year 1
    assert decode_keys("2.0.+42", keys) is None and decode_keys(None, keys) is None


def test_another_organisation_and_another_system_list_nothing(
    client, other_lead, western_people, many
):
    client.force_login(other_lead)
    assert client.get(reverse("concern_list")).context["page"].count == 0
    for person in western_people.values():
        client.force_login(person)
        response = client.get(reverse("concern_list"))
        if response.status_code == 200:
            assert response.context["page"].count == 0
        else:  # administrators have no concern list
            assert response.status_code == 403


def test_a_cursor_from_someone_elses_list_shows_only_ones_own(
    client, red_cross_worker, other_lead, many
):
    client.force_login(red_cross_worker)
    theirs = client.get(reverse("concern_list")).context["page"]
    client.force_login(other_lead)

    for url in (theirs.next_url, "?before=2.0.0.1"):
        response = client.get(reverse("concern_list") + url)
        assert list(response.context["page"]) == []


def test_the_list_is_read_from_its_own_index(red_cross_worker, many):
    """The expressions of the list's order and of its index are one: PostgreSQL can read the
    page in order, stopping at the page, rather than sort every concern."""
    listed = concerns_in_state(red_cross_worker).values("pk")[:26]
    sql, params = listed.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "concern_list_order" in plan
    assert "Sort" not in plan.split("concern_list_order")[0]


@pytest.mark.parametrize("person", ["red_cross_worker", "icc", "commissioner"])
def test_which_concerns_a_person_sees_is_checked_on_the_row_not_by_gathering_referrals(
    client, request, many, person
):
    """The walk for the page and the count read a concern's own referral, already joined,
    against the person's scope: an EXISTS over "the referrals this person may see" made
    PostgreSQL hash all of an organisation's referrals first (20,000 at 1M, 100 ms a count)."""
    client.force_login(request.getfixturevalue(person))
    client.get(reverse("concern_list"))

    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("concern_list"))

    # pghistory's context rides in front of a request's first statement.
    statements = [q["sql"].split("; ", 1)[-1] for q in queries]
    # The walk for the page's ids and the count read a concern's keys only; the page's rows,
    # read by their ids, read the whole concern.
    walks = [
        sql
        for sql in statements
        if 'FROM "referrals_concern"' in sql and '"referrals_concern"."description"' not in sql
    ]
    assert len(walks) == 2  # the page's ids and the count: 61 concerns make three pages
    assert not [sql for sql in walks if "EXISTS" in sql]


def test_a_concern_keeps_its_referrals_parties_however_it_is_written(
    on_red_cross, red_cross_worker, social_care, icc, age_concern, other_lead
):
    """Who sees a concern is read from its copies of its referral's organisation, referrer and
    team (selectors_concerns._visible_halves): the database makes them on every write, so a
    concern written by hand, in bulk, or with wrong copies still carries the referral's."""
    made = concern(on_red_cross, red_cross_worker, social_care, due=NOW + HOUR)
    (bulk,) = Concern.objects.bulk_create(
        [
            Concern(
                referral=on_red_cross, raised_by=red_cross_worker,
                raised_by_organisation=red_cross_worker.organisation, addressed_to=social_care,
                severity="low", description="Written in bulk.",
                raised_at=NOW, acknowledge_by=NOW + HOUR,
            )
        ]
    )  # fmt: skip
    Concern.objects.filter(pk=made.pk).update(
        referral_organisation=age_concern, referral_referrer=other_lead
    )

    copies = Concern.objects.filter(pk__in=[made.pk, bulk.pk]).values_list(
        "referral_organisation", "referral_referrer", "referral_referrer_organisation"
    )

    expected = (on_red_cross.organisation_id, icc.pk, on_red_cross.referrer_organisation_id)
    assert list(copies) == [expected, expected]
    assert not concerns_in_state(other_lead).exists()
    assert list(concerns_in_state(icc)) == sorted([made, bulk], key=lambda c: c.acknowledge_by)
