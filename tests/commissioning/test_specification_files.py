import datetime
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from commissioning.codes import SpecificationStatus, Urgency
from commissioning.models import SPECIFICATION_FIELDS, ServiceSpecification
from tests.factories import (
    FrameworkFactory,
    OrganisationFactory,
    ServiceFactory,
    SpecificationFactory,
    SystemFactory,
)

pytestmark = pytest.mark.django_db

RECORD_KEYS = {"organisation", "service", "version", "status", *SPECIFICATION_FIELDS}


@pytest.fixture
def framework(system):
    return FrameworkFactory(system=system)


@pytest.fixture
def home_from_hospital(red_cross):
    return ServiceFactory(organisation=red_cross, name="Home from Hospital")


@pytest.fixture
def befriending(age_concern):
    return ServiceFactory(organisation=age_concern, name="Telephone Befriending")


@pytest.fixture
def specifications(home_from_hospital, befriending, framework):
    """Two versions of the Red Cross service (the first retired) and a draft at Age Concern."""
    return [
        SpecificationFactory(
            service=home_from_hospital,
            framework=framework,
            version=1,
            status=SpecificationStatus.RETIRED,
            monthly_capacity=30,
        ),
        SpecificationFactory(service=home_from_hospital, framework=framework, version=2),
        SpecificationFactory(
            service=befriending,
            framework=framework,
            version=1,
            status=SpecificationStatus.DRAFT,
            eligibility="People aged 65 or over who live alone.",
            not_eligible_for_social_care=True,
            min_age=65,
            max_age=None,
            activities_in_remit=["befriending"],
            activities_excluded=[],
            max_urgency=Urgency.ROUTINE,
            monthly_capacity=None,
            outcome_measures=["wemwbs"],
            funding_gbp=None,
            ends_on=None,
        ),
    ]


def export(*args) -> dict:
    out = StringIO()
    call_command("export_specifications", *args, stdout=out)
    return json.loads(out.getvalue())


def record(**overrides) -> dict:
    """One good record for the Red Cross service, as a file would carry it."""
    fields = {
        "organisation": "Eastern Red Cross Home from Hospital",
        "service": "Home from Hospital",
        "framework": "Voluntary Sector Commissioning Framework 2026-29",
        "version": 3,
        "status": "draft",
        "eligibility": "Adults aged 18 or over leaving hospital.",
        "not_eligible_for_social_care": False,
        "min_age": 18,
        "max_age": None,
        "activities_in_remit": ["home_help", "shopping"],
        "activities_excluded": ["personal_care"],
        "max_urgency": "urgent",
        "monthly_capacity": 40,
        "max_episode_weeks": 6,
        "response_target_hours": 48,
        "max_interim_cover_days": 14,
        "outcome_measures": ["wemwbs", "goals"],
        "outcomes_star_version": "",
        "funding_gbp": "85000.00",
        "starts_on": "2026-04-01",
        "ends_on": "2027-03-31",
    }
    fields.update(overrides)
    return fields


def write(tmp_path, content) -> str:
    path = tmp_path / "specifications.json"
    text = content if isinstance(content, str) else json.dumps(content)
    path.write_text(text, encoding="utf-8")
    return str(path)


