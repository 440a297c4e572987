"""The change history of organisations, services, frameworks and specifications, on their pages."""

import datetime
import importlib

import pghistory
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from commissioning.models import Organisation, ServiceSpecification
from core.history import FieldChange
from tests.factories import FrameworkFactory, ServiceFactory, SpecificationFactory

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


@pytest.fixture
def service(red_cross):
    return ServiceFactory(organisation=red_cross, name="Home from Hospital")


@pytest.fixture
def framework(system):
    return FrameworkFactory(system=system)


def history(response):
    assert response.status_code == 200
    return response.context["history"]


def changes(entry):
    return {change.label: (change.old, change.new) for change in entry.changes}


def edit_listing(client, organisation, **fields):
    url = reverse("organisation_listing_edit", args=[organisation.pk])
    opened = client.get(url).context["form"]["updated_at"].value()
    response = client.post(url, {**LISTING, **fields, "updated_at": opened})
    assert response.status_code == 302


def test_a_dbs_date_changed_in_the_listing_shows_on_the_page_with_who_and_what(
    client, red_cross_lead, commissioner, red_cross
):
    Organisation.objects.filter(pk=red_cross.pk).update(
        dbs_checks_expire_on=datetime.date(2026, 6, 30)
    )
    client.force_login(red_cross_lead)
    edit_listing(client, red_cross, dbs_checks_expire_on="2027-06-30")

    client.force_login(commissioner)
    response = client.get(reverse("organisation_detail", args=[red_cross.pk]))

    latest = history(response)[-1]
    assert latest.who == "Vera Lewis"
    assert changes(latest)["DBS checks valid until"] == ("30 Jun 2026", "30 Jun 2027")
    assert changes(latest)["Safeguarding lead"] == ("—", "Priya Shah")
    page = response.content.decode()
    assert "DBS checks valid until</span>: 30 Jun 2026 → 30 Jun 2027" in page
    assert "Vera Lewis" in page


def test_the_oldest_change_comes_first_and_a_record_made_with_nobody_signed_in_says_so(
    client, red_cross_lead, red_cross
):
    client.force_login(red_cross_lead)
    edit_listing(client, red_cross, insurance_expires_on="2027-03-31")
    edit_listing(client, red_cross, insurance_expires_on="2028-03-31")

    entries = history(client.get(reverse("organisation_detail", args=[red_cross.pk])))

    assert [(entry.created, entry.who) for entry in entries] == [
        (True, "system/import"),
        (False, "Vera Lewis"),
        (False, "Vera Lewis"),
    ]
    assert changes(entries[2]) == {"Insurance valid until": ("31 Mar 2027", "31 Mar 2028")}


def test_confirming_the_listing_shows_as_a_change_of_its_verified_date(
    client, red_cross_lead, red_cross
):
    client.force_login(red_cross_lead)
    client.post(reverse("organisation_verify", args=[red_cross.pk]))

    entries = history(client.get(reverse("organisation_detail", args=[red_cross.pk])))

    assert list(changes(entries[-1])) == ["Last verified on"]
    assert entries[-1].who == "Vera Lewis"


def test_a_service_listing_change_shows_on_the_service_page_in_words(
    client, red_cross_lead, icc, service
):
    client.force_login(red_cross_lead)
    url = reverse("service_listing_edit", args=[service.pk])
    opened = client.get(url).context["form"]["updated_at"].value()
    client.post(
        url,
        {
            "name": "Home from Hospital",
            "description": service.description,
            "needs": ["home_help", "befriending"],
            "eligibility": service.eligibility,
            "status": "temporarily_closed",
            "updated_at": opened,
        },
    )

    client.force_login(icc)
    latest = history(client.get(reverse("service_detail", args=[service.pk])))[-1]

    assert latest.who == "Vera Lewis"
    assert changes(latest) == {
        "Status": ("Active", "Temporarily closed"),
        "Needs": ("Home help, Hospital discharge support", "Home help, Befriending"),
    }


def test_a_framework_edit_shows_on_the_framework_page(client, commissioner, framework):
    client.force_login(commissioner)
    url = reverse("framework_edit", args=[framework.pk])
    opened = client.get(url).context["form"]["updated_at"].value()
    client.post(
        url,
        {
            "name": "Frailty Framework",
            "objectives": framework.objectives,
            "outcome_measures": ["wemwbs", "goals"],
            "starts_on": "2026-04-01",
            "ends_on": "2030-03-31",
            "updated_at": opened,
        },
    )

    response = client.get(reverse("framework_detail", args=[framework.pk]))

    latest = history(response)[-1]
    assert latest.who == "Colin Mensah"
    assert changes(latest) == {
        "Name": ("Voluntary Sector Commissioning Framework 2026-29", "Frailty Framework"),
        "Ends on": ("31 Mar 2029", "31 Mar 2030"),
    }


def spec_form(framework, **overrides):
    return {
        "framework": framework.pk,
        "eligibility": "Adults leaving hospital.",
        "activities_in_remit": ["home_help", "shopping"],
        "activities_excluded": ["personal_care", "emergency_response"],
        "max_urgency": "soon",
        "monthly_capacity": "30",
        "max_episode_weeks": "6",
        "response_target_hours": "48",
        "max_interim_cover_days": "14",
        "outcome_measures": ["goals"],
        "funding_gbp": "50000",
        "starts_on": "2026-04-01",
        "ends_on": "2027-03-31",
        **overrides,
    }


