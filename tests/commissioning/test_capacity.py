"""Monthly capacity: what the directory shows as left, and when the remit check refuses."""

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from commissioning.codes import Urgency
from commissioning.selectors_remit import service_remit_check
from referrals.models import ReferralStatus
from referrals.selectors import capacity_used
from tests.factories import FrameworkFactory, ReferralFactory, ServiceFactory, SpecificationFactory

pytestmark = pytest.mark.django_db

NOW = "2026-11-23 10:00 +0000"


@pytest.fixture
def service(red_cross, system):
    service = ServiceFactory(organisation=red_cross, name="Village Warden")
    SpecificationFactory(
        service=service,
        framework=FrameworkFactory(system=system),
        version=1,
        monthly_capacity=3,
        activities_in_remit=["shopping"],
    )
    return service


def refer(service, when: str, status=ReferralStatus.RECEIVED):
    at = timezone.make_aware(datetime.datetime.fromisoformat(when))
    reason = "Outside our area." if status == ReferralStatus.DECLINED else ""
    return ReferralFactory(service=service, referred_at=at, status=status, decline_reason=reason)


def test_the_directory_shows_capacity_left_this_month(client, icc, service):
    refer(service, "2026-11-02 09:00")
    refer(service, "2026-11-20 09:00", ReferralStatus.CLOSED)
    # Last month's referral and a declined or withdrawn one take none of this month's capacity.
    refer(service, "2026-10-31 23:30")
    refer(service, "2026-11-05 09:00", ReferralStatus.DECLINED)
    refer(service, "2026-11-06 09:00", ReferralStatus.WITHDRAWN)
    client.force_login(icc)

    with time_machine.travel(NOW):
        response = client.get(reverse("directory"))

    (entry,) = response.context["entries"]
    assert entry.capacity_left == 1
    assert "1 of 3 referrals this month" in response.content.decode()


def test_a_full_service_is_flagged_in_the_directory(client, icc, service):
    for day in (1, 2, 3):
        refer(service, f"2026-11-0{day} 09:00")
    client.force_login(icc)

    with time_machine.travel(NOW):
        page = client.get(reverse("directory")).content.decode()

    assert "0 of 3 referrals this month" in page
    assert "No capacity left this month" in page


def test_the_month_follows_london_time_not_utc(service):
    # 00:30 on 1 April in London (summer time) is 23:30 on 31 March in UTC.
    at = timezone.make_aware(datetime.datetime(2026, 4, 1, 0, 30))
    ReferralFactory(service=service, referred_at=at)

    april = service_remit_check(
        service=service,
        urgency=Urgency.SOON,
        activities=["shopping"],
        patient_age=80,
        on_date=datetime.date(2026, 4, 15),
    )

    assert capacity_used(service_ids=[service.pk], on_date=datetime.date(2026, 4, 15)) == {
        service.pk: 1
    }
    assert capacity_used(service_ids=[service.pk], on_date=datetime.date(2026, 3, 15)) == {}
    assert april.in_remit


def test_the_remit_check_refuses_a_referral_beyond_monthly_capacity(service):
    for day in (1, 2, 3):
        refer(service, f"2026-11-0{day} 09:00")

    result = service_remit_check(
        service=service,
        urgency=Urgency.SOON,
        activities=["shopping"],
        patient_age=80,
        on_date=datetime.date(2026, 11, 23),
    )

    assert [reason.rule for reason in result.reasons] == ["capacity"]
    assert "already had 3 referrals in November 2026" in result.reasons[0].message
    assert "monthly capacity: 3" in result.reasons[0].clause
