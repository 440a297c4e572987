""" "Needs attention now" at the top of each home page (#12 point 6): the escalated concerns not
yet resolved and the statutory waits past their limit that involve the person's organisation,
the one late longest first."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from referrals.selectors_attention import needs_attention
from referrals.services_concerns import concern_raise, concern_resolve
from referrals.services_escalation import escalate_overdue
from tests.factories import PatientFactory, ReferralFactory

pytestmark = pytest.mark.django_db

REFERRED = datetime.datetime(2026, 11, 2, 9, 0, tzinfo=datetime.UTC)
NOW = datetime.datetime(2026, 11, 20, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(REFERRED, tick=False) as traveller:
        yield traveller


def wait_on(social_care, icc, *, urgency="urgent", at=REFERRED):
    return ReferralFactory(
        referrer=icc, organisation=social_care, service=None, destination_sector="social_care",
        urgency=urgency, referred_at=at,
        patient=PatientFactory(given_name="Edna", family_name="Marsh"),
    )  # fmt: skip


@pytest.fixture
def waiting(clock, icc, social_care):
    """Urgent, made on 2 Nov: past its limit since 4 Nov 09:00."""
    return wait_on(social_care, icc)


@pytest.fixture
def cover(waiting, icc, home_from_hospital):
    return ReferralFactory(
        referrer=icc, service=home_from_hospital, interim_cover_for=waiting,
        patient=waiting.patient, referred_at=REFERRED + datetime.timedelta(hours=1),
    )  # fmt: skip


@pytest.fixture
def escalated_concern(clock, cover, red_cross_worker, social_care):
    """Critical, raised by the Red Cross on 10 Nov to social care: late since 10 Nov 13:00."""
    clock.move_to(datetime.datetime(2026, 11, 10, 9, 0, tzinfo=datetime.UTC))
    concern = concern_raise(
        referral=cover, user=red_cross_worker, addressed_to=social_care, severity="critical",
        description="Nobody has visited her.",
    )  # fmt: skip
    clock.move_to(NOW)
    escalate_overdue()
    return concern


def references(user):
    return [(item.kind, item.reference) for item in needs_attention(user=user, now=NOW)]


def test_the_referrer_sees_the_wait_and_the_concern_late_longest_first(
    waiting, escalated_concern, icc
):
    items = needs_attention(user=icc, now=NOW)

    assert [(item.kind, item.reference) for item in items] == [
        ("wait", waiting.reference),  # late since 4 Nov
        ("concern", escalated_concern.referral.reference),  # late since 10 Nov
    ]
    assert items[0].since == REFERRED + datetime.timedelta(days=2)
    assert items[0].escalated_at == NOW
    assert items[0].link == reverse("referral_detail", args=[waiting.pk])
    assert items[0].patient == "Edna Marsh"


def test_the_covering_organisation_sees_the_wait_through_its_own_referral(
    waiting, cover, escalated_concern, red_cross_lead, red_cross_worker
):
    for person in (red_cross_lead, red_cross_worker):
        items = needs_attention(user=person, now=NOW)
        assert [(item.kind, item.reference) for item in items] == [
            ("wait", waiting.reference),
            ("concern", cover.reference),  # raised by their organisation
        ]
        assert items[0].link == reverse("referral_detail", args=[cover.pk])


def test_another_organisation_another_system_and_the_administrator_see_nothing(
    waiting, escalated_concern, other_lead, administrator, western_people
):
    assert references(other_lead) == []
    assert references(administrator) == []
    for person in western_people.values():
        assert references(person) == []


def test_a_resolved_concern_and_a_contacted_wait_need_nothing(
    waiting, escalated_concern, icc, red_cross_worker
):
    concern_resolve(
        concern=escalated_concern, user=red_cross_worker,
        expected_version=escalated_concern.version, resolution="She was visited today.",
    )  # fmt: skip
    waiting.first_contact_at = NOW
    waiting.status = "in_progress"
    waiting.save()

    assert references(icc) == []


def test_a_wait_not_yet_past_its_limit_is_not_listed(clock, icc, social_care):
    wait_on(social_care, icc, urgency="routine")

    assert references(icc) == []


def test_the_commissioner_sees_everything_in_the_system_without_a_patient_name(
    client, waiting, escalated_concern, commissioner
):
    with time_machine.travel(NOW, tick=False):
        client.force_login(commissioner)
        page = client.get(reverse("commissioner_home")).content.decode()

    assert [kind for kind, _ in references(commissioner)] == ["wait", "concern"]
    assert "Needs attention now" in page
    assert waiting.reference in page
    assert "Marsh" not in page and "Edna" not in page


@pytest.mark.parametrize(
    "role_home", ["icc_home", "commissioner_home", "vso_lead_home", "vso_worker_home"]
)
def test_every_home_page_says_when_nothing_needs_attention(client, user_for_role, role_home):
    from accounts.models import Role

    role = {
        "icc_home": Role.ICC,
        "commissioner_home": Role.COMMISSIONER,
        "vso_lead_home": Role.VSO_LEAD,
        "vso_worker_home": Role.VSO_WORKER,
    }[role_home]
    client.force_login(user_for_role(role))

    page = client.get(reverse(role_home)).content.decode()

    assert "Needs attention now" in page
    assert "Nothing needs your attention now." in page


def test_the_home_page_lists_them_with_links(client, waiting, escalated_concern, icc):
    with time_machine.travel(NOW, tick=False):
        client.force_login(icc)
        page = client.get(reverse("icc_home")).content.decode()

    assert page.count('data-testid="attention-item"') == 2
    assert f'href="{reverse("referral_detail", args=[waiting.pk])}"' in page
    assert "Nothing needs your attention now." not in page


def test_the_query_count_is_the_same_with_one_item_or_twenty(client, clock, icc, social_care):
    def home_queries():
        with time_machine.travel(NOW, tick=False):
            client.force_login(icc)
            client.get(reverse("icc_home"))  # the session and the user, loaded once
            with CaptureQueriesContext(connection) as queries:
                page = client.get(reverse("icc_home")).content.decode()
        return len(queries), page.count('data-testid="attention-item"')

    wait_on(social_care, icc)
    one = home_queries()
    for day in range(19):
        wait_on(social_care, icc, at=REFERRED + datetime.timedelta(hours=day))
    twenty = needs_attention(user=icc, now=NOW, limit=20)
    many = home_queries()

    assert len(twenty) == 20
    assert [item.since for item in twenty] == sorted(item.since for item in twenty)
    assert one[1] == 1 and many[1] == 10  # the list stops at ten
    assert many[0] == one[0]