def run_import(path, *args) -> str:
    out = StringIO()
    call_command("import_specifications", path, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def refused_import(path, *args) -> list[str]:
    """The error lines the import printed, after checking it refused the file."""
    err = StringIO()
    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_specifications", path, *args, stdout=StringIO(), stderr=err)
    return err.getvalue().splitlines()


def snapshot() -> list[tuple]:
    return list(
        ServiceSpecification.objects.order_by("pk").values_list(
            "pk", "service_id", "version", "status", "monthly_capacity", "updated_at"
        )
    )


def content_of(spec: ServiceSpecification) -> dict:
    return {name: getattr(spec, name) for name in ("version", "status", *SPECIFICATION_FIELDS)}


# --- Export ----------------------------------------------------------------------------------


def test_the_export_names_its_format_and_carries_every_field_of_a_specification(specifications):
    document = export()

    assert document["format"] == "vsocare-specifications"
    assert document["version"] == 1
    assert datetime.datetime.fromisoformat(document["exported_at"]).tzinfo is not None
    assert len(document["specifications"]) == 3
    for exported in document["specifications"]:
        assert set(exported) == RECORD_KEYS
        assert list(exported) == list(record()), "the order the documentation shows"
    assert document["specifications"][2] == record(
        version=2,
        status="active",
        activities_in_remit=["home_help", "shopping", "hospital_discharge_support", "befriending"],
        activities_excluded=["personal_care", "clinical_task", "emergency_response"],
    )


def test_the_export_writes_codes_nulls_and_funding_as_the_format_describes(specifications):
    befriending = export()["specifications"][0]

    assert befriending["organisation"] == "Age Concern Eastmoor Befriending"
    assert befriending["status"] == "draft"
    assert befriending["max_urgency"] == "routine"
    assert befriending["not_eligible_for_social_care"] is True
    assert befriending["max_age"] is None
    assert befriending["monthly_capacity"] is None
    assert befriending["funding_gbp"] is None
    assert befriending["ends_on"] is None
    assert befriending["outcome_measures"] == ["wemwbs"]


def test_the_export_is_in_order_of_organisation_service_and_version(specifications):
    exported = export()["specifications"]

    assert [(s["organisation"], s["service"], s["version"]) for s in exported] == [
        ("Age Concern Eastmoor Befriending", "Telephone Befriending", 1),
        ("Eastern Red Cross Home from Hospital", "Home from Hospital", 1),
        ("Eastern Red Cross Home from Hospital", "Home from Hospital", 2),
    ]


def test_the_export_can_be_limited_to_some_statuses_and_one_organisation(specifications):
    published = export("--status", "active", "--status", "retired")["specifications"]
    assert export("--status", "active", "retired")["specifications"] == published
    red_cross_only = export("--organisation", "eastern red cross home from hospital")

    assert [(s["service"], s["status"]) for s in published] == [
        ("Home from Hospital", "retired"),
        ("Home from Hospital", "active"),
    ]
    assert {s["organisation"] for s in red_cross_only["specifications"]} == {
        "Eastern Red Cross Home from Hospital"
    }


def test_the_export_refuses_an_organisation_that_does_not_exist(specifications):
    with pytest.raises(CommandError, match="No organisation called 'Nobody'"):
        export("--organisation", "Nobody")


def test_the_export_writes_to_the_output_file_when_given_one(specifications, tmp_path):
    path = tmp_path / "out.json"

    call_command("export_specifications", "--output", str(path), stderr=StringIO())

    assert len(json.loads(path.read_text(encoding="utf-8"))["specifications"]) == 3


# --- Import: creating and updating -----------------------------------------------------------


def test_a_round_trip_recreates_deleted_specifications_as_they_were(specifications, tmp_path):
    before = {(s.service_id, s.version): content_of(s) for s in ServiceSpecification.objects.all()}
    path = tmp_path / "out.json"
    call_command("export_specifications", "--output", str(path), stderr=StringIO())
    ServiceSpecification.objects.all().delete()

    output = run_import(str(path))

    after = {(s.service_id, s.version): content_of(s) for s in ServiceSpecification.objects.all()}
    assert after == before
    assert "3 created, 0 updated, 0 unchanged" in output
    v1 = ServiceSpecification.objects.get(service__name="Home from Hospital", version=1)
    v2 = ServiceSpecification.objects.get(service__name="Home from Hospital", version=2)
    assert v1.retired_at is not None and v2.published_at is not None


def test_importing_the_same_file_again_leaves_everything_unchanged(specifications, tmp_path):
    path = tmp_path / "out.json"
    call_command("export_specifications", "--output", str(path), stderr=StringIO())
    before = snapshot()

    output = run_import(str(path))

    assert "0 created, 0 updated, 3 unchanged" in output
    assert snapshot() == before


def test_a_draft_is_updated_in_place_instead_of_duplicated(specifications, tmp_path):
    path = write(
        tmp_path,
        [
            record(
                organisation="Age Concern Eastmoor Befriending",
                service="Telephone Befriending",
                version=1,
                monthly_capacity=25,
            )
        ],
    )

    output = run_import(path)

    draft = ServiceSpecification.objects.get(service__name="Telephone Befriending")
    assert "0 created, 1 updated, 0 unchanged" in output
    assert draft.pk == specifications[2].pk
    assert draft.monthly_capacity == 25
    assert draft.status == SpecificationStatus.DRAFT


def test_names_are_matched_whatever_their_case(specifications, tmp_path):
    path = write(
        tmp_path,
        [
            record(
                organisation="EASTERN RED CROSS HOME FROM HOSPITAL",
                service="home from hospital",
                framework="voluntary sector commissioning framework 2026-29",
            )
        ],
    )

    run_import(path)

    assert ServiceSpecification.objects.filter(
        service=specifications[0].service, version=3, status=SpecificationStatus.DRAFT
    ).exists()


def test_a_bare_list_and_funding_as_a_json_number_are_accepted(home_from_hospital, tmp_path):
    FrameworkFactory(system=home_from_hospital.organisation.system)
    path = write(tmp_path, "[" + json.dumps(record()).replace('"85000.00"', "85000.5") + "]")

    run_import(path)

    assert ServiceSpecification.objects.get().funding_gbp == Decimal("85000.50")


def test_left_out_optional_fields_take_their_defaults(home_from_hospital, framework, tmp_path):
    required = {
        key: record()[key]
        for key in ("organisation", "service", "framework", "version", "max_urgency", "starts_on")
    }

    run_import(write(tmp_path, [required]))

    spec = ServiceSpecification.objects.get()
    assert spec.status == SpecificationStatus.DRAFT
    assert spec.activities_in_remit == []
    assert spec.monthly_capacity is None
    assert spec.not_eligible_for_social_care is False


# --- Import: refusals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"min_age": 65, "max_age": 18}, "max_age"),
        ({"activities_in_remit": ["juggling"]}, "activities_in_remit"),
        ({"activities_excluded": ["home_help"]}, "activities_excluded"),
        ({"outcome_measures": ["happiness"]}, "outcome_measures"),
        ({"monthly_capacity": -1}, "monthly_capacity"),
        ({"monthly_capacity": "forty"}, "monthly_capacity"),
        ({"max_episode_weeks": 100000}, "max_episode_weeks"),
        ({"max_urgency": "whenever"}, "max_urgency"),
        ({"status": "published"}, "status"),
        ({"starts_on": "01/04/2026"}, "starts_on"),
        ({"ends_on": "2027-02-30"}, "ends_on"),
        ({"ends_on": "2026-01-01"}, "ends_on"),
        ({"funding_gbp": "£85,000"}, "funding_gbp"),
        ({"funding_gbp": "-1.00"}, "funding_gbp"),
        ({"funding_gbp": "10.001"}, "funding_gbp"),
        ({"version": 0}, "version"),
        ({"not_eligible_for_social_care": "yes"}, "not_eligible_for_social_care"),
        ({"monthly_capcity": 10}, "monthly_capcity"),
        ({"organisation": "Nobody Charity"}, "organisation"),
        ({"service": "Meals on Wheels"}, "service"),
        ({"framework": "Some Other Framework"}, "framework"),
    ],
)
def test_a_bad_record_is_refused_with_the_field_named_and_nothing_saved(
    specifications, tmp_path, overrides, field
):
    before = snapshot()

    errors = refused_import(write(tmp_path, [record(**overrides)]))

    assert any(line.startswith("record 1 (") and f"): {field}: " in line for line in errors), errors
    assert snapshot() == before


