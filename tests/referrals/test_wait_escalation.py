"""Statutory waits are escalated like concerns (#12 point 4): a referral to health or social care
still without first contact after its urgency's limit is escalated once, within 15 minutes, and
the referrer, the service waited on, the commissioners and any voluntary organisation covering
the wait are told."""

import datetime
import io
import threading

import pytest
import time_machine
from django.core.management import call_command
from django.db import connections
from django.urls import reverse

from accounts.models import Notification, Role
from referrals.models import Referral
from referrals.services_escalation import statutory_waits_escalate_overdue
from referrals.tasks import escalate_overdue
from tests.factories import ReferralFactory, UserFactory

REFERRED = datetime.datetime(2026, 11, 23, 9, 0, tzinfo=datetime.UTC)
LIMIT = REFERRED + datetime.timedelta(days=2)  # urgent: 2 days


@pytest.fixture
def clock():
    with time_machine.travel(REFERRED, tick=False) as traveller:
        yield traveller


@pytest.fixture
def social_care_officer(social_care):
    return UserFactory(full_name="Sam Okafor", role=Role.ICC, organisation=social_care)


def wait_on(organisation, referrer, urgency="urgent", **fields):
    return ReferralFactory(
        referrer=referrer, organisation=organisation, service=None,
        destination_sector=organisation.sector, urgency=urgency, referred_at=REFERRED, **fields,
    )  # fmt: skip


@pytest.fixture
def waiting(clock, icc, social_care):
    return wait_on(social_care, icc)


@pytest.fixture
def cover(waiting, icc, home_from_hospital):
    return ReferralFactory(
        referrer=icc, service=home_from_hospital, interim_cover_for=waiting,
        referred_at=REFERRED + datetime.timedelta(hours=1),
    )  # fmt: skip


def told():
    return sorted(
        Notification.objects.filter(event_key__endswith=":wait_escalated").values_list(
            "recipient__full_name", flat=True
        )
    )


@pytest.mark.django_db
def test_a_wait_is_escalated_just_after_its_limit_and_a_second_pass_escalates_nothing(
    clock, waiting
):
    clock.move_to(LIMIT)
    assert statutory_waits_escalate_overdue() == 0  # due *by* the limit: not yet late
    clock.move_to(LIMIT + datetime.timedelta(seconds=1))
    assert statutory_waits_escalate_overdue() == 1
    clock.shift(datetime.timedelta(minutes=5))
    assert statutory_waits_escalate_overdue() == 0

    waiting.refresh_from_db()
    assert waiting.wait_escalated_at == LIMIT + datetime.timedelta(seconds=1)


@pytest.mark.django_db
def test_escalating_changes_neither_the_version_nor_who_changed_it_last(clock, waiting):
    before = (waiting.version, waiting.updated_at)
    events = waiting.events.count()
    clock.move_to(LIMIT + datetime.timedelta(minutes=1))

    statutory_waits_escalate_overdue()

    waiting.refresh_from_db()
    assert (waiting.version, waiting.updated_at) == before
    # One history row, the escalation itself, as for concerns.
    assert waiting.events.count() == events + 1


@pytest.mark.django_db
def test_contacted_closed_voluntary_and_not_yet_late_referrals_are_not_escalated(
    clock, icc, social_care, community_trust, home_from_hospital
):
    contacted = wait_on(social_care, icc, status="in_progress")
    Referral.objects.filter(pk=contacted.pk).update(
        first_contact_at=REFERRED + datetime.timedelta(hours=1)
    )
    wait_on(social_care, icc, status="declined", decline_reason="Not ours.")
    wait_on(community_trust, icc, urgency="routine")  # 28 days
    ReferralFactory(referrer=icc, service=home_from_hospital, urgency="urgent",
                    referred_at=REFERRED)  # fmt: skip
    clock.move_to(REFERRED + datetime.timedelta(days=3))

    assert statutory_waits_escalate_overdue() == 0


