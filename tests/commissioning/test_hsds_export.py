import datetime
import json
import uuid
from pathlib import Path

import pytest
from django.urls import reverse
from jsonschema import Draft202012Validator

from commissioning.codes import ServiceStatus
from commissioning.models import Sector, VsoKind
from tests.factories import OrganisationFactory, PlaceFactory, ServiceFactory

pytestmark = pytest.mark.django_db

# Real Open Referral examples and schemas, copied into the repo (see their README for licence).
HSDS_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hsds-3.0"


@pytest.fixture(scope="module")
def service_schema():
    # The compiled schema names no dialect; HSDS 3.0's OpenAPI file declares 2020-12.
    schema = json.loads((HSDS_FIXTURES / "schema_service.json").read_text())
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.fixture
def eastmoor(system):
    return PlaceFactory(system=system, name="Eastmoor")


@pytest.fixture
def home_from_hospital(system, northbridge, eastmoor):
    """A service with every field we publish filled in."""
    charity = OrganisationFactory(
        system=system,
        place=northbridge,
        voluntary=True,
        name="Eastern Red Cross",
        description="Volunteers who help people settle back at home.",
        website="https://redcross.example.org/",
        email="hello@redcross.example.org",
        phone="01632 960001",
        charity_number="220949",
        safeguarding_lead="Sam Safeguard",
        dbs_checks_expire_on=datetime.date(2027, 1, 31),
    )
    service = ServiceFactory(
        organisation=charity,
        name="Home from Hospital",
        description="Practical help in the first weeks at home.",
        needs=["home_help", "hospital_discharge_support"],
        eligibility="Adults leaving Eastern General.",
        min_age=18,
        max_age=110,
        url="https://redcross.example.org/home-from-hospital",
        email="hfh@redcross.example.org",
        phone="01632 960002",
        last_verified_on=datetime.date(2026, 3, 1),
    )
    service.places.set([northbridge, eastmoor])
    return service


@pytest.fixture
def bare_service(system):
    """A service with nothing but what the models require."""
    trust = OrganisationFactory(system=system, place=None, name="Eastern Community Health")
    return ServiceFactory(
        organisation=trust, name="Rapid Response", description="", needs=[], eligibility=""
    )


def published(client, **params):
    response = client.get(reverse("directory_services_json"), params)
    assert response.status_code == 200, response.content
    return response.json()


def only(page):
    (service,) = page["contents"]
    return service


