import datetime

import pytest

from commissioning.codes import Urgency
from tests.factories import FrameworkFactory, PatientFactory, ServiceFactory, SpecificationFactory


@pytest.fixture
def patient():
    return PatientFactory(
        given_name="Edna", family_name="Marsh", date_of_birth=datetime.date(1938, 5, 17)
    )


@pytest.fixture
def home_from_hospital(red_cross, system):
    service = ServiceFactory(organisation=red_cross, name="Home from Hospital")
    SpecificationFactory(
        service=service,
        framework=FrameworkFactory(system=system),
        version=1,
        min_age=18,
        max_urgency=Urgency.URGENT,
        activities_in_remit=["home_help", "shopping", "befriending"],
        activities_excluded=["personal_care", "clinical_task", "emergency_response"],
        monthly_capacity=40,
        starts_on=datetime.date(2026, 4, 1),
        ends_on=datetime.date(2027, 3, 31),
    )
    return service


@pytest.fixture
def social_care(system):
    from tests.factories import OrganisationFactory

    return OrganisationFactory(
        system=system, place=None, name="Eastshire Adult Social Care", sector="social_care"
    )
