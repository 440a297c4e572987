"""One conflict rule for every edit of a commissioning record: the form carries the version the
person opened, and a save over someone else's change, or without a version, saves nothing."""

import pytest
from django.urls import reverse

from commissioning.codes import SpecificationStatus
from commissioning.forms import STALE_PAGE
from commissioning.models import CommissioningFramework
from tests.factories import FrameworkFactory, ServiceFactory, SpecificationFactory

pytestmark = pytest.mark.django_db

FRAMEWORK = {
    "name": "Frailty Framework",
    "objectives": "Keep people well at home.",
    "outcome_measures": ["wemwbs"],
    "starts_on": "2026-04-01",
    "ends_on": "2029-03-31",
}


@pytest.fixture
def framework(system):
    return FrameworkFactory(system=system, name="Frailty Framework")


def opened_version(client, url):
    return client.get(url).context["form"]["updated_at"].value()


def test_a_framework_saved_by_someone_else_meanwhile_is_not_overwritten(
    client, commissioner, administrator, framework
):
    url = reverse("framework_edit", args=[framework.pk])
    client.force_login(commissioner)
    mine = opened_version(client, url)
    client.force_login(administrator)
    theirs = client.post(url, {**FRAMEWORK, "objectives": "Theirs.", "updated_at": mine})
    client.force_login(commissioner)

    response = client.post(url, {**FRAMEWORK, "objectives": "Mine.", "updated_at": mine})

    assert theirs.status_code == 302
    assert response.status_code == 200
    assert "changed by someone else" in response.content.decode()
    framework.refresh_from_db()
    assert framework.objectives == "Theirs."


@pytest.mark.parametrize(
    ("url_name", "make", "data"),
    [
        ("framework_edit", lambda ctx: ctx["framework"], FRAMEWORK),
        ("organisation_listing_edit", lambda ctx: ctx["red_cross"], {"description": "New."}),
        (
            "service_listing_edit",
            lambda ctx: ServiceFactory(organisation=ctx["red_cross"]),
            {"name": "Renamed", "status": "active"},
        ),
        (
            "specification_edit",
            lambda ctx: SpecificationFactory(
                service=ServiceFactory(organisation=ctx["red_cross"]),
                framework=ctx["framework"],
                status=SpecificationStatus.DRAFT,
            ),
            {"max_urgency": "soon", "starts_on": "2026-04-01"},
        ),
    ],
)
def test_an_edit_without_the_version_it_was_opened_at_saves_nothing(
    client, commissioner, red_cross, framework, url_name, make, data
):
    record = make({"framework": framework, "red_cross": red_cross})
    before = type(record).objects.get(pk=record.pk).updated_at
    client.force_login(commissioner)

    response = client.post(reverse(url_name, args=[record.pk]), data)

    assert response.status_code == 200
    assert STALE_PAGE in response.content.decode()
    assert type(record).objects.get(pk=record.pk).updated_at == before


def test_a_new_framework_needs_no_version(client, commissioner, system):
    client.force_login(commissioner)

    response = client.post(reverse("framework_create"), FRAMEWORK)

    assert response.status_code == 302
    assert CommissioningFramework.objects.filter(name="Frailty Framework").exists()