@pytest.mark.parametrize(
    "field", ["organisation", "service", "framework", "version", "max_urgency", "starts_on"]
)
def test_a_record_missing_a_required_field_is_refused_with_the_field_named(
    specifications, tmp_path, field
):
    incomplete = record()
    del incomplete[field]
    before = snapshot()

    errors = refused_import(write(tmp_path, [incomplete]))

    assert any(f": {field}: This field is required." in line for line in errors), errors
    assert snapshot() == before


def test_the_error_names_the_record_organisation_service_and_version(specifications, tmp_path):
    errors = refused_import(write(tmp_path, [record(min_age=65, max_age=18)]))

    assert errors == [
        "record 1 (Eastern Red Cross Home from Hospital / Home from Hospital v3): max_age: "
        "The maximum age (18) is below the minimum age (65)."
    ]


def test_a_framework_of_another_system_is_not_found(specifications, tmp_path):
    FrameworkFactory(system=SystemFactory(name="Western Health"), name="Western Framework")

    errors = refused_import(write(tmp_path, [record(framework="Western Framework")]))

    assert any(": framework: No commissioning framework called" in line for line in errors)


def test_two_active_versions_of_one_service_in_a_file_are_refused(specifications, tmp_path):
    before = snapshot()
    path = write(tmp_path, [record(version=3, status="active"), record(version=4, status="active")])

    errors = refused_import(path)

    assert len([line for line in errors if ": status: " in line]) == 2
    assert "more than one active version (3, 4)" in errors[0]
    assert snapshot() == before