@pytest.fixture
def published(client, commissioner, service, framework):
    """Version 1 in force, then version 2 drafted, edited twice and published over it."""
    first = SpecificationFactory(service=service, framework=framework, version=1)
    client.force_login(commissioner)
    client.post(reverse("specification_create", args=[service.pk]), spec_form(framework))
    draft = ServiceSpecification.objects.get(service=service, version=2)
    edit = reverse("specification_edit", args=[draft.pk])
    for capacity, funding in (("45", "60000"), ("50", "60000")):
        opened = client.get(edit).context["form"]["updated_at"].value()
        response = client.post(
            edit,
            spec_form(framework, monthly_capacity=capacity, funding_gbp=funding, updated_at=opened),
        )
        assert response.status_code == 302
    client.post(reverse("specification_publish", args=[draft.pk]))
    client.logout()
    return first, draft


def test_a_specifications_draft_edits_and_publishing_show_on_its_page(
    client, commissioner, published
):
    _, draft = published
    client.force_login(commissioner)

    entries = history(client.get(reverse("specification_detail", args=[draft.pk])))

    assert [entry.who for entry in entries] == ["Colin Mensah"] * 4
    assert entries[0].created
    assert changes(entries[1]) == {
        "Monthly capacity": ("30", "45"),
        "Funding (£)": ("50000.00", "60000.00"),
    }
    assert changes(entries[2]) == {"Monthly capacity": ("45", "50")}
    assert changes(entries[3])["Status"] == ("Draft", "Active")
    assert changes(entries[3])["Published at"][0] == "—"


def test_the_version_it_replaced_shows_when_it_was_retired_and_by_whom(client, icc, published):
    first, _ = published
    client.force_login(icc)

    latest = history(client.get(reverse("specification_detail", args=[first.pk])))[-1]

    assert latest.who == "Colin Mensah"
    assert changes(latest)["Status"] == ("Active", "Retired")


def test_whoever_may_not_see_the_funding_does_not_see_its_changes(
    client, icc, red_cross_lead, published
):
    _, draft = published
    url = reverse("specification_detail", args=[draft.pk])

    client.force_login(icc)
    response = client.get(url)
    to_referrer = history(response)
    assert "Funding" not in response.content.decode()
    client.force_login(red_cross_lead)
    to_own_lead = history(client.get(url))

    assert "Funding (£)" not in {label for entry in to_referrer for label in changes(entry)}
    assert changes(to_own_lead[1])["Funding (£)"] == ("50000.00", "60000.00")
    assert FieldChange("Monthly capacity", "30", "45") in to_referrer[1].changes


@pytest.mark.parametrize("role", list(Role))
def test_another_systems_people_find_none_of_these_pages(
    client, western_people, role, red_cross, service, framework
):
    spec = SpecificationFactory(service=service, framework=framework, version=1)
    client.force_login(western_people[role])

    for name, record in [
        ("organisation_detail", red_cross),
        ("service_detail", service),
        ("framework_detail", framework),
        ("specification_detail", spec),
    ]:
        assert client.get(reverse(name, args=[record.pk])).status_code == 404


def test_the_page_takes_the_same_number_of_queries_however_many_changes(
    client, commissioner, red_cross_lead, red_cross
):
    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse("organisation_detail", args=[red_cross.pk]))
        assert response.status_code == 200
        return len(captured)

    def change_dbs_date(day):
        with pghistory.context(user=red_cross_lead.pk):
            Organisation.objects.filter(pk=red_cross.pk).update(
                dbs_checks_expire_on=datetime.date(2027, 1, 1) + datetime.timedelta(days=day),
                place=None if day % 2 else red_cross.place,
            )

    client.force_login(commissioner)
    client.get(reverse("organisation_detail", args=[red_cross.pk]))  # starts the idle clock
    change_dbs_date(1)
    one = queries_for_page()
    for day in range(2, 22):
        change_dbs_date(day)
    twenty = queries_for_page()

    assert len(history(client.get(reverse("organisation_detail", args=[red_cross.pk])))) == 22
    assert twenty == one


def test_a_record_already_there_when_history_began_shows_what_its_first_change_changed(
    client, red_cross_lead, red_cross
):
    # As the migration found it: a row with no history yet, given its baseline snapshot.
    migration = importlib.import_module("commissioning.migrations.0005_history_baseline")
    from django.apps import apps

    red_cross.events.all().delete()
    with connection.schema_editor() as editor:
        migration.record_baseline(apps, editor)
    client.force_login(red_cross_lead)
    edit_listing(client, red_cross, safeguarding_lead="Sam Okafor")

    entries = history(client.get(reverse("organisation_detail", args=[red_cross.pk])))

    assert len(entries) == 1
    assert changes(entries[0])["Safeguarding lead"] == ("—", "Sam Okafor")


def test_the_time_of_a_change_is_shown_in_uk_time(client, red_cross_lead, red_cross):
    client.force_login(red_cross_lead)
    edit_listing(client, red_cross)
    summer = datetime.datetime(2026, 7, 1, 8, 30, tzinfo=datetime.UTC)
    red_cross.events.filter(pgh_label="update").update(pgh_created_at=summer)

    page = client.get(reverse("organisation_detail", args=[red_cross.pk])).content.decode()

    assert "1 Jul 2026 09:30" in page