@pytest.mark.django_db
def test_the_limit_follows_the_setting(clock, waiting, settings):
    settings.STATUTORY_WAIT_LIMITS = {
        **settings.STATUTORY_WAIT_LIMITS,
        "urgent": datetime.timedelta(hours=1),
    }
    clock.move_to(REFERRED + datetime.timedelta(hours=1, minutes=1))

    assert statutory_waits_escalate_overdue() == 1


# --- who is told ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_referrer_the_service_waited_on_the_commissioners_and_the_cover_are_told_once(
    clock, waiting, cover, icc, social_care, social_care_officer, red_cross_lead,
    red_cross_worker, commissioner, other_lead, administrator, western_people,
):  # fmt: skip
    gone = UserFactory(full_name="Gina Gone", role=Role.ICC, organisation=social_care)
    gone.is_active = False
    gone.save()
    clock.move_to(LIMIT + datetime.timedelta(minutes=3))

    statutory_waits_escalate_overdue()
    statutory_waits_escalate_overdue()
    escalate_overdue()

    assert told() == sorted([
        icc.full_name, social_care_officer.full_name, commissioner.full_name,
        red_cross_lead.full_name, red_cross_worker.full_name,
    ])  # fmt: skip
    notes = {n.recipient_id: n for n in Notification.objects.filter(kind="escalation")}
    title = (
        f"{waiting.reference} has waited past its 2-day limit for first contact from "
        f"{social_care.name}"
    )
    assert {n.title for n in notes.values()} == {title}
    assert {n.event_key for n in notes.values()} == {f"referral:{waiting.pk}:wait_escalated"}
    assert waiting.patient.family_name not in title
    assert notes[icc.pk].link == reverse("referral_detail", args=[waiting.pk])
    assert notes[commissioner.pk].link == reverse("referral_detail", args=[waiting.pk])
    # The volunteers open their own referral, which shows the wait; social care, which may
    # not open the referral, has the notification itself.
    assert notes[red_cross_lead.pk].link == reverse("referral_detail", args=[cover.pk])
    assert notes[social_care_officer.pk].link == reverse("notification_list")


@pytest.mark.django_db
def test_the_command_prints_both_counts(clock, waiting, icc, social_care):
    wait_on(social_care, icc, urgency="emergency")
    clock.move_to(LIMIT + datetime.timedelta(minutes=1))
    out = io.StringIO()

    call_command("escalate_overdue", stdout=out)
    call_command("escalate_overdue", stdout=out)

    assert out.getvalue() == (
        "0 concerns escalated. 2 statutory waits escalated.\n"
        "0 concerns escalated. 0 statutory waits escalated.\n"
    )


@pytest.mark.django_db
def test_the_waiting_list_shows_when_a_wait_was_escalated(client, clock, waiting, icc):
    clock.move_to(LIMIT + datetime.timedelta(minutes=4))
    statutory_waits_escalate_overdue()
    client.force_login(icc)

    page = client.get(reverse("referral_waiting")).content.decode()

    assert "Escalated 25 Nov 2026 09:04" in page


# --- exactly once, with two passes at the same time -------------------------------------------


@pytest.fixture
def restore_codes(django_db_blocker):
    yield
    from tests.conftest import _ensure_starting_codes

    with django_db_blocker.unblock():
        _ensure_starting_codes()


@pytest.mark.django_db(transaction=True)
def test_two_passes_at_once_escalate_each_wait_once_and_tell_each_person_once(
    restore_codes, icc, social_care, commissioner
):
    waits = [wait_on(social_care, icc) for _ in range(30)]
    later = LIMIT + datetime.timedelta(minutes=5)
    start = threading.Barrier(2)
    counts: list[int] = []
    errors: list[BaseException] = []

    def one_pass():
        try:
            start.wait()
            counts.append(statutory_waits_escalate_overdue(now=later))
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=one_pass) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(counts) == len(waits)
    assert Referral.objects.filter(wait_escalated_at=later).count() == len(waits)
    escalations = Notification.objects.filter(kind="escalation")
    assert escalations.count() == 2 * len(waits)  # the referrer and the commissioner
    assert set(escalations.values_list("recipient_id", flat=True)) == {icc.pk, commissioner.pk}
    assert statutory_waits_escalate_overdue(now=later + datetime.timedelta(minutes=5)) == 0
