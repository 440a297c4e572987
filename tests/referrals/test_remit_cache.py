"""The remit page is kept in the shared cache and computed afresh after every kind of write that
changes it (referrals/remit_cache.py, docs/remit-page.md)."""

import datetime
import socket
import threading
import time
from unittest.mock import patch
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from accounts.models import Role
from commissioning.codes import Urgency
from referrals.models import ReferralStatus, RemitLimitMark
from referrals.reports.breaches import remit_breaches
from referrals.services import referral_accept, referral_decline, referral_record_contact
from referrals.services_concerns import concern_acknowledge, concern_raise
from referrals.services_outcomes import episode_update
from referrals.services_remit import remit_mark_create
from tests.factories import (
    EpisodeFactory,
    PatientFactory,
    ReferralFactory,
    ServiceFactory,
    SpecificationFactory,
    UserFactory,
)
from tests.referrals.test_import_referrals import csv_file, row, run

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
NOW = "2026-11-23 10:00 +0000"


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def on(day: int, hour: int = 9) -> datetime.datetime:
    return datetime.datetime(2026, 11, day, hour, tzinfo=LONDON)


@pytest.fixture
def reports():
    """Counts the remit-breaches SQL the page runs."""
    with patch("referrals.selectors_remit.remit_breaches", wraps=remit_breaches) as counted:
        yield counted


@pytest.fixture
def lead(client, red_cross_lead):
    client.force_login(red_cross_lead)
    return red_cross_lead


@pytest.fixture
def spec(home_from_hospital):
    return home_from_hospital.specifications.get()


def remit(client, month: str | None = None):
    query = {"month": month} if month else {}
    return client.get(reverse("remit_page"), query).context["page"]


def rules(page) -> set[str]:
    return {group.rule for group in page.breaches}


# --- Kept: no query of the page's own, and flat as data grows --------------------------------


def test_a_kept_page_reads_no_referral_table_and_runs_no_breaches_sql(
    client, lead, home_from_hospital, icc, reports, django_assert_max_num_queries
):
    ReferralFactory(service=home_from_hospital, referrer=icc, referred_at=on(2))
    first = remit(client)

    with django_assert_max_num_queries(6) as queries:
        second = remit(client)

    assert reports.call_count == 1
    # The session, the user with their organisation, and what every page reads; nothing of the
    # remit page's own.
    assert not [
        q["sql"]
        for q in queries.captured_queries
        if 'FROM "referrals_' in q["sql"] or 'FROM "commissioning_' in q["sql"]
    ]
    assert second.services[0].used == first.services[0].used == 1


def test_a_kept_page_takes_the_same_few_queries_with_few_or_many_referrals(
    client, lead, red_cross, home_from_hospital, icc, django_assert_max_num_queries
):
    ReferralFactory(service=home_from_hospital, referrer=icc, referred_at=on(2))
    remit(client)
    with django_assert_max_num_queries(6) as few:
        remit(client)

    for n in range(4):
        service = ServiceFactory(organisation=red_cross, name=f"Service {n}")
        SpecificationFactory(service=service, monthly_capacity=3, max_urgency=Urgency.SOON)
        for day in range(1, 9):
            referral = ReferralFactory(
                service=service, referrer=icc, referred_at=on(day), urgency=Urgency.URGENT,
                patient=PatientFactory(),
            )  # fmt: skip
            if day % 3 == 0:
                remit_mark_create(referral=referral, user=lead, clause="urgency")
    page = remit(client)
    with django_assert_max_num_queries(6) as many:
        response = client.get(reverse("remit_page"))

    assert len(many.captured_queries) == len(few.captured_queries)
    assert len(page.services) == 5 and len(page.marks) == 8
    kept = response.context["page"]
    assert sum(len(group.referrals) for group in kept.breaches) == 4 * (8 + 5)
    html = response.content.decode()
    assert "Service 3" in html and "by Vera Lewis" in html


def test_what_is_kept_holds_no_patient_and_no_free_text_about_them(
    client, lead, home_from_hospital, icc
):
    patient = PatientFactory(given_name="Edna", family_name="Marsh")
    emergency = ReferralFactory(
        service=home_from_hospital, referrer=icc, referred_at=on(2), patient=patient,
        urgency=Urgency.EMERGENCY, reason="Edna Marsh cannot wash alone.",
    )  # fmt: skip
    remit_mark_create(referral=emergency, user=lead, clause="urgency")
    remit(client)

    page = remit(client)  # as read back from the cache

    (group,) = page.breaches
    (kept,) = group.referrals
    assert kept == emergency and "patient" not in kept._state.fields_cache
    assert kept.get_deferred_fields() >= {"reason", "patient_id", "needs"}
    (mark,) = page.marks
    assert mark.marked_by.get_deferred_fields() >= {"password", "email"}
    assert mark.referral.get_deferred_fields() >= {"reason", "patient_id"}


