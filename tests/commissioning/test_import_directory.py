import datetime
import json
import uuid
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from commissioning.codes import ServiceStatus
from commissioning.hsds.importing import directory_import
from commissioning.hsds.reading import DirectoryImportError
from commissioning.hsds.vocabulary import need_term_id
from commissioning.models import Organisation, Sector, Service, VsoKind
from tests.factories import OrganisationFactory, PlaceFactory, ServiceFactory, SystemFactory

pytestmark = pytest.mark.django_db

# Real Open Referral examples and schemas, copied into the repo (see their README for licence).
HSDS_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hsds-3.0"
EXAMPLE_SERVICE_ID = uuid.UUID("ac148810-d857-441c-9679-408f346de14b")
EXAMPLE_ORGANISATION_ID = uuid.UUID("d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610")
GOOD_NEIGHBOURS = "5b7c1e1a-6f0e-4a55-9d3c-2f1f6f0c9a01"


def service_record(**fields):
    record = {
        "id": str(uuid.uuid4()),
        "name": "Good Neighbours Shopping",
        "status": "active",
        "organization": {"id": GOOD_NEIGHBOURS, "name": "Northbridge Good Neighbours"},
    }
    return record | fields


def need(code, vocabulary="vsocare-needs"):
    return {
        "id": str(uuid.uuid4()),
        "taxonomy_term": {
            "id": str(uuid.uuid4()),
            "code": code,
            "name": code,
            "taxonomy": vocabulary,
        },
    }


def write(tmp_path, document):
    path = tmp_path / "directory.json"
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return path


def run(tmp_path, document, *options):
    out = StringIO()
    options = options or ("--sector", "voluntary")
    call_command("import_directory", str(write(tmp_path, document)), *options, stdout=out)
    return out.getvalue()


def refused(tmp_path, document, *options):
    """The lines printed to stderr for a file the command refuses."""
    err = StringIO()
    options = options or ("--sector", "voluntary")
    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_directory", str(write(tmp_path, document)), *options, stderr=err)
    return err.getvalue().splitlines()


@pytest.fixture
def ics():
    return SystemFactory(name="Lancashire and South Cumbria ICS")


def test_it_imports_the_hsds_example_service_list(tmp_path, ics):
    document = json.loads((HSDS_FIXTURES / "example_service_list.json").read_text())

    out = run(tmp_path, document)

    service = Service.objects.get(hsds_id=EXAMPLE_SERVICE_ID)
    assert service.name == "Community Counselling"
    assert service.organisation.hsds_id == EXAMPLE_ORGANISATION_ID
    assert service.organisation.system == ics
    assert service.organisation.sector == Sector.VOLUNTARY
    assert service.organisation.kind == VsoKind.REGISTERED_CHARITY
    assert service.organisation.website == "http://example.com"
    assert (service.min_age, service.max_age) == (12, 100)
    assert service.last_verified_on == datetime.date(2005, 1, 1)
    assert service.eligibility.startswith("This service is intended for all people aged 12")
    assert "organisations 1 created, 0 updated; services 1 created, 0 updated" in out
    assert "page 1 of 10" in out


def test_it_imports_the_full_hsds_example_service(tmp_path, ics):
    document = json.loads((HSDS_FIXTURES / "example_service_full.json").read_text())

    run(tmp_path, document)

    service = Service.objects.get(hsds_id=EXAMPLE_SERVICE_ID)
    assert service.status == ServiceStatus.ACTIVE
    # Its one attribute is from another vocabulary and its one area is not one of our places.
    assert service.needs == []
    assert list(service.places.all()) == []
    assert service.phone == "+44 1234 234567"
    assert service.organisation.phone == "+44 1234 234567"
    assert service.organisation.email == "email@example.com"


def test_importing_again_updates_by_id_instead_of_duplicating(tmp_path, ics):
    run(tmp_path, json.loads((HSDS_FIXTURES / "example_service_list.json").read_text()))

    out = run(tmp_path, json.loads((HSDS_FIXTURES / "example_service_full.json").read_text()))

    assert Service.objects.count() == Organisation.objects.count() == 1
    assert Service.objects.get().phone == "+44 1234 234567"
    assert "organisations 0 created, 1 updated; services 0 created, 1 updated" in out


def test_it_accepts_a_bare_list_of_services(tmp_path, system):
    run(tmp_path, [service_record(name="Shopping"), service_record(name="Lifts")])

    assert set(Service.objects.values_list("name", flat=True)) == {"Shopping", "Lifts"}


