"""The referral list and the waiting list, a page at a time (core.pagination): a fixed number of
queries however many referrals there are, every referral reachable exactly once, a count that
stops at a bound, and the referrer's "me or my team" read as a union of two index ranges
(issue 16, point 1)."""

import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from core import pagination
from core.pagination import Cursor
from tests.factories import OrganisationFactory, ReferralFactory, UserFactory

pytestmark = pytest.mark.django_db

STATUTORY = {"service": None, "destination_sector": "social_care"}


def walk(client, name, query=None, *, link="next_url"):
    """Every page from the first, following one kind of link: the rows of each page."""
    pages = []
    response = client.get(reverse(name), query or {})
    while True:
        assert response.status_code == 200
        page = response.context["page"]
        pages.append(list(page))
        url = getattr(page, link)
        if url is None:
            return pages, response
        response = client.get(reverse(name) + url)


@pytest.fixture
def list_people(icc, commissioner, red_cross_lead, red_cross_worker):
    return {
        Role.ICC: icc,
        Role.COMMISSIONER: commissioner,
        Role.VSO_LEAD: red_cross_lead,
        Role.VSO_WORKER: red_cross_worker,
    }


@pytest.mark.parametrize("how_many", [5, 50])
@pytest.mark.parametrize("role", [Role.ICC, Role.COMMISSIONER, Role.VSO_LEAD, Role.VSO_WORKER])
def test_the_referral_list_takes_six_queries_however_many_referrals(
    client, list_people, icc, home_from_hospital, django_assert_max_num_queries, role, how_many
):
    ReferralFactory.create_batch(how_many, service=home_from_hospital, referrer=icc)
    client.force_login(list_people[role])
    client.get(reverse("referral_list"))  # the first request after signing in saves the session

    # The session, the user, the page, its bounded count, the bell and the filter's places.
    with django_assert_max_num_queries(6):
        response = client.get(reverse("referral_list"), {"status": "received"})

    page = response.context["page"]
    assert len(page) == min(how_many, 25) and page.count == how_many
    assert (page.next_url is not None) == (how_many > 25)


@pytest.mark.parametrize("how_many", [5, 80])
def test_the_waiting_list_takes_six_queries_however_many_waits(
    client, icc, social_care, home_from_hospital, django_assert_max_num_queries, how_many
):
    waits = ReferralFactory.create_batch(
        how_many, referrer=icc, organisation=social_care, **STATUTORY
    )
    for wait in waits[:3]:
        ReferralFactory(referrer=icc, service=home_from_hospital, interim_cover_for=wait)
    client.force_login(icc)
    client.get(reverse("referral_waiting"))  # the first request after signing in saves the session

    with django_assert_max_num_queries(6):
        response = client.get(reverse("referral_waiting"))

    assert len(response.context["page"]) == min(how_many, 50)
    assert response.context["page"].count == how_many


def test_paging_walks_every_referral_once_in_order_with_ties_on_the_time(
    client, icc, home_from_hospital
):
    # Three referrals to each second: only the id tells them apart, at every page's edge.
    start = timezone.now() - datetime.timedelta(days=3)
    referrals = [
        ReferralFactory(
            service=home_from_hospital, referrer=icc,
            referred_at=start + datetime.timedelta(seconds=n // 3),
        )
        for n in range(61)
    ]  # fmt: skip
    expected = sorted(referrals, key=lambda r: (r.referred_at, r.pk), reverse=True)
    client.force_login(icc)

    pages, last = walk(client, "referral_list")
    backwards = [list(last.context["page"])]
    response = last
    while (url := response.context["page"].previous_url) is not None:
        response = client.get(reverse("referral_list") + url)
        backwards.append(list(response.context["page"]))

    assert [len(rows) for rows in pages] == [25, 25, 11]
    assert [r for rows in pages for r in rows] == expected
    assert backwards == pages[::-1]
    assert last.context["page"].first_url == "?"


def test_the_next_link_keeps_the_filters_and_drops_old_page_numbers(
    client, icc, home_from_hospital
):
    ReferralFactory.create_batch(30, service=home_from_hospital, referrer=icc, urgency="urgent")
    ReferralFactory.create_batch(3, service=home_from_hospital, referrer=icc, urgency="routine")
    client.force_login(icc)

    pages, first = walk(client, "referral_list", {"urgency": "urgent", "page": "7"})

    query = parse_qs(urlsplit(first.context["page"].first_url or "").query)
    assert query == {"urgency": ["urgent"]}
    assert [len(rows) for rows in pages] == [25, 5]
    assert {r.urgency for rows in pages for r in rows} == {"urgent"}


def test_the_count_stops_at_its_bound(client, icc, home_from_hospital, monkeypatch):
    monkeypatch.setattr(pagination, "COUNT_BOUND", 10)
    ReferralFactory.create_batch(30, service=home_from_hospital, referrer=icc)
    client.force_login(icc)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("referral_list"))

    page = response.context["page"]
    assert page.count_bounded and page.count == 10
    # Each half stops reading at the bound and a row, however many there are.
    (count,) = [q["sql"] for q in queries if q["sql"].startswith("SELECT COUNT(*) FROM ((")]
    assert count.count("LIMIT 11") == 2
    assert "More than 10 referrals" in response.content.decode()


@pytest.mark.parametrize(
    "cursor",
    ["", "abc", "1.2.3", "-1", "99999999999999999.1", "-99999999999999999.1",
     "1.99999999999999999999", "1.9223372036854775808", "\uff11\uff12.\uff13", "0.0"],
)  # fmt: skip
@pytest.mark.parametrize("direction", ["after", "before"])
def test_a_cursor_that_is_not_one_is_page_one_or_an_empty_page(
    client, icc, home_from_hospital, cursor, direction
):
    ReferralFactory.create_batch(3, service=home_from_hospital, referrer=icc)
    client.force_login(icc)

    for name in ("referral_list", "referral_waiting"):
        assert client.get(reverse(name), {direction: cursor}).status_code == 200


