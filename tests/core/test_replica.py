"""The read replica (#16 point 5, docs/deploy.md): which reads the router sends to it, and that a
person who has just changed something reads the primary.

The router's choices are checked one by one with a replica alias added for the test. The pages
are then requested with that alias as a second, real connection to the test database, so every
statement shows which connection ran it; those tests commit (transactional_db), as a second
connection sees nothing of an open test transaction."""

import time

import pytest
import time_machine
from axes.models import AccessAttempt
from celery import shared_task
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connection, connections, router, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse
from django_celery_beat.models import PeriodicTask
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from commissioning.models import Organisation, Service
from core.replica import (
    PIN_COOKIE,
    REPLICA,
    ReplicaRouter,
    reads_from_replica,
    replica_reads,
)
from referrals.models import Concern, Referral, ReportKind, ReportSnapshot
from referrals.reports.loading import default_period
from referrals.reports.snapshots import report_snapshot_refresh
from tests.factories import ReferralFactory


@pytest.fixture
def replica_alias():
    """A replica alias, as DATABASE_REPLICA_URL adds one, for choices that run no query."""
    connections.settings[REPLICA] = {**connections[DEFAULT_DB_ALIAS].settings_dict}
    yield REPLICA
    del connections.settings[REPLICA]


@pytest.fixture
def replica(transactional_db, starting_codes):
    """The alias as a second connection to the test database: what it runs, the replica ran."""
    connections.settings[REPLICA] = {**connections[DEFAULT_DB_ALIAS].settings_dict}
    # Connected here: a test case refuses to open a connection for an alias it was not told
    # about when it began, and the alias did not exist then.
    connections[REPLICA].connect()
    yield connections[REPLICA]
    connections[REPLICA].close()
    del connections[REPLICA]
    del connections.settings[REPLICA]


@shared_task(name="tests.replica_probe")
def replica_probe() -> str:
    return router.db_for_read(Referral)


# --- The router's choices


def test_with_no_replica_every_read_is_on_the_primary_even_on_a_marked_page():
    with replica_reads():
        assert router.db_for_read(Referral) == DEFAULT_DB_ALIAS
        assert Referral.objects.all().db == DEFAULT_DB_ALIAS


def test_a_marked_page_reads_referrals_and_commissioning_from_the_replica(replica_alias):
    with replica_reads():
        for model in (Referral, Concern, ReportSnapshot, Organisation, Service):
            assert router.db_for_read(model) == REPLICA, model
        assert Referral.objects.filter(pk=1).db == REPLICA


def test_an_unmarked_read_is_on_the_primary(replica_alias):
    assert router.db_for_read(Referral) == DEFAULT_DB_ALIAS


def test_sessions_sign_in_two_factor_and_beat_stay_on_the_primary(replica_alias):
    with replica_reads():
        for model in (Session, User, AccessAttempt, TOTPDevice, PeriodicTask):
            assert router.db_for_read(model) == DEFAULT_DB_ALIAS, model


def test_writes_go_to_the_primary_even_for_an_object_read_from_the_replica(replica_alias):
    from_replica = Referral(pk=1)
    from_replica._state.db = REPLICA

    with replica_reads():
        assert router.db_for_write(Referral, instance=from_replica) == DEFAULT_DB_ALIAS
        assert Referral.objects.select_for_update().db == DEFAULT_DB_ALIAS


def test_a_related_object_follows_the_object_it_was_reached_from(replica_alias):
    on_primary, on_replica = Referral(pk=1), Referral(pk=2)
    on_primary._state.db, on_replica._state.db = DEFAULT_DB_ALIAS, REPLICA

    with replica_reads():
        assert router.db_for_read(Service, instance=on_primary) == DEFAULT_DB_ALIAS
        assert router.db_for_read(Service, instance=on_replica) == REPLICA
    assert router.allow_relation(on_primary, on_replica)


def test_a_celery_task_reads_the_primary_even_when_run_inside_a_marked_page(replica_alias):
    with replica_reads():
        assert replica_probe.apply().get() == DEFAULT_DB_ALIAS
        assert router.db_for_read(Referral) == REPLICA  # and the page's own reads still may


def test_nothing_is_migrated_on_the_replica():
    assert ReplicaRouter().allow_migrate(REPLICA, "referrals") is False
    assert ReplicaRouter().allow_migrate(DEFAULT_DB_ALIAS, "referrals") is None


# The pages that may read from the replica; the others around them may not.
MARKED = {
    "dashboard", "dashboard_preparing", "breach_referrals", "override_referrals", "added_value",
    "added_value_section", "added_value_csv", "our_outcomes", "our_outcomes_csv", "referral_list",
    "referral_waiting", "concern_list",
}  # fmt: skip
UNMARKED = {"dashboard_prepare", "referral_create", "remit_page", "referral_detail"}