def test_a_service_may_name_a_known_organisation_by_id_alone(tmp_path, system, red_cross):
    record = service_record(organization_id=str(red_cross.hsds_id))
    del record["organization"]

    run(tmp_path, [record])

    assert Service.objects.get().organisation == red_cross


def test_a_later_record_may_name_an_organisation_an_earlier_one_described(tmp_path, system):
    second = service_record(name="Lifts", organization_id=GOOD_NEIGHBOURS)
    del second["organization"]

    run(tmp_path, [service_record(name="Shopping"), second])

    assert Organisation.objects.get().services.count() == 2


def test_it_refuses_an_unknown_organisation_given_by_id_alone(tmp_path, system):
    record = service_record(id="0f8a5e3c-3b55-4a2b-9b39-6d86f2b5a3c1", name="Lifts")
    record["organization_id"] = "11111111-2222-4333-8444-555555555555"
    del record["organization"]

    assert refused(tmp_path, [record]) == [
        "record 1 (id 0f8a5e3c-3b55-4a2b-9b39-6d86f2b5a3c1, name Lifts): organization_id: "
        "no organisation 11111111-2222-4333-8444-555555555555 is in VSO Care and the file "
        "gives no details of it"
    ]


def test_it_maps_terms_of_our_vocabulary_to_needs(tmp_path, system):
    bare_reference = {"id": str(uuid.uuid4()), "taxonomy_term_id": str(need_term_id("shopping"))}
    record = service_record(attributes=[need("befriending"), bare_reference, need("befriending")])

    run(tmp_path, [record])

    assert Service.objects.get().needs == ["befriending", "shopping"]


def test_it_ignores_terms_of_other_vocabularies(tmp_path, system):
    run(tmp_path, [service_record(attributes=[need("xyz-123", vocabulary="open-eligibility")])])

    assert Service.objects.get().needs == []


def test_it_refuses_a_file_with_an_unknown_need_code(tmp_path, system):
    record = service_record(
        id="0f8a5e3c-3b55-4a2b-9b39-6d86f2b5a3c1",
        name="Lifts",
        attributes=[need("transport"), need("astrology")],
    )

    assert refused(tmp_path, [record]) == [
        "record 1 (id 0f8a5e3c-3b55-4a2b-9b39-6d86f2b5a3c1, name Lifts): "
        "attributes[1].taxonomy_term.code: 'astrology' is not a need code in VSO Care"
    ]
    assert not Service.objects.exists()


def test_service_areas_are_matched_to_our_places_by_name(tmp_path, system, northbridge):
    PlaceFactory(system=system, name="Eastmoor")
    areas = [{"id": str(uuid.uuid4()), "name": name} for name in ["NORTHBRIDGE", "Somewhere else"]]

    run(tmp_path, [service_record(service_areas=areas)])

    assert list(Service.objects.get().places.all()) == [northbridge]


def test_temporarily_closed_becomes_our_code(tmp_path, system):
    run(tmp_path, [service_record(status="temporarily closed")])

    assert Service.objects.get().status == ServiceStatus.TEMPORARILY_CLOSED


def test_it_refuses_a_maximum_age_below_the_minimum(tmp_path, system):
    lines = refused(tmp_path, [service_record(minimum_age=65, maximum_age=18)])

    assert lines[0].endswith("maximum_age: 18 is below minimum_age 65")


def test_it_reports_every_error_in_every_record_and_changes_nothing(tmp_path, system, red_cross):
    kept = ServiceFactory(organisation=red_cross, name="Home from Hospital", min_age=18)
    good_update = {
        "id": str(kept.hsds_id),
        "name": "Renamed",
        "status": "active",
        "organization_id": str(red_cross.hsds_id),
        "minimum_age": 21,
    }
    records = [
        good_update,
        {
            "id": "not-a-uuid",
            "name": "Lifts",
            "status": "open",
            "organization": {"id": GOOD_NEIGHBOURS, "name": "Good Neighbours"},
        },
        "just a string",
        service_record(
            id="0f8a5e3c-3b55-4a2b-9b39-6d86f2b5a3c1",
            name="",
            minimum_age="eighteen",
            email="not an email",
        ),
    ]

    lines = refused(tmp_path, records)

    assert lines == [
        "record 2 (id not-a-uuid, name Lifts): id: 'not-a-uuid' is not a UUID",
        "record 2 (id not-a-uuid, name Lifts): status: 'open' is not one of "
        "active, inactive, defunct, temporarily closed",
        "record 3 (id missing, name missing): record: is not a JSON object",
        "record 4 (id 0f8a5e3c-3b55-4a2b-9b39-6d86f2b5a3c1, name missing): "
        "minimum_age: must be a whole number of years, not 'eighteen'",
        "record 4 (id 0f8a5e3c-3b55-4a2b-9b39-6d86f2b5a3c1, name missing): "
        "name: This field cannot be blank.",
        "record 4 (id 0f8a5e3c-3b55-4a2b-9b39-6d86f2b5a3c1, name missing): "
        "email: Enter a valid email address.",
    ]
    kept.refresh_from_db()
    assert (kept.name, kept.min_age) == ("Home from Hospital", 18)
    assert Organisation.objects.count() == 1


