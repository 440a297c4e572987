"""The remit rules are named once (commissioning/remit.py), and every place that judges or shows
them takes the names from there."""

import datetime

import pytest
from django.core.exceptions import ImproperlyConfigured

from commissioning import remit
from commissioning.capacity import capacity_used
from commissioning.codes import ServiceStatus, Urgency
from commissioning.selectors_remit import service_remit_check
from referrals.reports.breaches import remit_breaches
from referrals.reports.tables import BREACH_HEADINGS
from tests.factories import FrameworkFactory, ServiceFactory, SpecificationFactory, SystemFactory

pytestmark = pytest.mark.django_db

ON = datetime.date(2026, 11, 23)


@pytest.fixture
def service(red_cross, system):
    service = ServiceFactory(organisation=red_cross, name="Home from Hospital")
    SpecificationFactory(
        service=service,
        framework=FrameworkFactory(system=system),
        min_age=18,
        max_urgency=Urgency.SOON,
        monthly_capacity=0,
        activities_in_remit=["shopping"],
        activities_excluded=["personal_care"],
    )
    return service


def test_rule_codes_are_unique_and_each_has_a_name_and_heading():
    codes = [rule.code for rule in remit.RULES]

    assert len(codes) == len(set(codes))
    assert all(rule.name and rule.heading for rule in remit.RULES)
    assert remit.MARKED_AT_LIMIT not in codes


def test_every_reason_the_intake_check_gives_is_a_rule_checked_at_intake(service):
    check = service_remit_check(
        service=service,
        urgency=Urgency.EMERGENCY,
        activities=["personal_care", "befriending"],
        patient_age=16,
        on_date=ON,
    )
    service.status = ServiceStatus.INACTIVE
    closed = service_remit_check(
        service=service, urgency=Urgency.ROUTINE, activities=[], patient_age=None, on_date=ON
    )

    given = {reason.rule for reason in (*check.reasons, *closed.reasons)}
    assert given == {"urgency", "excluded_activity", "activity_not_in_remit", "capacity", "age",
                     "service_status"}  # fmt: skip
    assert all(remit.BY_CODE[code].checked_at_intake for code in given)


def test_the_breaches_report_counts_exactly_the_reported_rules_in_order():
    report = remit_breaches(system=SystemFactory(), date_from=ON, date_to=ON)

    assert tuple(report["by_rule"]) == remit.REPORTED_CODES
    assert BREACH_HEADINGS == (
        "Urgency", "Excluded activity", "Capacity", "Episode length", "Interim cover",
        "Concern not acknowledged", "Marked at the limit",
    )  # fmt: skip


def test_without_the_referrals_app_capacity_cannot_be_counted(monkeypatch):
    from commissioning import capacity

    monkeypatch.setattr(capacity, "_counters", [])

    with pytest.raises(ImproperlyConfigured, match="No capacity counter"):
        capacity.capacity_used(service_ids=[1], on_date=ON)


def test_capacity_is_counted_by_the_referrals_app_registered_at_start_up(service):
    from referrals.selectors import capacity_used as referrals_count

    assert capacity_used(service_ids=[service.pk], on_date=ON) == referrals_count(
        service_ids=[service.pk], on_date=ON
    )
