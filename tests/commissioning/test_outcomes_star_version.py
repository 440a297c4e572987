"""A specification names the version of the Outcomes Star its VSO uses (#13): needed when the
Star is one of its measures, one of commissioning.instruments.STAR_VERSIONS, and carried
wherever a specification field goes: the form, the services, the files, the page, comparisons."""

import json
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from commissioning.codes import SpecificationStatus
from commissioning.models import ServiceSpecification
from commissioning.services import (
    specification_copy_as_draft,
    specification_create_draft,
    specification_publish,
    specification_update_draft,
)
from commissioning.validation import specification_errors
from tests.commissioning.test_specification_files import record
from tests.commissioning.test_specification_lifecycle import content
from tests.commissioning.test_specification_screens import form_data
from tests.factories import FrameworkFactory, ServiceFactory, SpecificationFactory

pytestmark = pytest.mark.django_db

NEEDED = "Choose the Outcomes Star version: the outcome measures include the Outcomes Star."
TORBAY = "Motivational chart, 7 domains (as used in Torbay)"


@pytest.fixture
def service(red_cross):
    return ServiceFactory(organisation=red_cross, name="Home from Hospital")


@pytest.fixture
def framework(system):
    return FrameworkFactory(system=system)


def star(**changes):
    """A specification's fields with the Outcomes Star among its measures."""
    return {"outcome_measures": ["wemwbs", "outcomes_star"], **changes}


# --- The rule ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        pytest.param(star(), [NEEDED], id="the Star without a version"),
        pytest.param(star(outcomes_star_version=None), [NEEDED], id="a null version"),
        pytest.param(star(outcomes_star_version="motivational_7"), [], id="a version"),
        pytest.param(
            star(outcomes_star_version="sparkle"),
            [
                "Unknown Outcomes Star version 'sparkle'; use one of wellbeing, older_persons, "
                "motivational_7."
            ],
            id="an unknown version",
        ),
        pytest.param(
            star(outcomes_star_version=["wellbeing"]),
            [
                "Unknown Outcomes Star version ['wellbeing']; use one of wellbeing, "
                "older_persons, motivational_7."
            ],
            id="not text",
        ),
        pytest.param({"outcome_measures": ["goals"]}, [], id="no Star, no version"),
        pytest.param(
            {"outcome_measures": ["goals"], "outcomes_star_version": "wellbeing"},
            [],
            id="a version kept without the Star",
        ),
    ],
)
def test_the_version_is_needed_with_the_star_and_must_be_one_of_the_versions(data, errors):
    found = specification_errors(data | {"max_urgency": "soon", "starts_on": None})

    assert found.get("outcomes_star_version", []) == errors


def test_a_draft_naming_the_star_without_its_version_is_refused_with_the_field_named(
    service, framework, commissioner
):
    with pytest.raises(ValidationError) as error:
        specification_create_draft(
            service=service, user=commissioner, **content(framework, **star())
        )

    assert error.value.message_dict == {"outcomes_star_version": [NEEDED]}
    assert not ServiceSpecification.objects.exists()


def test_a_version_published_before_versions_were_named_is_copied_and_asks_for_it(
    service, framework, commissioner
):
    # As an installation upgraded to this release holds it: the Star, no version.
    old = SpecificationFactory(service=service, framework=framework, version=1, **star())

    draft = specification_copy_as_draft(specification=old, user=commissioner)

    assert (draft.version, draft.outcome_measures) == (2, ["wemwbs", "outcomes_star"])
    with pytest.raises(ValidationError) as refusal:
        specification_publish(specification=draft, user=commissioner)
    assert refusal.value.message_dict == {"outcomes_star_version": [NEEDED]}
    draft = specification_update_draft(
        specification=draft,
        user=commissioner,
        expected_updated_at=draft.updated_at,
        outcomes_star_version="older_persons",
    )
    specification_publish(specification=draft, user=commissioner)
    draft.refresh_from_db()
    assert (draft.status, draft.outcomes_star_version) == (
        SpecificationStatus.ACTIVE,
        "older_persons",
    )


# --- The form and the pages --------------------------------------------------------------------


def test_the_form_asks_for_the_version_next_to_the_outcome_measures(
    client, commissioner, service, framework
):
    client.force_login(commissioner)

    page = client.get(reverse("specification_create", args=[service.pk])).content.decode()

    measures, version = (
        page.index('name="outcome_measures"'),
        page.index('name="outcomes_star_version"'),
    )
    assert measures < version < page.index('name="funding_gbp"')
    assert TORBAY in page


