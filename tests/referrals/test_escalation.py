"""Escalation: a concern not acknowledged by its deadline is escalated once, within 15 minutes,
and the referrer, the leads of the organisation addressed and the commissioners are told."""

import datetime
import io
import threading

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections
from django.urls import reverse

from accounts.models import Notification, Role
from referrals.models import Concern
from referrals.services_concerns import concern_acknowledge, concern_raise, concern_resolve
from referrals.services_escalation import concerns_escalate_overdue
from referrals.tasks import escalate_overdue
from tests.factories import PatientFactory, ReferralFactory, UserFactory

NOW = datetime.datetime(2026, 11, 23, 10, 0, tzinfo=datetime.UTC)
DEADLINE = NOW + datetime.timedelta(hours=4)  # critical: 4 clock hours


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def referral(icc, home_from_hospital):
    return ReferralFactory(
        referrer=icc,
        service=home_from_hospital,
        referred_at=NOW - datetime.timedelta(days=3),
        # A name no organisation's shares: a random "Cross" was found in "Red Cross", and the
        # check that no notification names the patient failed by chance.
        patient=PatientFactory(given_name="Winifred", family_name="Quenby"),
    )


@pytest.fixture
def social_care_officer(social_care):
    return UserFactory(full_name="Sam Okafor", role=Role.ICC, organisation=social_care)


@pytest.fixture
def bystanders(other_lead, administrator, western_people, system, red_cross):
    """People who must never be told about the Red Cross's concerns."""
    retired = UserFactory(
        full_name="Rita Gone", role=Role.COMMISSIONER, organisation=administrator.organisation
    )
    retired.is_active = False
    retired.save()
    return [other_lead, administrator, retired, *western_people.values()]


def raise_critical(referral, user, addressed_to, description="She has not been washed for days."):
    return concern_raise(
        referral=referral,
        user=user,
        addressed_to=addressed_to,
        severity="critical",
        description=description,
    )


def told(event):
    return sorted(
        Notification.objects.filter(event_key__endswith=f":{event}").values_list(
            "recipient__full_name", flat=True
        )
    )


# --- when -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_concern_is_escalated_just_after_its_deadline_not_before(clock, referral, icc, red_cross):
    concern = raise_critical(referral, icc, red_cross)

    clock.move_to(DEADLINE - datetime.timedelta(seconds=1))
    assert concerns_escalate_overdue() == 0
    clock.move_to(DEADLINE)
    assert concerns_escalate_overdue() == 0  # due *by* the deadline: not yet late
    clock.move_to(DEADLINE + datetime.timedelta(seconds=1))
    assert concerns_escalate_overdue() == 1

    concern.refresh_from_db()
    assert concern.escalated_at == DEADLINE + datetime.timedelta(seconds=1)


def test_beat_runs_the_pass_every_five_minutes_so_within_fifteen():
    from vsocare.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["escalate-overdue-concerns"]

    assert entry["task"] == "referrals.escalate_overdue"
    assert entry["schedule"] == datetime.timedelta(minutes=5)
    assert entry["options"]["expires"] < 300
    assert app.tasks["referrals.escalate_overdue"].name == escalate_overdue.name


@pytest.mark.django_db
def test_acknowledged_and_resolved_concerns_are_not_escalated(
    clock, referral, icc, red_cross, red_cross_lead
):
    acknowledged = raise_critical(referral, icc, red_cross, "One")
    resolved = raise_critical(referral, icc, red_cross, "Two")
    concern_acknowledge(concern=acknowledged, user=red_cross_lead, expected_version=1)
    concern_resolve(concern=resolved, user=icc, expected_version=1, resolution="Done.")
    clock.shift(datetime.timedelta(days=2))

    assert concerns_escalate_overdue() == 0
    assert not Concern.objects.filter(escalated_at__isnull=False).exists()