def test_anyone_may_read_it_without_signing_in(client, home_from_hospital):
    response = client.get(reverse("directory_services_json"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert [service["name"] for service in response.json()["contents"]] == ["Home from Hospital"]


def test_it_publishes_only_active_services_of_active_organisations(client, system, northbridge):
    open_org = OrganisationFactory(system=system, place=northbridge, voluntary=True)
    closed_org = OrganisationFactory(system=system, place=northbridge, voluntary=True, active=False)
    ServiceFactory(organisation=open_org, name="Befriending")
    ServiceFactory(organisation=open_org, name="Paused", status=ServiceStatus.TEMPORARILY_CLOSED)
    ServiceFactory(organisation=open_org, name="Wound down", status=ServiceStatus.DEFUNCT)
    ServiceFactory(organisation=closed_org, name="Of a closed charity")

    page = published(client)

    assert [service["name"] for service in page["contents"]] == ["Befriending"]
    assert page["total_items"] == 1


def test_every_service_validates_against_the_hsds_service_schema(
    client, service_schema, home_from_hospital, bare_service
):
    services = published(client)["contents"]

    assert len(services) == 2
    for service in services:
        problems = [
            f"{list(e.absolute_path)}: {e.message}" for e in service_schema.iter_errors(service)
        ]
        assert problems == [], service["name"]


def test_the_schema_check_would_catch_a_malformed_id(service_schema):
    # Guards the test above: the format checker must really be checking uuids.
    assert not service_schema.is_valid({"id": "42", "name": "x", "status": "active"})


def test_it_maps_our_fields_to_hsds_fields(client, home_from_hospital):
    service = only(published(client))
    organisation = home_from_hospital.organisation

    assert service["id"] == str(home_from_hospital.hsds_id)
    assert service["organization_id"] == str(organisation.hsds_id)
    assert service["description"] == "Practical help in the first weeks at home."
    assert service["url"] == "https://redcross.example.org/home-from-hospital"
    assert service["email"] == "hfh@redcross.example.org"
    assert service["status"] == "active"
    assert service["eligibility_description"] == "Adults leaving Eastern General."
    assert (service["minimum_age"], service["maximum_age"]) == (18, 110)
    assert service["assured_date"] == "2026-03-01"
    assert [phone["number"] for phone in service["phones"]] == ["01632 960002"]
    assert [area["name"] for area in service["service_areas"]] == ["Eastmoor", "Northbridge"]
    assert service["organization"]["id"] == str(organisation.hsds_id)
    assert service["organization"]["website"] == "https://redcross.example.org/"
    assert service["organization"]["legal_status"] == "Registered charity"
    assert service["organization"]["organization_identifiers"][0]["identifier_scheme"] == "GB-CHC"
    assert service["organization"]["organization_identifiers"][0]["identifier"] == "220949"


def test_it_leaves_out_what_we_do_not_know(client, bare_service):
    service = only(published(client))

    for absent in (
        "url",
        "email",
        "minimum_age",
        "maximum_age",
        "assured_date",
        "phones",
        "attributes",
        "description",
        "eligibility_description",
    ):
        assert absent not in service
    assert "legal_status" not in service["organization"]
    # HSDS requires an organisation's description even when there is none.
    assert service["organization"]["description"] == ""


def test_it_never_publishes_private_details(client, home_from_hospital):
    body = json.dumps(published(client))

    assert "Sam Safeguard" not in body
    assert "2027-01-31" not in body


def test_needs_are_taxonomy_terms_of_our_vocabulary_with_stable_ids(
    client, home_from_hospital, bare_service
):
    bare_service.needs = ["home_help"]
    bare_service.save()

    services = {service["name"]: service for service in published(client)["contents"]}
    terms = [a["taxonomy_term"] for a in services["Home from Hospital"]["attributes"]]

    assert [(term["code"], term["name"]) for term in terms] == [
        ("home_help", "Home help"),
        ("hospital_discharge_support", "Hospital discharge support"),
    ]
    assert {term["taxonomy"] for term in terms} == {"vsocare-needs"}
    # The same code is the same term everywhere, today and in every later export.
    assert terms[0]["id"] == services["Rapid Response"]["attributes"][0]["taxonomy_term"]["id"]
    assert terms[0]["id"] == str(
        uuid.uuid5(uuid.uuid5(uuid.NAMESPACE_URL, "urn:vsocare:hsds"), "vsocare-needs/home_help")
    )


def test_a_service_with_no_places_serves_the_whole_system(client, system, bare_service):
    (area,) = only(published(client))["service_areas"]

    assert area["name"] == system.name


def test_it_pages_through_the_directory_in_name_order(client, system, northbridge):
    for name in ["Carers' Café", "Advice Line", "Befriending"]:
        ServiceFactory(name=name, organisation__system=system, organisation__place=northbridge)

    first = published(client, per_page=2)
    second = published(client, page=2, per_page=2)

    assert [s["name"] for s in first["contents"]] == ["Advice Line", "Befriending"]
    assert [s["name"] for s in second["contents"]] == ["Carers' Café"]
    assert {k: v for k, v in first.items() if k != "contents"} == {
        "total_items": 3,
        "total_pages": 2,
        "page_number": 1,
        "size": 2,
        "first_page": True,
        "last_page": False,
        "empty": False,
    }
    assert (second["size"], second["first_page"], second["last_page"]) == (1, False, True)


def test_it_pages_by_fifty_unless_asked(client, system, northbridge):
    organisation = OrganisationFactory(system=system, place=northbridge, voluntary=True)
    ServiceFactory.create_batch(51, organisation=organisation)

    page = published(client)

    assert (page["size"], page["total_pages"]) == (50, 2)


def test_an_empty_directory_is_one_empty_page(client, system):
    page = published(client)

    assert page["contents"] == []
    assert (page["total_items"], page["total_pages"], page["empty"]) == (0, 1, True)
    assert page["first_page"] and page["last_page"]


@pytest.mark.parametrize(
    "params",
    [{"page": "two"}, {"page": "0"}, {"per_page": "0"}, {"per_page": "201"}, {"per_page": "1.5"}],
)
def test_it_refuses_page_numbers_it_cannot_use(client, params):
    response = client.get(reverse("directory_services_json"), params)

    assert response.status_code == 400
    assert response.json()["error"]


def test_a_page_past_the_last_is_not_found(client, bare_service):
    response = client.get(reverse("directory_services_json"), {"page": 2})

    assert response.status_code == 404
    assert response.json() == {"error": "There is no page 2; the last page is 1."}


def test_the_query_count_does_not_grow_with_the_directory(
    client, system, northbridge, eastmoor, django_assert_max_num_queries
):
    def add_services(count):
        for _ in range(count):
            organisation = OrganisationFactory(
                system=system,
                place=northbridge,
                sector=Sector.VOLUNTARY,
                kind=VsoKind.COMMUNITY_GROUP,
            )
            ServiceFactory(organisation=organisation).places.set([northbridge, eastmoor])

    add_services(2)
    # count, the page with its organisations and system, their places, the need labels
    with django_assert_max_num_queries(4):
        published(client)
    add_services(20)
    with django_assert_max_num_queries(4):
        assert published(client)["size"] == 22


def test_every_system_is_in_the_feed_and_a_system_may_be_asked_for_alone(
    client, home_from_hospital, western
):
    western_trust = OrganisationFactory(system=western, place=None, name="Western Health Trust")
    ServiceFactory(organisation=western_trust, name="Western Falls Team")

    everyone = published(client)
    ours = published(client, system=home_from_hospital.organisation.system_id)
    theirs = published(client, system=western.pk, page=1)

    assert [s["name"] for s in everyone["contents"]] == ["Home from Hospital", "Western Falls Team"]
    assert [s["name"] for s in ours["contents"]] == ["Home from Hospital"]
    assert [s["name"] for s in theirs["contents"]] == ["Western Falls Team"]
    assert theirs["total_items"] == 1


@pytest.mark.parametrize(("value", "status"), [("x", 400), ("0", 400), ("999999", 404)])
def test_a_system_that_is_not_one_is_refused(client, home_from_hospital, value, status):
    response = client.get(reverse("directory_services_json"), {"system": value})

    assert response.status_code == status
    assert response.json()["error"]