def test_the_marked_pages():
    marked = {
        name
        for name in MARKED | UNMARKED
        if getattr(resolve(_url(name)).func, "reads_from_replica", False)
    }

    assert marked == MARKED
    assert resolve(reverse("dashboard_csv", args=["split"])).func.reads_from_replica


def _url(name: str) -> str:
    return reverse(name, args=[1]) if name == "referral_detail" else reverse(name)


def test_the_decorator_marks_a_class_based_view_as_well():
    from django.views.generic import TemplateView

    @reads_from_replica
    class Page(TemplateView):
        template_name = "x.html"

    assert Page.as_view().view_class.reads_from_replica is True


# --- Pages, with the replica as a second connection


def statements(captured: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in captured.captured_queries]


def reads(sql: list[str], table: str) -> list[str]:
    return [s for s in sql if f'FROM "{table}"' in s]


@pytest.fixture
def referral(home_from_hospital, patient, icc):
    return ReferralFactory(service=home_from_hospital, patient=patient, referrer=icc)


def test_a_list_reads_its_referrals_from_the_replica_and_the_session_from_the_primary(
    client, replica, icc, referral
):
    client.force_login(icc)
    cache.clear()  # so the session is read from the database, as after Redis restarts

    with CaptureQueriesContext(connection) as primary, CaptureQueriesContext(replica) as copy:
        response = client.get(reverse("referral_list"))

    assert response.status_code == 200 and referral.reference in response.content.decode()
    on_primary, on_replica = statements(primary), statements(copy)
    assert reads(on_replica, "referrals_referral"), on_replica
    assert not reads(on_primary, "referrals_referral"), on_primary
    assert reads(on_primary, "django_session") and reads(on_primary, "accounts_user")
    assert not reads(on_replica, "django_session") and not reads(on_replica, "accounts_user")
    assert PIN_COOKIE not in response.cookies  # a GET changes nothing


def test_an_unmarked_page_reads_only_the_primary(client, replica, icc, referral):
    client.force_login(icc)

    with CaptureQueriesContext(replica) as copy:
        response = client.get(reverse("referral_detail", args=[referral.pk]))

    assert response.status_code == 200
    assert statements(copy) == []


def test_after_a_change_the_person_reads_the_primary_until_the_replica_has_caught_up(
    client, replica, settings, red_cross_lead, referral
):
    client.force_login(red_cross_lead)
    start = time.time()

    with time_machine.travel(start, tick=False):
        accepted = client.post(
            reverse("referral_action", args=[referral.pk, "accept"]), {"version": 1}
        )
        assert accepted.status_code == 302 and PIN_COOKIE in accepted.cookies
        with CaptureQueriesContext(replica) as copy:
            page = client.get(reverse("referral_list")).content.decode()
    assert statements(copy) == []
    assert "Accepted" in page

    # One second short of the pin, still the primary; once it has passed, the replica again.
    pin = settings.DATABASE_REPLICA_PIN_SECONDS
    with time_machine.travel(start + pin - 1, tick=False), CaptureQueriesContext(replica) as copy:
        client.get(reverse("referral_list"))
    assert statements(copy) == []
    with time_machine.travel(start + pin + 1, tick=False), CaptureQueriesContext(replica) as copy:
        client.get(reverse("referral_list"))
    assert reads(statements(copy), "referrals_referral")


def test_a_refused_change_does_not_pin_and_a_forged_cookie_is_ignored(
    client, replica, icc, referral
):
    client.force_login(icc)
    refused = client.post(reverse("referral_action", args=[referral.pk, "accept"]), {"version": 1})
    assert refused.status_code >= 400 and PIN_COOKIE not in refused.cookies

    client.cookies[PIN_COOKIE] = "1"  # not signed with the secret key
    with CaptureQueriesContext(replica) as copy:
        client.get(reverse("referral_list"))
    assert reads(statements(copy), "referrals_referral")


def test_inside_a_transaction_every_read_is_on_the_primary(replica):
    from_replica = Referral(pk=1)
    from_replica._state.db = REPLICA

    with replica_reads():
        assert router.db_for_read(Referral) == REPLICA
        with transaction.atomic():
            assert router.db_for_read(Referral) == DEFAULT_DB_ALIAS
            # Even the relations of an object read from the replica before it began.
            assert router.db_for_read(Service, instance=from_replica) == DEFAULT_DB_ALIAS


def test_the_dashboard_reads_its_snapshots_from_the_replica(client, replica, commissioner, system):
    date_from, date_to = default_period()
    for kind in ReportKind.values:
        report_snapshot_refresh(
            kind=kind, system_id=system.pk, date_from=date_from, date_to=date_to
        )
    client.force_login(commissioner)

    with CaptureQueriesContext(connection) as primary, CaptureQueriesContext(replica) as copy:
        response = client.get(reverse("dashboard"))

    assert response.status_code == 200 and "preparing" not in response.context
    assert reads(statements(copy), "referrals_reportsnapshot")
    assert not reads(statements(primary), "referrals_reportsnapshot")