def test_sector_and_kind_come_from_the_options(tmp_path, system):
    charity = service_record(name="Shopping")
    group = service_record(
        name="Lifts",
        organization={
            "id": str(uuid.uuid4()),
            "name": "Eastmoor Friends",
            "legal_status": "Community group",
        },
    )

    run(tmp_path, [charity, group], "--sector", "voluntary", "--kind", "social_enterprise")

    kinds = dict(Organisation.objects.values_list("name", "kind"))
    # A legal_status that names one of our kinds says more than the option's default.
    assert kinds == {
        "Northbridge Good Neighbours": VsoKind.SOCIAL_ENTERPRISE,
        "Eastmoor Friends": VsoKind.COMMUNITY_GROUP,
    }


def test_a_statutory_organisation_gets_no_kind(tmp_path, system):
    run(tmp_path, [service_record()], "--sector", "health")

    assert Organisation.objects.values_list("sector", "kind").get() == (Sector.HEALTH, "")


def test_it_refuses_a_kind_for_a_statutory_sector(tmp_path, system):
    with pytest.raises(CommandError, match="voluntary organisations only"):
        run(tmp_path, [service_record()], "--sector", "social_care", "--kind", "community_group")


def test_it_refuses_to_change_an_organisations_sector(tmp_path, system, community_trust):
    record = service_record(
        organization={"id": str(community_trust.hsds_id), "name": community_trust.name}
    )

    (line,) = refused(tmp_path, [record])

    assert line.endswith(
        "organization: Eastern Community Health Services is a health organisation in VSO Care; "
        "import it with --sector health"
    )


def test_it_refuses_a_name_another_organisation_already_has(tmp_path, system, red_cross):
    record = service_record(organization={"id": str(uuid.uuid4()), "name": red_cross.name.upper()})

    (line,) = refused(tmp_path, [record])

    assert f"organization.name: '{red_cross.name.upper()}' is also the name of" in line


def test_it_refuses_the_same_service_twice_in_one_file(tmp_path, system):
    first = service_record()

    (line,) = refused(tmp_path, [first, first | {"name": "Again"}])

    assert line.startswith("record 2 ") and line.endswith(
        "id: record 1 already has this id in the same file"
    )


def test_a_field_left_out_is_kept_and_a_null_clears_it(tmp_path, system):
    record = service_record(email="shop@example.org", minimum_age=60, attributes=[need("shopping")])
    run(tmp_path, [record])

    run(
        tmp_path,
        [
            {k: v for k, v in record.items() if k not in ("email", "attributes")}
            | {"minimum_age": None}
        ],
    )

    service = Service.objects.get()
    assert (service.email, service.needs, service.min_age) == (
        "shop@example.org",
        ["shopping"],
        None,
    )


def test_it_uses_the_only_system_unless_told(tmp_path, system):
    run(tmp_path, [service_record()])
    SystemFactory(name="Western Health")

    with pytest.raises(CommandError, match="more than one"):
        run(tmp_path, [service_record()])
    run(
        tmp_path,
        [service_record(organization={"id": str(uuid.uuid4()), "name": "West VSO"})],
        "--sector",
        "voluntary",
        "--system",
        "Western Health",
    )

    assert Organisation.objects.get(name="West VSO").system.name == "Western Health"


def test_it_refuses_a_file_that_is_not_hsds(tmp_path, system):
    assert refused(tmp_path, {"services": []}) == [
        "file: is not an HSDS service, a list of services or a page of services"
    ]
    assert refused(tmp_path, "{not json") == [
        "file: Not JSON: Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)."
    ]
    with pytest.raises(CommandError, match="is not a UTF-8 file"):
        path = tmp_path / "latin1.json"
        path.write_bytes('[{"name": "Caf\xe9"}]'.encode("latin-1"))
        call_command("import_directory", str(path), "--sector", "voluntary")