def test_keeping_the_version_in_force_active_beside_a_new_active_one_is_refused(
    specifications, tmp_path
):
    in_force = export("--status", "active")["specifications"][0]
    path = write(tmp_path, [in_force, record(version=3, status="active")])

    errors = refused_import(path)

    assert any("v2): status: " in line for line in errors), errors
    assert ServiceSpecification.objects.get(status=SpecificationStatus.ACTIVE).version == 2


def test_the_same_version_twice_in_a_file_is_refused(specifications, tmp_path):
    errors = refused_import(write(tmp_path, [record(), record(monthly_capacity=10)]))

    assert errors == [
        "record 2 (Eastern Red Cross Home from Hospital / Home from Hospital v3): version: "
        "Version 3 of Home from Hospital is also record 1; give each version once."
    ]


def test_one_bad_record_among_good_ones_means_nothing_is_imported(specifications, tmp_path):
    before = snapshot()
    path = write(
        tmp_path,
        [
            record(version=3, status="active"),
            record(
                organisation="Age Concern Eastmoor Befriending",
                service="Telephone Befriending",
                version=1,
                monthly_capacity=5,
            ),
            record(version=4, outcome_measures=["happiness"]),
        ],
    )

    errors = refused_import(path)

    assert len(errors) == 1 and errors[0].startswith("record 3 (")
    assert snapshot() == before


def test_every_error_in_the_file_is_reported_not_only_the_first(specifications, tmp_path):
    path = write(
        tmp_path,
        [record(min_age=65, max_age=18, ends_on="soon"), "not a record", record(service="Nope")],
    )

    errors = refused_import(path)

    assert [line.split(": ")[0:2] for line in errors] == [
        ["record 1 (Eastern Red Cross Home from Hospital / Home from Hospital v3)", "ends_on"],
        ["record 1 (Eastern Red Cross Home from Hospital / Home from Hospital v3)", "max_age"],
        ["record 2", "record"],
        ["record 3 (Eastern Red Cross Home from Hospital / Nope v3)", "service"],
    ]


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        json.dumps({"format": "something-else", "version": 1, "specifications": []}),
        json.dumps({"format": "vsocare-specifications", "version": 2, "specifications": []}),
        json.dumps("a string"),
    ],
)
def test_a_file_that_is_not_a_specifications_file_is_refused(specifications, tmp_path, content):
    errors = refused_import(write(tmp_path, content))

    assert errors[0].startswith("file: ")


# --- Import: published versions --------------------------------------------------------------


