"""Acknowledgement deadlines: working days for low and moderate concerns (UK time, without
weekends and English bank holidays), clock hours for high and critical, and each system's
administrator's own settings, which apply to concerns raised afterwards."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from accounts.models import Role
from core.conflicts import EditConflict
from core.dates import add_working_days, is_working_day
from referrals.models import ConcernDeadline, ConcernSeverity
from referrals.selectors_deadlines import concern_deadlines_for
from referrals.services_concerns import concern_raise
from referrals.services_deadlines import concern_deadlines_set
from tests.factories import ReferralFactory

LONDON = ZoneInfo("Europe/London")


def uk(year, month, day, hour=10, minute=0):
    return datetime.datetime(year, month, day, hour, minute, tzinfo=LONDON)


# --- counting working days -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        pytest.param(uk(2026, 11, 23, 10), 1, uk(2026, 11, 24, 10), id="monday-to-tuesday"),
        pytest.param(uk(2026, 11, 20, 15), 1, uk(2026, 11, 23, 15), id="over-a-weekend"),
        pytest.param(uk(2026, 11, 20, 16), 2, uk(2026, 11, 24, 16), id="friday-16-00-plus-two"),
        # Monday 25 May 2026 is the spring bank holiday.
        pytest.param(uk(2026, 5, 22, 15), 1, uk(2026, 5, 26, 15), id="late-may-bank-holiday"),
        # Christmas Day is a Friday, Boxing Day a Saturday, so Monday 28 December is its
        # substitute bank holiday.
        pytest.param(uk(2026, 12, 24, 12), 1, uk(2026, 12, 29, 12), id="christmas"),
        pytest.param(uk(2026, 12, 24, 12), 2, uk(2026, 12, 30, 12), id="christmas-plus-two"),
        # Raised on a weekend or bank holiday: counted from the start of the next working day.
        pytest.param(uk(2026, 11, 21, 10), 1, uk(2026, 11, 24, 0), id="saturday-to-end-of-monday"),
        pytest.param(uk(2026, 5, 25, 9), 1, uk(2026, 5, 27, 0), id="on-the-bank-holiday"),
        # Clocks go back on Sunday 25 October 2026: the same UK clock time, one hour more.
        pytest.param(uk(2026, 10, 23, 15), 1, uk(2026, 10, 26, 15), id="end-of-summer-time"),
    ],
)
def test_working_days_skip_weekends_and_english_bank_holidays(start, days, due):
    assert add_working_days(start, days) == due


def test_working_days_are_counted_in_uk_time_whatever_the_moment_is_given_in():
    # 23:30 UTC on Friday 10 July 2026 is already Saturday 00:30 in London (summer time).
    friday_night = datetime.datetime(2026, 7, 10, 23, 30, tzinfo=datetime.UTC)

    assert add_working_days(friday_night, 1) == uk(2026, 7, 14, 0)


def test_the_bank_holidays_are_englands_not_scotlands():
    assert not is_working_day(datetime.date(2026, 8, 31))  # England's summer bank holiday
    assert is_working_day(datetime.date(2026, 8, 3))  # Scotland's, a working day here
    assert is_working_day(datetime.date(2026, 11, 30))  # St Andrew's Day


def test_no_working_days_is_refused():
    with pytest.raises(ValueError):
        add_working_days(uk(2026, 11, 23), 0)


# --- the deadline of a concern raised ---------------------------------------------------------


@pytest.fixture
def referral(icc, home_from_hospital):
    return ReferralFactory(referrer=icc, service=home_from_hospital, referred_at=uk(2026, 5, 1, 9))


def raise_at(moment, referral, user, addressed_to, severity):
    with time_machine.travel(moment, tick=False):
        return concern_raise(
            referral=referral,
            user=user,
            addressed_to=addressed_to,
            severity=severity,
            description="Nobody has called her back.",
        )


@pytest.mark.django_db
def test_a_low_concern_raised_on_friday_afternoon_with_one_working_day_is_due_on_monday(
    referral, red_cross_lead, community_trust, administrator
):
    concern_deadlines_set(
        user=administrator, amounts={ConcernSeverity.LOW: 1}, expected={ConcernSeverity.LOW: 5}
    )

    concern = raise_at(uk(2026, 11, 20, 15), referral, red_cross_lead, community_trust, "low")

    assert concern.acknowledge_by == uk(2026, 11, 23, 15)


@pytest.mark.django_db
def test_a_moderate_concern_before_the_spring_bank_holiday_skips_it(
    referral, red_cross_lead, community_trust
):
    concern = raise_at(uk(2026, 5, 22, 11), referral, red_cross_lead, community_trust, "moderate")

    # Two working days from Friday: Tuesday (Monday is the bank holiday), then Wednesday.
    assert concern.acknowledge_by == uk(2026, 5, 27, 11)


@pytest.mark.django_db
def test_a_low_concern_over_christmas_waits_for_the_working_days(
    referral, red_cross_lead, community_trust
):
    concern = raise_at(uk(2026, 12, 23, 16), referral, red_cross_lead, community_trust, "low")

    # 24 Dec, then 29, 30, 31 Dec, and 4 Jan (1 Jan is New Year's Day, then a weekend).
    assert concern.acknowledge_by == uk(2027, 1, 4, 16)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("severity", "hours"), [(ConcernSeverity.HIGH, 24), (ConcernSeverity.CRITICAL, 4)]
)
def test_high_and_critical_concerns_count_clock_hours_through_the_weekend(
    referral, red_cross_lead, community_trust, severity, hours
):
    friday_night = uk(2026, 11, 20, 22)

    concern = raise_at(friday_night, referral, red_cross_lead, community_trust, severity)

    assert concern.acknowledge_by == friday_night + datetime.timedelta(hours=hours)


# --- an administrator changes them ------------------------------------------------------------


def deadlines_form(**amounts):
    defaults = {"low": 5, "moderate": 2, "high": 24, "critical": 4}
    data = {**defaults, **amounts}
    return data | {f"seen_{severity}": amount for severity, amount in defaults.items()}


@pytest.mark.django_db
def test_an_administrators_change_applies_to_concerns_raised_afterwards_only(
    client, administrator, referral, red_cross_lead, community_trust
):
    before = raise_at(uk(2026, 11, 23, 9), referral, red_cross_lead, community_trust, "critical")
    client.force_login(administrator)

    response = client.post(reverse("concern_deadlines"), deadlines_form(critical=2), follow=True)

    assert "apply to concerns raised from now on" in response.content.decode()
    after = raise_at(uk(2026, 11, 23, 10), referral, red_cross_lead, community_trust, "critical")
    before.refresh_from_db()
    assert before.acknowledge_by == uk(2026, 11, 23, 13)
    assert after.acknowledge_by == uk(2026, 11, 23, 12)
    row = ConcernDeadline.objects.get()
    assert (row.severity, row.amount, row.updated_by) == ("critical", 2, administrator)


@pytest.mark.django_db
def test_the_page_shows_each_severity_with_its_unit_and_the_raise_form_says_it(
    client, administrator, referral, red_cross_lead, system
):
    ConcernDeadline.objects.create(system=system, severity="low", amount=1)
    client.force_login(administrator)

    page = client.get(reverse("concern_deadlines")).content.decode()
    client.force_login(red_cross_lead)
    referral_page = client.get(reverse("referral_detail", args=[referral.pk])).content.decode()

    assert "Low: working days" in page and "Critical: hours" in page
    assert "Low: to be acknowledged within 1 working day<" in referral_page
    assert "Moderate: to be acknowledged within 2 working days<" in referral_page
    assert "Critical: to be acknowledged within 4 hours<" in referral_page


@pytest.mark.django_db
def test_another_systems_administrator_changes_only_their_own(
    client, western_people, referral, red_cross_lead, community_trust, system
):
    client.force_login(western_people[Role.ADMINISTRATOR])

    client.post(reverse("concern_deadlines"), deadlines_form(critical=1))

    assert not ConcernDeadline.objects.filter(system=system).exists()
    assert concern_deadlines_for(system_id=system.pk)["critical"].amount == 4
    concern = raise_at(uk(2026, 11, 23, 9), referral, red_cross_lead, community_trust, "critical")
    assert concern.acknowledge_by == uk(2026, 11, 23, 13)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("low", "0", "at least 1"),
        ("moderate", "21", "at most 20 working days"),
        ("critical", "169", "at most 168 hours"),
        ("high", "2.5", "whole number of hours"),
        ("high", "", "Give the number of hours"),
    ],
)
def test_bad_deadlines_are_refused_at_the_field(client, administrator, field, value, message):
    client.force_login(administrator)

    response = client.post(reverse("concern_deadlines"), deadlines_form(**{field: value}))

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not ConcernDeadline.objects.exists()


@pytest.mark.django_db
def test_the_service_refuses_bad_amounts_itself(administrator):
    with pytest.raises(ValidationError) as refused:
        concern_deadlines_set(user=administrator, amounts={"low": 0}, expected={})

    assert "low" in refused.value.message_dict


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.ICC, Role.COMMISSIONER, Role.VSO_LEAD, Role.VSO_WORKER])
def test_only_administrators_change_deadlines(client, user_for_role, role):
    person = user_for_role(role)
    client.force_login(person)

    assert client.get(reverse("concern_deadlines")).status_code == 403
    assert client.post(reverse("concern_deadlines"), deadlines_form(low=1)).status_code == 403
    with pytest.raises(PermissionDenied):
        concern_deadlines_set(user=person, amounts={"low": 1}, expected={"low": 5})
    assert not ConcernDeadline.objects.exists()


@pytest.mark.django_db
def test_a_change_made_meanwhile_by_another_administrator_is_not_overwritten(
    client, administrator, system
):
    ConcernDeadline.objects.create(
        system=system, severity="high", amount=12, updated_by=administrator
    )
    client.force_login(administrator)

    # The form was opened when high was still 24 hours.
    response = client.post(reverse("concern_deadlines"), deadlines_form(high=48), follow=True)

    assert "changed by Ada Nwosu" in response.content.decode()
    assert ConcernDeadline.objects.get().amount == 12
    with pytest.raises(EditConflict):
        concern_deadlines_set(user=administrator, amounts={"high": 6}, expected={"high": 24})


def deadline_reads(queries):
    return [q for q in queries if 'FROM "referrals_concerndeadline"' in q["sql"]]


@pytest.mark.django_db
def test_the_referral_page_keeps_the_deadlines_until_an_administrator_changes_them(
    client, administrator, referral, red_cross_lead, western_people
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    page = reverse("referral_detail", args=[referral.pk])
    client.force_login(red_cross_lead)
    with CaptureQueriesContext(connection) as first:
        client.get(page)
    with CaptureQueriesContext(connection) as kept:
        assert "Critical: to be acknowledged within 4 hours<" in client.get(page).content.decode()
    # Another system's change leaves this one's kept amounts alone; this system's drops them.
    concern_deadlines_set(
        user=western_people[Role.ADMINISTRATOR], amounts={"critical": 1}, expected={}
    )
    assert "within 4 hours<" in client.get(page).content.decode()
    concern_deadlines_set(user=administrator, amounts={"critical": 2}, expected={})

    with CaptureQueriesContext(connection) as changed:
        shown = client.get(page).content.decode()

    assert len(deadline_reads(first)) == 1 and deadline_reads(kept) == []
    assert "Critical: to be acknowledged within 2 hours<" in shown
    assert len(deadline_reads(changed)) == 1
