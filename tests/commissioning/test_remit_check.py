import datetime

import pytest

from commissioning.codes import ServiceStatus, SpecificationStatus, Urgency
from commissioning.in_force import specification_in_force
from commissioning.selectors_remit import service_remit_check
from tests.factories import FrameworkFactory, ServiceFactory, SpecificationFactory

pytestmark = pytest.mark.django_db

ON = datetime.date(2026, 11, 23)


@pytest.fixture
def service(red_cross):
    return ServiceFactory(organisation=red_cross, name="Home from Hospital")


@pytest.fixture
def spec(service, system):
    return SpecificationFactory(
        service=service,
        framework=FrameworkFactory(system=system),
        version=2,
        min_age=18,
        max_age=None,
        max_urgency=Urgency.URGENT,
        activities_in_remit=["home_help", "shopping"],
        activities_excluded=["personal_care", "emergency_response"],
    )


def check(service, **overrides):
    proposal = {"urgency": Urgency.SOON, "activities": ["shopping"], "patient_age": 80}
    proposal.update(overrides)
    return service_remit_check(service=service, on_date=ON, **proposal)


def test_a_referral_within_every_clause_is_in_remit(service, spec):
    result = check(service)

    assert result.in_remit
    assert result.reasons == []
    assert result.specification == spec


def test_every_reason_is_given_at_once_each_quoting_its_clause(service, spec):
    result = check(
        service,
        urgency=Urgency.EMERGENCY,
        activities=["personal_care", "befriending"],
        patient_age=16,
    )

    assert not result.in_remit
    assert [r.rule for r in result.reasons] == [
        "urgency",
        "excluded_activity",
        "activity_not_in_remit",
        "age",
    ]
    urgency, excluded, outside, age = result.reasons
    assert "highest urgency accepted: Urgent" in urgency.clause
    assert "Specification v2" in urgency.clause
    assert "Personal care" in excluded.message
    assert "activities excluded: Personal care, Emergency response" in excluded.clause
    assert "Befriending" in outside.message
    assert "aged 18 or over" in age.message


def test_a_referral_is_judged_by_the_version_in_force_on_its_date(service, spec, system):
    spec.status = SpecificationStatus.RETIRED
    spec.ends_on = datetime.date(2026, 12, 31)
    spec.save()
    newer = SpecificationFactory(
        service=service,
        framework=spec.framework,
        version=3,
        max_urgency=Urgency.EMERGENCY,
        starts_on=datetime.date(2027, 1, 1),
        ends_on=None,
    )

    assert specification_in_force(service=service, on_date=ON) == spec
    assert specification_in_force(service=service, on_date=datetime.date(2027, 2, 1)) == newer
    assert not check(service, urgency=Urgency.EMERGENCY).in_remit


def test_a_draft_is_never_in_force(service, spec):
    spec.status = SpecificationStatus.DRAFT
    spec.save()

    result = check(service)

    assert [r.rule for r in result.reasons] == ["not_commissioned"]


def test_a_closed_service_is_out_of_remit(service, spec):
    service.status = ServiceStatus.TEMPORARILY_CLOSED
    service.save()

    assert [r.rule for r in check(service).reasons] == ["service_status"]
