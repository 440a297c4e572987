import pytest
from django.urls import reverse

from accounts.models import Role
from commissioning.codes import SpecificationStatus
from commissioning.models import CommissioningFramework, ServiceSpecification
from tests.factories import FrameworkFactory, ServiceFactory, SpecificationFactory

pytestmark = pytest.mark.django_db

READERS = [Role.ICC, Role.VSO_LEAD, Role.VSO_WORKER]


@pytest.fixture
def service(red_cross):
    return ServiceFactory(organisation=red_cross, name="Home from Hospital")


@pytest.fixture
def framework(system):
    return FrameworkFactory(system=system)


@pytest.fixture
def active(service, framework):
    return SpecificationFactory(service=service, framework=framework, version=1)


def form_data(framework, **overrides):
    data = {
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
    }
    data.update(overrides)
    return data


def test_a_commissioner_writes_a_draft_and_publishes_it(client, commissioner, service, framework):
    client.force_login(commissioner)

    created = client.post(reverse("specification_create", args=[service.pk]), form_data(framework))
    draft = ServiceSpecification.objects.get()
    published = client.post(reverse("specification_publish", args=[draft.pk]))

    assert created.status_code == published.status_code == 302
    draft.refresh_from_db()
    assert draft.status == SpecificationStatus.ACTIVE
    assert draft.activities_excluded == ["personal_care", "emergency_response"]


def test_publishing_a_new_version_retires_the_old_one(client, commissioner, active):
    client.force_login(commissioner)

    response = client.post(reverse("specification_new_version", args=[active.pk]))
    draft = ServiceSpecification.objects.get(version=2)
    edit_form = client.get(response.url).context["form"]
    client.post(
        reverse("specification_edit", args=[draft.pk]),
        form_data(
            active.framework, monthly_capacity="55", updated_at=edit_form["updated_at"].value()
        ),
    )
    client.post(reverse("specification_publish", args=[draft.pk]))

    active.refresh_from_db()
    draft.refresh_from_db()
    assert active.status == SpecificationStatus.RETIRED
    assert (draft.status, draft.monthly_capacity) == (SpecificationStatus.ACTIVE, 55)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"min_age": "70", "max_age": "20"}, "The maximum age (20) is below the minimum age (70)."),
        ({"monthly_capacity": "-5"}, "Monthly capacity must be 0 or more."),
        (
            {"activities_in_remit": ["juggling"]},
            "Choose one of the options listed for activities in remit.",
        ),
        (
            {"activities_in_remit": ["home_help"], "activities_excluded": ["home_help"]},
            "Both in remit and excluded: home_help.",
        ),
        ({"ends_on": "2025-01-01"}, "The contract ends before it starts."),
    ],
)
def test_bad_input_is_refused_at_the_field_and_nothing_is_saved(
    client, commissioner, service, framework, overrides, message
):
    client.force_login(commissioner)

    response = client.post(
        reverse("specification_create", args=[service.pk]), form_data(framework, **overrides)
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ServiceSpecification.objects.exists()


def test_a_published_version_cannot_be_edited_through_the_screen(client, commissioner, active):
    client.force_login(commissioner)

    response = client.post(
        reverse("specification_edit", args=[active.pk]),
        form_data(active.framework, monthly_capacity="999"),
    )

    assert response.status_code == 302
    active.refresh_from_db()
    assert active.monthly_capacity == 40


@pytest.mark.parametrize("role", READERS)
def test_only_commissioners_and_administrators_change_specifications(
    client, user_for_role, role, service, framework, active
):
    client.force_login(user_for_role(role))

    assert client.get(reverse("specification_create", args=[service.pk])).status_code == 403
    assert client.post(reverse("specification_new_version", args=[active.pk])).status_code == 403
    assert client.post(reverse("specification_retire", args=[active.pk])).status_code == 403
    assert client.get(reverse("framework_create")).status_code == 403
    active.refresh_from_db()
    assert active.status == SpecificationStatus.ACTIVE


@pytest.mark.parametrize("role", READERS)
def test_every_role_can_read_a_published_specification(client, user_for_role, role, active):
    client.force_login(user_for_role(role))

    response = client.get(reverse("specification_detail", args=[active.pk]))

    assert response.status_code == 200
    assert "Personal care, Clinical task, Emergency response" in response.content.decode()


def test_a_draft_is_a_404_to_a_referrer(client, icc, service, framework):
    draft = SpecificationFactory(
        service=service, framework=framework, version=1, status=SpecificationStatus.DRAFT
    )
    client.force_login(icc)

    assert client.get(reverse("specification_detail", args=[draft.pk])).status_code == 404


def test_funding_is_shown_to_the_services_own_lead_but_not_to_another(
    client, red_cross_lead, other_lead, active
):
    url = reverse("specification_detail", args=[active.pk])

    client.force_login(red_cross_lead)
    own = client.get(url).content.decode()
    client.force_login(other_lead)
    other = client.get(url).content.decode()

    assert "£85000.00" in own
    assert "£85000.00" not in other


def test_the_comparison_lists_each_changed_clause(client, commissioner, active):
    newer = SpecificationFactory(
        service=active.service,
        framework=active.framework,
        version=2,
        status=SpecificationStatus.DRAFT,
        monthly_capacity=60,
        max_urgency="soon",
    )
    client.force_login(commissioner)

    response = client.get(reverse("specification_compare", args=[newer.pk]), {"with": active.pk})

    changes = {d.label: (d.old, d.new) for d in response.context["differences"]}
    assert changes == {
        "Monthly capacity": ("40", "60"),
        "Highest urgency accepted": ("Urgent", "Soon"),
    }


def test_a_commissioner_creates_a_framework_and_bad_dates_are_refused(client, commissioner, system):
    client.force_login(commissioner)
    data = {
        "name": "Frailty Framework",
        "objectives": "Keep people well at home.",
        "outcome_measures": ["wemwbs", "rockwood"],
        "starts_on": "2026-04-01",
        "ends_on": "2025-03-31",
    }

    refused = client.post(reverse("framework_create"), data)
    created = client.post(reverse("framework_create"), {**data, "ends_on": "2029-03-31"})

    assert "Enter an end date on or after the date the framework starts" in refused.content.decode()
    assert created.status_code == 302
    framework = CommissioningFramework.objects.get(name="Frailty Framework")
    assert framework.outcome_measures == ["wemwbs", "rockwood"]
    assert framework.created_by == commissioner


def test_the_specification_list_query_count_does_not_grow(
    client, commissioner, red_cross, framework, django_assert_max_num_queries
):
    for _ in range(20):
        SpecificationFactory(
            service=ServiceFactory(organisation=red_cross), framework=framework, version=1
        )
    client.force_login(commissioner)

    with django_assert_max_num_queries(8):
        response = client.get(reverse("specification_list"))

    assert len(response.context["page"]) == 20


def test_editing_a_draft_shows_its_saved_dates_in_the_date_pickers(
    client, commissioner, service, framework
):
    draft = SpecificationFactory(
        service=service, framework=framework, version=1, status=SpecificationStatus.DRAFT
    )
    client.force_login(commissioner)

    page = client.get(reverse("specification_edit", args=[draft.pk])).content.decode()

    # A date picker only takes ISO dates; the UK format would leave it empty.
    assert 'type="date" name="starts_on" value="2026-04-01"' in page
    assert 'type="date" name="ends_on" value="2027-03-31"' in page