@pytest.mark.django_db
def test_a_late_acknowledgement_after_the_escalation_is_still_accepted(
    clock, referral, icc, red_cross, red_cross_lead
):
    concern = raise_critical(referral, icc, red_cross)
    clock.shift(datetime.timedelta(hours=5))
    concerns_escalate_overdue()

    acknowledged = concern_acknowledge(concern=concern, user=red_cross_lead, expected_version=1)

    assert acknowledged.acknowledged_at is not None
    assert acknowledged.escalated_at == NOW + datetime.timedelta(hours=5)


# --- who is told --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_referrer_the_leads_addressed_and_the_commissioners_are_told_once(
    clock, referral, icc, red_cross, red_cross_lead, red_cross_worker, commissioner, bystanders
):
    concern = raise_critical(referral, icc, red_cross)
    clock.shift(datetime.timedelta(hours=4, minutes=5))

    assert concerns_escalate_overdue() == 1
    assert concerns_escalate_overdue() == 0  # a second pass, or a restarted worker

    assert told("escalated") == sorted([icc.full_name, red_cross_lead.full_name,
                                        commissioner.full_name])  # fmt: skip
    notification = Notification.objects.filter(kind="escalation").first()
    assert notification.event_key == f"concern:{concern.pk}:escalated"
    assert notification.title == (
        f"Concern on {referral.reference} not acknowledged by {red_cross.name} in time: escalated"
    )
    assert notification.link == reverse("referral_detail", args=[referral.pk]) + "#concerns"
    assert referral.patient.family_name not in notification.title
    assert referral.patient.nhs_number not in notification.title


@pytest.mark.django_db
def test_a_statutory_service_with_no_lead_has_its_people_told(
    clock, icc, home_from_hospital, social_care, red_cross_worker, social_care_officer,
    commissioner, bystanders,
):  # fmt: skip
    waiting = ReferralFactory(
        referrer=icc, service=None, organisation=social_care,
        referred_at=NOW - datetime.timedelta(days=19),
    )  # fmt: skip
    cover = ReferralFactory(
        referrer=icc, service=home_from_hospital, interim_cover_for=waiting,
        referred_at=NOW - datetime.timedelta(days=18),
    )  # fmt: skip
    concern = raise_critical(cover, red_cross_worker, social_care)
    clock.shift(datetime.timedelta(hours=5))

    concerns_escalate_overdue()

    assert told("escalated") == sorted([icc.full_name, social_care_officer.full_name,
                                        commissioner.full_name])  # fmt: skip
    # Social care may not open the voluntary referral, so its link is the concern list.
    officer_link = Notification.objects.get(recipient=social_care_officer, kind="escalation").link
    assert officer_link == reverse("concern_list")
    assert concern.pk


@pytest.mark.django_db
def test_raising_tells_the_organisation_addressed_and_answering_tells_the_raiser(
    clock, referral, icc, red_cross, red_cross_lead, red_cross_worker, bystanders
):
    concern = raise_critical(referral, icc, red_cross)
    assert told("raised") == sorted([red_cross_lead.full_name, red_cross_worker.full_name])
    raised = Notification.objects.filter(kind="concern_raised").first()
    assert raised.title.startswith(f"Critical concern on {referral.reference} from ")
    assert referral.patient.family_name not in raised.title

    concern = concern_acknowledge(concern=concern, user=red_cross_lead, expected_version=1)
    assert told("acknowledged") == [icc.full_name]

    concern_resolve(
        concern=concern, user=red_cross_worker, expected_version=concern.version, resolution="Ok"
    )
    assert told("resolved") == [icc.full_name]
    assert Notification.objects.count() == 4


@pytest.mark.django_db
def test_the_raiser_resolving_their_own_concern_is_not_told_about_it(
    clock, referral, icc, red_cross
):
    concern = raise_critical(referral, icc, red_cross)

    concern_resolve(concern=concern, user=icc, expected_version=1, resolution="Sorted.")

    assert told("resolved") == []