@pytest.mark.parametrize(
    ("chosen", "message"),
    [
        ("", NEEDED),
        ("sparkle", "Choose one of the versions of the Outcomes Star listed."),
    ],
)
def test_the_form_refuses_the_star_without_a_known_version_at_the_field(
    client, commissioner, service, framework, chosen, message
):
    client.force_login(commissioner)

    response = client.post(
        reverse("specification_create", args=[service.pk]),
        form_data(framework, outcome_measures=["outcomes_star"], outcomes_star_version=chosen),
    )

    assert response.status_code == 200
    assert response.context["form"].errors["outcomes_star_version"] == [message]
    assert not ServiceSpecification.objects.exists()


def test_the_version_chosen_is_saved_and_shown_by_name(client, commissioner, service, framework):
    client.force_login(commissioner)

    client.post(
        reverse("specification_create", args=[service.pk]),
        form_data(
            framework, outcome_measures=["outcomes_star"], outcomes_star_version="motivational_7"
        ),
    )

    draft = ServiceSpecification.objects.get()
    assert draft.outcomes_star_version == "motivational_7"
    page = client.get(reverse("specification_detail", args=[draft.pk])).content.decode()
    assert (
        f'<dt class="col-sm-4">Outcomes Star version</dt><dd class="col-sm-8">{TORBAY}</dd>' in page
    )


def test_another_systems_commissioner_finds_no_such_specification(
    client, western_people, service, framework
):
    spec = SpecificationFactory(
        service=service, framework=framework, **star(outcomes_star_version="motivational_7")
    )
    client.force_login(western_people["commissioner"])

    assert client.get(reverse("specification_detail", args=[spec.pk])).status_code == 404


def test_a_comparison_names_the_versions_of_the_star(client, commissioner, service, framework):
    old = SpecificationFactory(
        service=service, framework=framework, version=1, **star(outcomes_star_version="wellbeing")
    )
    new = SpecificationFactory(
        service=service,
        framework=framework,
        version=2,
        status=SpecificationStatus.DRAFT,
        **star(outcomes_star_version="older_persons"),
    )
    client.force_login(commissioner)

    response = client.get(reverse("specification_compare", args=[new.pk]), {"with": old.pk})

    changes = {d.label: (d.old, d.new) for d in response.context["differences"]}
    assert changes == {
        "Outcomes Star version": ("Well-being Star (8 areas)", "Older Person's Star (8 areas)")
    }


# --- Files -------------------------------------------------------------------------------------


def test_the_version_goes_out_in_a_file_and_comes_back_as_it_was(service, framework, tmp_path):
    SpecificationFactory(
        service=service,
        framework=framework,
        version=1,
        **star(outcomes_star_version="motivational_7"),
    )
    path = tmp_path / "out.json"
    call_command("export_specifications", "--output", str(path), stderr=StringIO())
    exported = json.loads(path.read_text(encoding="utf-8"))["specifications"][0]
    ServiceSpecification.objects.all().delete()

    call_command("import_specifications", str(path), stdout=StringIO(), stderr=StringIO())

    assert exported["outcomes_star_version"] == "motivational_7"
    assert list(exported).index("outcomes_star_version") == (
        list(exported).index("outcome_measures") + 1
    )
    assert ServiceSpecification.objects.get().outcomes_star_version == "motivational_7"


def test_a_file_that_leaves_the_version_out_has_none(service, framework, tmp_path):
    without = record(version=1)
    del without["outcomes_star_version"]
    path = tmp_path / "in.json"
    path.write_text(json.dumps([without]), encoding="utf-8")

    call_command("import_specifications", str(path), stdout=StringIO(), stderr=StringIO())

    assert ServiceSpecification.objects.get().outcomes_star_version == ""


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("", NEEDED),
        (None, NEEDED),
        ("sparkle", "Unknown Outcomes Star version 'sparkle'; use one of wellbeing"),
        (7, 'Must be a version code, such as "wellbeing".'),
        ("well\x1bbeing", "Contains a control character (U+001B) at position 5; remove it."),
    ],
)
def test_a_file_naming_the_star_without_a_known_version_is_refused_at_the_field(
    service, framework, tmp_path, version, message
):
    path = tmp_path / "in.json"
    path.write_text(
        json.dumps([record(version=1, **star(outcomes_star_version=version))]), encoding="utf-8"
    )
    err = StringIO()

    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_specifications", str(path), stdout=StringIO(), stderr=err)

    errors = err.getvalue().splitlines()
    assert len(errors) == 1, errors
    assert f"): outcomes_star_version: {message}" in errors[0]
    assert not ServiceSpecification.objects.exists()
