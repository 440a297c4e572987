import datetime

import pytest
import time_machine
from django.urls import reverse

from commissioning.codes import ServiceStatus
from tests.factories import (
    FrameworkFactory,
    OrganisationFactory,
    PlaceFactory,
    ServiceFactory,
    SpecificationFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def home_from_hospital(red_cross, northbridge, system):
    service = ServiceFactory(
        organisation=red_cross,
        name="Home from Hospital",
        needs=["home_help", "shopping"],
        min_age=18,
    )
    service.places.set([northbridge])
    SpecificationFactory(
        service=service,
        framework=FrameworkFactory(system=system),
        version=1,
        activities_excluded=["personal_care", "emergency_response"],
    )
    return service


@pytest.fixture
def befriending(age_concern):
    return ServiceFactory(
        organisation=age_concern,
        name="Friendship Calls",
        description="A weekly call from a volunteer.",
        eligibility="People aged 60 or over who feel lonely.",
        needs=["befriending"],
        min_age=60,
    )


def search(client, **params):
    return client.get(reverse("directory"), params)


def names(response):
    return [entry.service.name for entry in response.context["entries"]]


def test_every_role_can_search_the_directory(client, user_for_role, home_from_hospital):
    from accounts.models import Role

    for role in Role.values:
        client.force_login(user_for_role(role))
        assert "Home from Hospital" in names(search(client))


def test_it_finds_services_by_need(client, icc, home_from_hospital, befriending):
    client.force_login(icc)

    assert names(search(client, need="befriending")) == ["Friendship Calls"]


def test_it_finds_services_by_age(client, icc, home_from_hospital, befriending):
    client.force_login(icc)

    assert names(search(client, age=30)) == ["Home from Hospital"]


def test_it_finds_services_by_place_including_those_serving_the_whole_system(
    client, icc, home_from_hospital, befriending, system
):
    elsewhere = PlaceFactory(system=system, name="Saltmarsh Coast")
    client.force_login(icc)

    # Friendship Calls lists no place, so it serves everywhere.
    assert names(search(client, place=elsewhere.pk)) == ["Friendship Calls"]


def test_it_finds_services_by_free_text(client, icc, home_from_hospital, befriending):
    client.force_login(icc)

    assert names(search(client, text="hospital")) == ["Home from Hospital"]
    assert names(search(client, text="friendship")) == ["Friendship Calls"]


def test_inactive_and_defunct_services_are_hidden_unless_asked_for(
    client, icc, home_from_hospital, befriending
):
    befriending.status = ServiceStatus.DEFUNCT
    befriending.save()
    client.force_login(icc)

    assert names(search(client)) == ["Home from Hospital"]
    assert "Friendship Calls" in names(search(client, include_closed="on"))


def test_each_result_shows_the_remit_in_plain_words(client, icc, home_from_hospital):
    client.force_login(icc)

    page = search(client).content.decode()

    assert "What they do not do" in page
    assert "Personal care, Emergency response" in page
    assert "Accepts urgent referrals and below; not emergency." in page
    assert "Commissioned for 40 referrals a month." in page


def test_it_warns_of_expired_checks_and_a_listing_not_verified_for_six_months(
    client, icc, home_from_hospital
):
    organisation = home_from_hospital.organisation
    organisation.dbs_checks_expire_on = datetime.date(2026, 10, 1)
    organisation.insurance_expires_on = datetime.date(2027, 10, 1)
    organisation.last_verified_on = datetime.date(2026, 4, 1)
    organisation.save()
    client.force_login(icc)

    with time_machine.travel("2026-11-23 10:00 +0000"):
        page = search(client).content.decode()

    assert "DBS checks expired on 1 October 2026." in page
    assert "Insurance expired" not in page
    assert "has not been verified in the last 6 months" in page


def test_a_bad_age_is_reported_at_the_field(client, icc):
    client.force_login(icc)

    response = search(client, age="eighty")

    assert "Patient&#x27;s age must be a whole number, such as 12." in response.content.decode()
    assert response.context["page"] is None


def test_the_query_count_does_not_grow_with_the_results(
    client, icc, system, northbridge, django_assert_max_num_queries
):
    framework = FrameworkFactory(system=system)
    for n in range(15):
        organisation = OrganisationFactory(system=system, place=northbridge, voluntary=True)
        service = ServiceFactory(organisation=organisation, name=f"Service {n}")
        service.places.set([northbridge])
        SpecificationFactory(service=service, framework=framework, version=1)
    client.force_login(icc)
    search(client)  # the need codes kept, the session's idle clock renewed, from here on

    # The user (with the bell), the page of services with its total and areas, their
    # specifications, their capacity used, the places to filter by.
    with django_assert_max_num_queries(6):
        response = search(client)

    assert len(response.context["entries"]) == 15