def test_cursors_round_trip_and_refuse_what_is_not_one():
    at = datetime.datetime(2026, 11, 29, 14, 3, 7, 123456, tzinfo=datetime.UTC)

    assert Cursor.decode(Cursor(at=at, pk=42).encode()) == Cursor(at=at, pk=42)
    assert Cursor.decode("1.9223372036854775808") is None  # beyond a bigint id
    assert Cursor.decode("99999999999999999.1") is not None  # year 5138: a date, if unlikely
    assert Cursor.decode("-99999999999999999.1") is None  # before year 1
    assert Cursor.decode("1.2 ") is None and Cursor.decode(None) is None
    assert Cursor.decode("\uff11\uff12.\uff13") is None  # digits, but not ASCII ones


def test_the_referrers_list_is_a_union_of_their_own_and_their_teams(
    client, icc, community_trust, home_from_hospital
):
    colleague = UserFactory(role=Role.ICC, organisation=community_trust)
    elsewhere = OrganisationFactory(system=community_trust.system, name="Another team")
    own_from_another_team = ReferralFactory(
        service=home_from_hospital, referrer=icc, referrer_organisation=elsewhere
    )
    teams = ReferralFactory(service=home_from_hospital, referrer=colleague)
    both = ReferralFactory(service=home_from_hospital, referrer=icc)
    ReferralFactory(service=home_from_hospital, referrer=UserFactory(role=Role.ICC))
    client.force_login(icc)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("referral_list"))

    assert set(response.context["page"]) == {own_from_another_team, teams, both}
    assert len(response.context["page"]) == 3  # in both halves, shown once
    (listed,) = [q["sql"] for q in queries if "referrals_referral" in q["sql"]]
    # An OR of the two columns would read and sort the whole team's referrals for every page.
    assert " UNION " in listed
    assert f'"referrer_id" = {icc.pk} OR' not in listed


def test_another_organisation_and_another_system_list_nothing(
    client, icc, other_lead, western_people, home_from_hospital, social_care
):
    ReferralFactory.create_batch(30, service=home_from_hospital, referrer=icc)
    ReferralFactory.create_batch(3, referrer=icc, organisation=social_care, **STATUTORY)

    client.force_login(other_lead)
    assert client.get(reverse("referral_list")).context["page"].count == 0
    for role in (Role.ICC, Role.COMMISSIONER, Role.VSO_LEAD, Role.VSO_WORKER):
        client.force_login(western_people[role])
        assert client.get(reverse("referral_list")).context["page"].count == 0
    for role in (Role.ICC, Role.COMMISSIONER):
        client.force_login(western_people[role])
        assert client.get(reverse("referral_waiting")).context["page"].count == 0


def test_a_cursor_from_someone_elses_list_shows_only_ones_own(
    client, icc, other_lead, home_from_hospital
):
    theirs = ReferralFactory.create_batch(30, service=home_from_hospital, referrer=icc)
    client.force_login(other_lead)
    newest = max(theirs, key=lambda r: (r.referred_at, r.pk))
    cursor = Cursor(at=newest.referred_at + datetime.timedelta(days=1), pk=newest.pk).encode()

    for direction in ("after", "before"):
        response = client.get(reverse("referral_list"), {direction: cursor})
        assert list(response.context["page"]) == []


def test_the_waiting_list_pages_longest_wait_first(client, icc, social_care):
    start = timezone.now() - datetime.timedelta(days=40)
    waits = [
        ReferralFactory(
            referrer=icc, organisation=social_care,
            referred_at=start + datetime.timedelta(hours=n // 2), **STATUTORY,
        )
        for n in range(120)
    ]  # fmt: skip
    ReferralFactory(referrer=icc, organisation=social_care, status="closed", **STATUTORY)
    client.force_login(icc)

    pages, _ = walk(client, "referral_waiting")

    assert [len(rows) for rows in pages] == [50, 50, 20]
    assert [r for rows in pages for r in rows] == sorted(waits, key=lambda r: (r.referred_at, r.pk))


def test_the_date_filters_are_uk_days_on_both_halves_of_the_referrers_list(
    client, icc, community_trust, home_from_hospital
):
    colleague = UserFactory(role=Role.ICC, organisation=community_trust)
    elsewhere = OrganisationFactory(system=community_trust.system, name="Another team")
    # 23:30 UTC on 1 July is half past midnight on 2 July in the UK (BST).
    late = datetime.datetime(2026, 7, 1, 23, 30, tzinfo=datetime.UTC)
    own = ReferralFactory(
        service=home_from_hospital, referrer=icc, referrer_organisation=elsewhere, referred_at=late
    )
    teams = ReferralFactory(service=home_from_hospital, referrer=colleague, referred_at=late)
    earlier = ReferralFactory(
        service=home_from_hospital,
        referrer=colleague,
        referred_at=late - datetime.timedelta(hours=1),
    )
    client.force_login(icc)

    def listed(**query):
        with CaptureQueriesContext(connection) as queries:
            page = client.get(reverse("referral_list"), query).context["page"]
        # A range of referred_at, which the index bounds, not its date computed row by row.
        assert not [q for q in queries if "AT TIME ZONE" in q["sql"]]
        return set(page)

    assert listed(referred_from="2026-07-02") == {own, teams}
    assert listed(referred_to="2026-07-01") == {earlier}
    assert listed(referred_from="2026-07-01", referred_to="2026-07-01") == {earlier}
    assert listed(referred_from="0001-01-01", referred_to="9999-12-31") == {own, teams, earlier}