@pytest.mark.parametrize(("version", "status"), [(1, "retired"), (2, "active")])
def test_changing_a_published_version_is_refused_with_advice_to_import_a_new_version(
    specifications, tmp_path, version, status
):
    exported = next(
        s
        for s in export("--organisation", "Eastern Red Cross Home from Hospital")["specifications"]
        if s["version"] == version
    )
    exported["monthly_capacity"] = 99
    exported["eligibility"] = "Anyone at all."
    before = snapshot()

    errors = refused_import(write(tmp_path, [exported]))

    assert [line.split(": ")[1] for line in errors] == ["eligibility", "monthly_capacity"]
    assert (
        f"Version {version} of Home from Hospital is {status} and cannot be changed; "
        "import the change as a new version." in errors[0]
    )
    assert snapshot() == before


def test_a_retired_version_cannot_be_made_active_again(specifications, tmp_path):
    retired = export("--status", "retired")["specifications"][0]
    retired["status"] = "active"

    errors = refused_import(write(tmp_path, [retired]))

    assert any(": status: " in line and "cannot be made active again" in line for line in errors)


def test_importing_an_active_version_publishes_it_and_retires_the_one_in_force(
    specifications, tmp_path
):
    output = run_import(write(tmp_path, [record(version=3, status="active")]))

    old = ServiceSpecification.objects.get(service__name="Home from Hospital", version=2)
    new = ServiceSpecification.objects.get(service__name="Home from Hospital", version=3)
    assert old.status == SpecificationStatus.RETIRED and old.retired_at is not None
    assert new.status == SpecificationStatus.ACTIVE and new.published_at is not None
    assert "Retired, replaced by an active version in the file: " in output
    assert "Home from Hospital v2" in output


def test_a_draft_in_the_database_is_published_by_importing_it_as_active(specifications, tmp_path):
    draft = export("--status", "draft")["specifications"][0]
    draft["status"] = "active"

    output = run_import(write(tmp_path, [draft]))

    published = ServiceSpecification.objects.get(pk=specifications[2].pk)
    assert published.status == SpecificationStatus.ACTIVE
    assert published.published_at is not None
    assert "0 created, 1 updated, 0 unchanged" in output


def test_a_file_may_retire_the_version_in_force(specifications, tmp_path):
    in_force = export("--status", "active")["specifications"][0]
    in_force["status"] = "retired"

    run_import(write(tmp_path, [in_force]))

    assert not ServiceSpecification.objects.filter(status=SpecificationStatus.ACTIVE).exists()


def test_a_published_version_cannot_become_a_draft_again(specifications, tmp_path):
    in_force = export("--status", "active")["specifications"][0]
    in_force["status"] = "draft"

    errors = refused_import(write(tmp_path, [in_force]))

    assert any(": status: " in line and "cannot become a draft" in line for line in errors)


def test_a_dry_run_says_what_would_change_and_saves_nothing(specifications, tmp_path):
    before = snapshot()

    output = run_import(write(tmp_path, [record(version=3, status="active")]), "--dry-run")

    assert "Dry run, nothing saved" in output
    assert "1 created, 0 updated, 0 unchanged" in output
    assert "Would retire" in output
    assert snapshot() == before


def test_an_organisation_name_shared_by_two_systems_is_refused_as_ambiguous(
    specifications, tmp_path
):
    OrganisationFactory(
        system=SystemFactory(name="Western Health"),
        name="Eastern Red Cross Home from Hospital",
        place=None,
        voluntary=True,
    )

    errors = refused_import(write(tmp_path, [record()]))

    assert any(": organisation: 2 systems each have" in line for line in errors)


def test_a_draft_cannot_be_retired_without_being_published(specifications, tmp_path):
    draft = export("--status", "draft")["specifications"][0]
    draft["status"] = "retired"

    errors = refused_import(write(tmp_path, [draft]))

    assert any(": status: " in line and "only an active version" in line for line in errors)