# --- the command and the task ------------------------------------------------------------------


@pytest.mark.django_db
def test_the_command_runs_the_pass_once_and_says_how_many(clock, referral, icc, red_cross):
    raise_critical(referral, icc, red_cross, "One")
    raise_critical(referral, icc, red_cross, "Two")
    clock.shift(datetime.timedelta(hours=5))
    out = io.StringIO()

    call_command("escalate_overdue", stdout=out)
    call_command("escalate_overdue", stdout=out)

    assert out.getvalue() == (
        "2 concerns escalated. 0 statutory waits escalated.\n"
        "0 concerns escalated. 0 statutory waits escalated.\n"
    )


@pytest.mark.django_db
def test_the_task_runs_the_same_pass(clock, referral, icc, red_cross):
    raise_critical(referral, icc, red_cross)
    clock.shift(datetime.timedelta(hours=5))

    assert escalate_overdue() == 1
    assert escalate_overdue() == 0


# --- shown everywhere ------------------------------------------------------------------------


@pytest.mark.usefixtures("reports_at_once")  # the dashboard's reports, as if prepared
@pytest.mark.django_db
def test_the_escalation_and_its_time_show_on_the_list_the_referral_and_the_dashboard(
    client, clock, referral, icc, red_cross, commissioner
):
    raise_critical(referral, icc, red_cross)
    clock.shift(datetime.timedelta(hours=4, minutes=5))
    concerns_escalate_overdue()
    clock.shift(datetime.timedelta(days=1))
    client.force_login(icc)

    listed = client.get(reverse("concern_list"), {"state": "escalated"}).content.decode()
    page = client.get(reverse("referral_detail", args=[referral.pk])).content.decode()
    client.force_login(commissioner)
    dashboard = client.get(
        reverse("dashboard"), {"date_from": "2026-11-01", "date_to": "2026-11-24"}
    )

    assert "Escalated 23 Nov 2026 14:05" in listed
    assert "Escalated 23 Nov 2026 14:05" in page
    (row,) = dashboard.context["concerns"]
    assert (row["escalated"], row["last_escalated_at"]) == (1, "2026-11-23 14:05")
    assert "1 escalated" in dashboard.content.decode()


# --- exactly once, with two passes at the same time ----------------------------------------------


@pytest.fixture
def restore_codes(django_db_blocker):
    yield
    # A transactional test empties every table when it ends; put the starting codes back.
    from tests.conftest import _ensure_starting_codes

    with django_db_blocker.unblock():
        _ensure_starting_codes()


@pytest.mark.django_db(transaction=True)
def test_two_passes_at_once_escalate_each_concern_once_and_tell_each_person_once(
    restore_codes, referral, icc, red_cross, red_cross_lead, commissioner
):
    with time_machine.travel(NOW, tick=False):
        concerns = [raise_critical(referral, icc, red_cross, f"Concern {n}") for n in range(30)]
    later = NOW + datetime.timedelta(hours=5)
    start = threading.Barrier(2)
    counts: list[int] = []
    errors: list[BaseException] = []

    def one_pass():
        # A thread has its own database connection: two workers, two sessions.
        try:
            start.wait()
            counts.append(concerns_escalate_overdue(now=later))
        except BaseException as error:  # reported below, in the test's own thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=one_pass) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(counts)[1] > 0 and sum(counts) == len(concerns)
    assert Concern.objects.filter(escalated_at=later).count() == len(concerns)
    escalations = Notification.objects.filter(kind="escalation")
    assert escalations.count() == 3 * len(concerns)
    assert set(escalations.values_list("recipient_id", flat=True)) == {
        icc.pk, red_cross_lead.pk, commissioner.pk
    }  # fmt: skip
    assert concerns_escalate_overdue(now=later + datetime.timedelta(minutes=5)) == 0
    assert connection.in_atomic_block is False