def test_an_exported_directory_imports_back_as_the_same_directory(
    client, tmp_path, system, northbridge
):
    eastmoor = PlaceFactory(system=system, name="Eastmoor")
    charity = OrganisationFactory(
        system=system,
        place=northbridge,
        voluntary=True,
        name="Eastern Red Cross",
        description="Volunteers at home.",
        website="https://redcross.example.org/",
        email="hello@redcross.example.org",
        phone="01632 960001",
        charity_number="220949",
    )
    group = OrganisationFactory(
        system=system,
        place=None,
        voluntary=True,
        kind=VsoKind.COMMUNITY_GROUP,
        name="Eastmoor Friends",
    )
    ServiceFactory(
        organisation=charity,
        name="Home from Hospital",
        needs=["home_help", "shopping"],
        min_age=18,
        url="https://redcross.example.org/hfh",
        email="hfh@redcross.example.org",
        phone="01632 960002",
        last_verified_on=datetime.date(2026, 3, 1),
    ).places.set([northbridge, eastmoor])
    ServiceFactory(
        organisation=group,
        name="Friendship Calls",
        needs=["befriending"],
        min_age=60,
        max_age=95,
        description="",
        eligibility="",
    )
    ServiceFactory(organisation=group, name="Digital Drop-in", needs=[])

    def directory():
        return sorted(
            (
                s.hsds_id,
                s.name,
                s.description,
                s.needs,
                s.min_age,
                s.max_age,
                s.status,
                s.eligibility,
                s.url,
                s.email,
                s.phone,
                s.last_verified_on,
                sorted(place.name for place in s.places.all()),
                s.organisation.hsds_id,
                s.organisation.name,
                s.organisation.description,
                s.organisation.kind,
                s.organisation.website,
                s.organisation.email,
                s.organisation.phone,
                s.organisation.charity_number,
            )
            for s in Service.objects.select_related("organisation").prefetch_related("places")
        )

    before = directory()
    exported = client.get(reverse("directory_services_json")).json()
    Service.objects.all().delete()
    Organisation.objects.all().delete()

    run(tmp_path, exported)

    assert directory() == before


def test_it_refuses_a_new_organisation_without_a_name(tmp_path, system):
    (line,) = refused(tmp_path, [service_record(organization={"id": str(uuid.uuid4())})])

    assert line.endswith("organization.name: is required for an organisation new to VSO Care")


# Plausible input (#14): every problem named by file, record and field; nothing written.


def test_a_file_nested_100000_deep_is_refused_by_where_not_a_recursion_error(tmp_path, system):
    lines = refused(tmp_path, "[" * 100_000 + "]" * 100_000)

    assert lines == ["file: line 1 column 65: nested more than 64 levels deep."]


def test_nesting_inside_a_record_counts_and_brackets_inside_text_do_not(tmp_path, system):
    run(tmp_path, [service_record(description='"[[[[{{{{' * 100, extra=[[[[[]]]]])])
    assert Service.objects.count() == 1

    lines = refused(tmp_path, '[{"extra":\n  ' + "[" * 70 + "]" * 70 + "}]")

    # The 63rd bracket of extra is the 65th level: the list of records and the record are two.
    assert lines == ["file: line 2 column 65: nested more than 64 levels deep."]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused_where_they_are(tmp_path, system, constant):
    text = '[{"id": "x",\n "minimum_age": ' + constant + "}]"

    lines = refused(tmp_path, text)

    assert lines == [
        f"file: line 2 column 17: {constant} is not a number JSON has; give a number or null."
    ]


def test_a_number_too_large_for_a_float_or_an_int_is_refused(tmp_path, system):
    assert refused(tmp_path, '[{"minimum_age": 1e400}]') == [
        "file: 1e400 is too large a number to hold."
    ]
    assert refused(tmp_path, '[{"minimum_age": ' + "9" * 5000 + "}]") == [
        "file: 99999999999999999999… (5,000 digits) is too large a number to hold."
    ]


@pytest.mark.parametrize("age", [float("nan"), float("inf"), True, "12", 12.5])
def test_an_age_that_is_not_a_whole_number_is_refused_by_record_and_field(system, age):
    record = service_record(id=str(uuid.UUID(int=7)), name="Lifts", minimum_age=age)

    with pytest.raises(DirectoryImportError) as refusal:
        directory_import(
            records=[record], sector="voluntary", kind="registered_charity", system=system
        )

    assert refusal.value.errors == [
        f"record 1 (id {uuid.UUID(int=7)}, name Lifts): minimum_age: must be a whole number "
        f"of years, not {age!r}"
    ]
    assert not Service.objects.exists()