# --- Each kind of write shows at once ------------------------------------------------------


def test_a_referral_made_shows_at_once(client, lead, home_from_hospital, icc):
    assert remit(client).services[0].used == 0

    ReferralFactory(service=home_from_hospital, referrer=icc, referred_at=on(2))

    assert remit(client).services[0].used == 1


def test_a_referral_declined_gives_its_capacity_back_at_once(client, lead, home_from_hospital, icc):
    referral = ReferralFactory(service=home_from_hospital, referrer=icc, referred_at=on(2))
    assert remit(client).services[0].used == 1

    referral_decline(referral=referral, user=lead, expected_version=referral.version, reason="Full")

    assert remit(client).services[0].used == 0


def test_a_mark_made_and_taken_back_on_the_pages_shows_at_once(
    client, lead, home_from_hospital, icc
):
    emergency = ReferralFactory(
        service=home_from_hospital, referrer=icc, referred_at=on(2), urgency=Urgency.EMERGENCY
    )
    assert remit(client).marks == []

    client.post(reverse("referral_remit_mark", args=[emergency.pk]), {"clause": "urgency"})
    marked = remit(client)
    client.post(reverse("referral_remit_mark_withdraw", args=[emergency.pk]))
    taken_back = remit(client)

    assert [mark.referral_id for mark in marked.marks] == [emergency.pk]
    assert marked.breaches[0].referrals[0].remit_mark.clause == "urgency"
    assert taken_back.marks == [] and not RemitLimitMark.objects.exists()


def test_a_specification_and_a_service_changed_show_at_once(
    client, lead, home_from_hospital, spec, icc
):
    ReferralFactory.create_batch(3, service=home_from_hospital, referrer=icc, referred_at=on(2))
    assert rules(remit(client)) == set()

    spec.monthly_capacity = 2
    spec.save()
    tighter = remit(client)
    home_from_hospital.name = "Home from Hospital Plus"
    home_from_hospital.save()
    renamed = remit(client)

    assert tighter.services[0].capacity == 2 and rules(tighter) == {"capacity"}
    assert renamed.services[0].service.name == "Home from Hospital Plus"


def test_an_episode_begun_and_ended_shows_at_once(client, lead, home_from_hospital, spec, icc):
    spec.max_episode_weeks = 1
    spec.save()
    referral = ReferralFactory(
        service=home_from_hospital, referrer=icc, referred_at=on(2),
        status=ReferralStatus.ACCEPTED, decided_at=on(2, 10),
    )  # fmt: skip
    # Without an episode, the referral's own runs from its acceptance to today: three weeks.
    assert rules(remit(client)) == {"episode_length"}

    episode = EpisodeFactory(referral=referral, started_on=datetime.date(2026, 11, 20))
    begun = remit(client)
    episode_update(
        episode=episode, user=lead, expected_version=episode.version, subgroup=episode.subgroup,
        started_on=datetime.date(2026, 11, 3), ended_on=datetime.date(2026, 11, 20),
    )  # fmt: skip
    ended = remit(client)

    assert rules(begun) == set()  # three days of episode
    assert rules(ended) == {"episode_length"}  # seventeen days


def test_a_concern_raised_and_acknowledged_shows_at_once(
    client, lead, red_cross_worker, home_from_hospital, icc, community_trust
):
    referral = ReferralFactory(service=home_from_hospital, referrer=icc, referred_at=on(2))
    assert rules(remit(client)) == set()

    # Critical: four hours, so the deadline passes before today ends.
    concern = concern_raise(
        referral=referral, user=red_cross_worker, addressed_to=community_trust,
        severity="critical", description="She cannot wash alone.",
    )  # fmt: skip
    raised = remit(client)
    concern_acknowledge(concern=concern, user=icc, expected_version=concern.version)
    acknowledged = remit(client)

    assert rules(raised) == {"concern_unacknowledged"}
    assert rules(acknowledged) == set()


def test_the_statutory_service_acting_on_the_wait_we_cover_shows_at_once(
    client, lead, icc, cover, waiting
):
    waiting = referral_accept(referral=waiting, user=icc, expected_version=waiting.version)
    assert "interim_cover" in rules(remit(client))  # nineteen days' wait, fourteen allowed

    # Social care's own referral, in another organisation: its first contact ends the wait.
    referral_record_contact(
        referral=waiting, user=icc, expected_version=waiting.version,
        contacted_at=waiting.referred_at + datetime.timedelta(days=2),
    )  # fmt: skip

    assert "interim_cover" not in rules(remit(client))


