import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from commissioning.codes import SpecificationStatus, Urgency
from commissioning.models import ServiceSpecification
from commissioning.services import (
    specification_copy_as_draft,
    specification_create_draft,
    specification_publish,
    specification_update_draft,
)
from core.conflicts import EditConflict
from tests.factories import FrameworkFactory, ServiceFactory, SpecificationFactory

pytestmark = pytest.mark.django_db


def content(framework, **overrides):
    fields = {
        "framework": framework,
        "eligibility": "Adults leaving hospital.",
        "activities_in_remit": ["home_help", "shopping"],
        "activities_excluded": ["personal_care"],
        "max_urgency": Urgency.SOON,
        "monthly_capacity": 20,
        "outcome_measures": ["goals"],
        "starts_on": datetime.date(2026, 4, 1),
    }
    fields.update(overrides)
    return fields


@pytest.fixture
def service(red_cross):
    return ServiceFactory(organisation=red_cross, name="Home from Hospital")


@pytest.fixture
def framework(system):
    return FrameworkFactory(system=system)


def test_drafts_are_numbered_one_after_another(service, framework, commissioner):
    first = specification_create_draft(service=service, user=commissioner, **content(framework))
    second = specification_create_draft(service=service, user=commissioner, **content(framework))

    assert (first.version, second.version) == (1, 2)
    assert first.status == second.status == SpecificationStatus.DRAFT
    assert first.created_by == commissioner


def test_publishing_retires_the_version_in_force_and_keeps_it_readable(
    service, framework, commissioner
):
    v1 = specification_create_draft(service=service, user=commissioner, **content(framework))
    specification_publish(specification=v1, user=commissioner)
    v2 = specification_copy_as_draft(specification=v1, user=commissioner)

    specification_publish(specification=v2, user=commissioner)

    v1.refresh_from_db()
    v2.refresh_from_db()
    assert v1.status == SpecificationStatus.RETIRED and v1.retired_at is not None
    assert v2.status == SpecificationStatus.ACTIVE and v2.published_at is not None
    assert v1.eligibility == "Adults leaving hospital."


def test_the_database_refuses_a_second_active_version(service, framework):
    SpecificationFactory(service=service, framework=framework, version=1)

    with pytest.raises(IntegrityError):
        SpecificationFactory(service=service, framework=framework, version=2)


def test_the_database_refuses_an_activity_both_in_remit_and_excluded(service, framework):
    with pytest.raises(IntegrityError):
        SpecificationFactory(
            service=service,
            framework=framework,
            activities_in_remit=["home_help"],
            activities_excluded=["home_help"],
        )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"min_age": 65, "max_age": 18}, "max_age"),
        ({"activities_in_remit": ["juggling"]}, "activities_in_remit"),
        ({"outcome_measures": ["happiness"]}, "outcome_measures"),
        ({"monthly_capacity": -1}, "monthly_capacity"),
        ({"max_urgency": "whenever"}, "max_urgency"),
        ({"ends_on": datetime.date(2026, 1, 1)}, "ends_on"),
    ],
)
def test_a_bad_specification_is_refused_with_the_field_named(
    service, framework, commissioner, overrides, field
):
    with pytest.raises(ValidationError) as error:
        specification_create_draft(
            service=service, user=commissioner, **content(framework, **overrides)
        )

    assert field in error.value.message_dict
    assert not ServiceSpecification.objects.exists()


def test_a_published_version_cannot_be_edited(service, framework, commissioner):
    spec = SpecificationFactory(service=service, framework=framework, version=1)

    with pytest.raises(ValidationError, match="cannot be changed"):
        specification_update_draft(
            specification=spec,
            user=commissioner,
            expected_updated_at=spec.updated_at,
            monthly_capacity=99,
        )


def test_a_draft_saved_by_someone_else_meanwhile_is_not_overwritten(
    service, framework, commissioner, administrator
):
    draft = specification_create_draft(service=service, user=commissioner, **content(framework))
    opened_at = draft.updated_at
    specification_update_draft(
        specification=draft, user=administrator, expected_updated_at=opened_at, monthly_capacity=25
    )

    with pytest.raises(EditConflict):
        specification_update_draft(
            specification=draft,
            user=commissioner,
            expected_updated_at=opened_at,
            monthly_capacity=99,
        )

    draft.refresh_from_db()
    assert draft.monthly_capacity == 25


def test_a_statutory_service_cannot_be_given_a_specification(
    community_trust, framework, commissioner
):
    nursing = ServiceFactory(organisation=community_trust, name="Community Nursing")

    with pytest.raises(ValidationError, match="voluntary sector services only"):
        specification_create_draft(service=nursing, user=commissioner, **content(framework))
