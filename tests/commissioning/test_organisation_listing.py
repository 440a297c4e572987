import datetime

import pytest
import time_machine
from django.urls import reverse

from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db

LISTING = {
    "description": "Practical help for people going home from hospital.",
    "website": "https://redcross.example.org",
    "email": "hfh@redcross.example.org",
    "phone": "01632 960000",
    "safeguarding_lead": "Priya Shah",
    "dbs_checks_expire_on": "2027-06-30",
    "insurance_expires_on": "2027-03-31",
    "safeguarding_policy_review_on": "2027-01-31",
}


def listing_url(organisation):
    return reverse("organisation_listing_edit", args=[organisation.pk])


def test_a_vso_lead_edits_their_own_listing(client, red_cross_lead, red_cross):
    client.force_login(red_cross_lead)
    form = client.get(listing_url(red_cross)).context["form"]

    response = client.post(
        listing_url(red_cross), {**LISTING, "updated_at": form["updated_at"].value()}
    )

    assert response.status_code == 302
    red_cross.refresh_from_db()
    assert red_cross.safeguarding_lead == "Priya Shah"
    assert red_cross.dbs_checks_expire_on == datetime.date(2027, 6, 30)
    assert red_cross.updated_by == red_cross_lead


def test_the_lead_cannot_change_sector_or_kind_through_the_listing(
    client, red_cross_lead, red_cross
):
    client.force_login(red_cross_lead)

    client.post(listing_url(red_cross), {**LISTING, "sector": "health", "kind": ""})

    red_cross.refresh_from_db()
    assert red_cross.sector == "voluntary"


def test_a_lead_cannot_edit_another_organisations_listing(client, other_lead, red_cross):
    client.force_login(other_lead)

    assert client.get(listing_url(red_cross)).status_code == 403
    assert client.post(listing_url(red_cross), LISTING).status_code == 403
    red_cross.refresh_from_db()
    assert red_cross.safeguarding_lead == ""


@pytest.mark.parametrize("role_fixture", ["icc", "red_cross_worker"])
def test_other_roles_cannot_edit_a_listing(client, request, role_fixture, red_cross):
    client.force_login(request.getfixturevalue(role_fixture))

    assert client.get(listing_url(red_cross)).status_code == 403


def test_an_unknown_organisation_is_a_404(client, red_cross_lead):
    client.force_login(red_cross_lead)

    assert client.get(reverse("organisation_detail", args=[999999])).status_code == 404


def test_a_listing_saved_by_someone_else_meanwhile_is_not_overwritten(
    client, red_cross_lead, commissioner, red_cross
):
    client.force_login(red_cross_lead)
    opened = client.get(listing_url(red_cross)).context["form"]["updated_at"].value()
    client.force_login(commissioner)
    client.post(listing_url(red_cross), {**LISTING, "updated_at": opened, "phone": "111"})
    client.force_login(red_cross_lead)

    response = client.post(listing_url(red_cross), {**LISTING, "updated_at": opened})

    assert response.status_code == 200
    assert "changed by someone else" in response.content.decode()
    red_cross.refresh_from_db()
    assert red_cross.phone == "111"


def test_verifying_the_listing_stamps_today_on_the_organisation_and_its_services(
    client, red_cross_lead, red_cross
):
    service = ServiceFactory(organisation=red_cross)
    client.force_login(red_cross_lead)

    with time_machine.travel("2026-11-23 10:00 +0000"):
        response = client.post(reverse("organisation_verify", args=[red_cross.pk]))

    assert response.status_code == 302
    red_cross.refresh_from_db()
    service.refresh_from_db()
    assert red_cross.last_verified_on == service.last_verified_on == datetime.date(2026, 11, 23)


def test_another_lead_cannot_verify_someone_elses_listing(client, other_lead, red_cross):
    client.force_login(other_lead)

    assert client.post(reverse("organisation_verify", args=[red_cross.pk])).status_code == 403
    red_cross.refresh_from_db()
    assert red_cross.last_verified_on is None


def test_a_lead_edits_their_own_service_listing_and_ages_are_checked(
    client, red_cross_lead, red_cross, northbridge
):
    service = ServiceFactory(organisation=red_cross, name="Home from Hospital")
    url = reverse("service_listing_edit", args=[service.pk])
    client.force_login(red_cross_lead)
    data = {
        "name": "Home from Hospital",
        "description": "Help at home.",
        "needs": ["home_help", "shopping"],
        "places": [northbridge.pk],
        "eligibility": "Adults.",
        "status": "active",
        "min_age": "65",
        "max_age": "18",
        "updated_at": client.get(url).context["form"]["updated_at"].value(),
    }

    refused = client.post(url, data)
    saved = client.post(url, {**data, "max_age": ""})

    assert "Enter a maximum age of at least the minimum age" in refused.content.decode()
    assert saved.status_code == 302
    service.refresh_from_db()
    assert service.needs == ["home_help", "shopping"]
    assert list(service.places.all()) == [northbridge]


def test_a_lead_cannot_edit_another_organisations_service(client, other_lead, red_cross):
    service = ServiceFactory(organisation=red_cross)

    client.force_login(other_lead)

    assert client.get(reverse("service_listing_edit", args=[service.pk])).status_code == 403