def test_an_area_name_that_is_not_text_is_refused_by_record_and_field(tmp_path, system):
    record = service_record(name="Lifts", service_areas=[{"name": "Northbridge"}, {"name": 7}])

    lines = refused(tmp_path, [record])

    assert lines == [
        f"record 1 (id {record['id']}, name Lifts): service_areas[1].name: must be text"
    ]


def test_a_need_code_that_is_not_text_is_refused_by_record_and_field(tmp_path, system):
    attribute = need("shopping")
    attribute["taxonomy_term"]["code"] = ["shopping"]
    record = service_record(name="Lifts", attributes=[attribute])

    lines = refused(tmp_path, [record])

    assert lines == [
        f"record 1 (id {record['id']}, name Lifts): attributes[0].taxonomy_term.code: "
        "['shopping'] is not a need code in VSO Care"
    ]


@pytest.mark.parametrize(
    ("fields", "field", "code", "position"),
    [
        ({"name": "Lif\x00ts"}, "name", "0000", 4),
        ({"description": "Lifts\x1b[2J to hospital"}, "description", "001B", 6),
        ({"email": "a\x07@example.org"}, "email", "0007", 2),
        ({"phones": [{"number": "01234\x00567"}]}, "phones[0].number", "0000", 6),
        (
            {"organization": {"id": GOOD_NEIGHBOURS, "name": "Good\x85Neighbours"}},
            "organization.name",
            "0085",
            5,
        ),
    ],
)
def test_a_control_character_is_refused_by_record_field_and_position(
    tmp_path, system, fields, field, code, position
):
    record = service_record(id=str(uuid.UUID(int=9))) | fields

    lines = refused(tmp_path, [record])

    assert len(lines) == 1, lines
    assert lines[0].endswith(
        f": {field}: Contains a control character (U+{code}) at position {position}; remove it."
    )
    assert lines[0].startswith(f"record 1 (id {uuid.UUID(int=9)}, name ")
    assert not Service.objects.exists() and not Organisation.objects.exists()


def test_a_description_may_break_lines_but_a_name_may_not(tmp_path, system):
    run(tmp_path, [service_record(name="Lifts", description="Lifts\n\tto hospital")])
    assert Service.objects.get().description == "Lifts\n\tto hospital"

    lines = refused(tmp_path, [service_record(name="Lifts\nand more")])

    assert lines[0].endswith(
        ": name: Contains a control character (U+000A) at position 6; remove it."
    )


def test_a_name_in_the_records_label_is_shown_escaped_and_cut_short(tmp_path, system):
    record = service_record(id=str(uuid.UUID(int=5)), name="N\x00" + "x" * 300)

    lines = refused(tmp_path, [record])

    label = f"record 1 (id {uuid.UUID(int=5)}, name {repr(record['name'])[:60]}…)"
    assert lines == [
        f"{label}: name: Too long: 302 characters; the most is 200.",
        f"{label}: name: Contains a control character (U+0000) at position 2; remove it.",
    ]


@pytest.mark.parametrize(
    ("field", "limit"), [("name", 200), ("description", 10_000), ("url", 200), ("email", 254)]
)
def test_a_value_longer_than_its_column_is_refused_once(tmp_path, system, field, limit):
    record = service_record(id=str(uuid.UUID(int=3)), name="Lifts") | {field: "a" * (limit + 1)}

    lines = refused(tmp_path, [record])

    assert [line.split(": ", 1)[1] for line in lines] == [
        f"{field}: Too long: {limit + 1:,} characters; the most is {limit:,}."
    ]


def test_a_charity_number_that_is_not_text_is_refused(tmp_path, system):
    organisation = {
        "id": GOOD_NEIGHBOURS,
        "name": "Good Neighbours",
        "organization_identifiers": [{"identifier_scheme": "GB-CHC", "identifier": {"number": 1}}],
    }

    lines = refused(tmp_path, [service_record(name="Lifts", organization=organisation)])

    assert [line.split(": ", 1)[1] for line in lines] == [
        "organization.organization_identifiers[0].identifier: must be text"
    ]


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path, system, monkeypatch):
    monkeypatch.setattr("commissioning.management.commands.import_directory.MAX_FILE_BYTES", 10)
    path = write(tmp_path, [service_record()])

    with pytest.raises(CommandError) as refusal:
        call_command("import_directory", str(path), "--sector", "voluntary")

    assert str(refusal.value) == (
        f"Nothing was imported from {path}: The file is larger than 10 bytes, the most one "
        "import takes; split it into smaller files."
    )