def test_an_import_shows_at_once(client, lead, tmp_path, icc, home_from_hospital, social_care):
    assert remit(client).services[0].used == 0

    run(csv_file(tmp_path, row(referred_at="2026-11-20T09:30")), icc)

    assert remit(client).services[0].used == 1


def test_a_new_day_is_computed_afresh_without_any_write(
    client, lead, home_from_hospital, spec, icc, frozen_clock
):
    spec.max_episode_weeks = 1
    spec.save()
    referral = ReferralFactory(
        service=home_from_hospital, referrer=icc, referred_at=on(2),
        status=ReferralStatus.ACCEPTED, decided_at=on(2, 10),
    )  # fmt: skip
    EpisodeFactory(referral=referral, started_on=datetime.date(2026, 11, 16))
    assert rules(remit(client)) == set()  # seven days: not yet longer than a week

    frozen_clock.move_to("2026-11-24 00:30 +0000")
    client.force_login(lead)  # the session lapsed overnight

    assert rules(remit(client)) == {"episode_length"}


# --- Whose page a write drops, and who sees what ---------------------------------------------


def test_another_organisations_write_leaves_our_page_kept(
    client, lead, home_from_hospital, age_concern, icc, reports
):
    befriending = ServiceFactory(organisation=age_concern, name="Befriending Line")
    remit(client)

    ReferralFactory(service=befriending, referrer=icc, referred_at=on(2))
    remit(client)

    assert reports.call_count == 1


def test_every_lead_of_the_organisation_shares_the_kept_page(
    client, lead, red_cross, home_from_hospital, icc, reports
):
    emergency = ReferralFactory(
        service=home_from_hospital, referrer=icc, referred_at=on(2), urgency=Urgency.EMERGENCY
    )
    first = remit(client)
    client.force_login(UserFactory(role=Role.VSO_LEAD, organisation=red_cross))

    second = remit(client)

    assert reports.call_count == 1
    assert first.breaches[0].referrals == second.breaches[0].referrals == [emergency]


def test_leads_elsewhere_see_nothing_of_our_kept_page(
    client, lead, home_from_hospital, icc, other_lead, western_people, red_cross_worker
):
    ReferralFactory(
        service=home_from_hospital, referrer=icc, referred_at=on(2), urgency=Urgency.EMERGENCY
    )
    ours = remit(client)

    client.force_login(other_lead)
    theirs = remit(client)
    client.force_login(western_people[Role.VSO_LEAD])
    western = client.get(reverse("remit_page"))
    client.force_login(red_cross_worker)

    assert ours.breaches and ours.services
    assert (theirs.services, theirs.breaches, theirs.marks) == ([], [], [])
    assert western.context["page"].services == [] and "Home from Hospital" not in (
        western.content.decode()
    )
    assert client.get(reverse("remit_page")).status_code == 403


def test_a_redis_outage_costs_the_cache_not_the_page_or_the_write(
    client, lead, home_from_hospital, icc, settings, tmp_path
):
    emergency = ReferralFactory(
        service=home_from_hospital, referrer=icc, referred_at=on(2), urgency=Urgency.EMERGENCY
    )
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": f"unix://{tmp_path}/nothing-listens-here.sock",
        }
    }

    page = remit(client)
    mark = remit_mark_create(referral=emergency, user=lead, clause="urgency")

    assert page.services[0].used == 1 and mark.pk


@pytest.fixture
def frozen_server():
    """A TCP port that accepts connections and never answers, like a SIGSTOPped Redis. Closed
    after ten seconds, which resets its connections, so a client with no timeout fails the test
    rather than hanging it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    closing = threading.Timer(10, listener.close)
    closing.start()
    yield listener.getsockname()[1]
    closing.cancel()
    listener.close()


def test_a_frozen_redis_holds_the_page_a_second_not_a_web_worker(
    client, lead, home_from_hospital, icc, settings, frozen_server
):
    ReferralFactory(service=home_from_hospital, referrer=icc, referred_at=on(2))
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": f"redis://127.0.0.1:{frozen_server}/0",
        }
    }
    started = time.perf_counter()  # time_machine stops the monotonic clock, not this one

    page = remit(client)

    assert page.services[0].used == 1
    assert time.perf_counter() - started < 4