def test_checking_a_file_takes_the_same_queries_however_many_records_it_has(
    specifications, tmp_path
):
    def queries_to_refuse(count: int) -> int:
        # Each file ends with a bad record, so everything is checked and nothing written.
        records = [record(version=10 + n) for n in range(count)] + [record(max_urgency="x")]
        with CaptureQueriesContext(connection) as queries:
            refused_import(write(tmp_path, records))
        return len(queries)

    assert queries_to_refuse(1) == queries_to_refuse(20)


def test_it_refuses_a_specification_for_a_statutory_organisations_service(
    tmp_path, community_trust, system
):
    ServiceFactory(organisation=community_trust, name="Community Nursing")
    FrameworkFactory(system=system, name="Frailty Framework")
    path = tmp_path / "specs.json"
    path.write_text(
        json.dumps(
            [
                {
                    "organisation": community_trust.name,
                    "service": "Community Nursing",
                    "framework": "Frailty Framework",
                    "version": 1,
                    "max_urgency": "urgent",
                    "starts_on": "2026-04-01",
                }
            ]
        )
    )
    err = StringIO()

    with pytest.raises(CommandError):
        call_command("import_specifications", str(path), stderr=err)

    assert "is not a voluntary sector organisation" in err.getvalue()
    assert not ServiceSpecification.objects.exists()


# --- Import: plausible input (#14) -----------------------------------------------------------


def test_a_nul_byte_in_a_name_is_refused_by_record_and_field_not_by_the_database(
    specifications, tmp_path
):
    before = snapshot()

    errors = refused_import(write(tmp_path, [record(organisation="Eastern\u0000 Red Cross")]))

    assert errors == [
        "record 1 ('Eastern\\x00 Red Cross' / Home from Hospital v3): organisation: Contains a "
        "control character (U+0000) at position 8; remove it."
    ]
    assert snapshot() == before


def test_eligibility_may_break_lines_but_a_code_may_hold_no_control_character(
    specifications, tmp_path
):
    run_import(write(tmp_path, [record(eligibility="Adults\nleaving hospital.")]))
    assert ServiceSpecification.objects.get(version=3).eligibility == "Adults\nleaving hospital."

    errors = refused_import(write(tmp_path, [record(activities_in_remit=["shopping\x1b[2J"])]))

    assert [line.split("): ", 1)[1] for line in errors] == [
        "activities_in_remit: Code 1: Contains a control character (U+001B) at position 9; "
        "remove it."
    ]


def test_a_name_longer_than_its_column_is_refused_once(specifications, tmp_path):
    errors = refused_import(write(tmp_path, [record(service="S" * 201)]))

    assert [line.split("): ", 1)[1] for line in errors] == [
        "service: Too long: 201 characters; the most is 200."
    ]


@pytest.mark.parametrize("funding", ["1e999999", 1e300])
def test_an_amount_too_large_for_decimal_rounding_is_refused_not_raised(
    specifications, tmp_path, funding
):
    errors = refused_import(write(tmp_path, [record(funding_gbp=funding)]))

    assert [line.split("): ", 1)[1] for line in errors] == [
        "funding_gbp: Must be less than £10,000,000,000."
    ]


def test_a_file_nested_too_deep_is_refused_before_it_is_parsed(specifications, tmp_path):
    errors = refused_import(write(tmp_path, "[" * 100_000 + "]" * 100_000))

    assert errors == ["file: line 1 column 17: nested more than 16 levels deep."]


def test_nan_is_refused_where_it_is(specifications, tmp_path):
    errors = refused_import(write(tmp_path, '[{"funding_gbp": NaN}]'))

    assert errors == [
        "file: line 1 column 18: NaN is not a number JSON has; give a number or null."
    ]


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(
    specifications, tmp_path, monkeypatch
):
    monkeypatch.setattr(
        "commissioning.management.commands.import_specifications.MAX_FILE_BYTES", 10
    )
    path = write(tmp_path, [record()])

    with pytest.raises(CommandError) as refusal:
        call_command("import_specifications", path, stdout=StringIO())

    assert str(refusal.value) == (
        f"Nothing was imported from {path}: The file is larger than 10 bytes, the most one "
        "import takes; split it into smaller files."
    )
