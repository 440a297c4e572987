"""The patient search as the ICC types: the team's own patients whose given or family name
starts with each word typed, in order of family then given name whatever their case, eight at
a time, read from the name indexes in one query however many patients match (issue 16,
point 1)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from referrals.models import Patient
from referrals.selectors import patients_matching
from tests.factories import PatientFactory, ReferralFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def refer(icc, home_from_hospital):
    """Patients of the ICC's own: each with a referral the ICC made."""

    def make(given_name, family_name, referrer=None):
        patient = PatientFactory(given_name=given_name, family_name=family_name)
        ReferralFactory(patient=patient, service=home_from_hospital, referrer=referrer or icc)
        return patient

    return make


def names(patients):
    return [f"{p.given_name} {p.family_name}" for p in patients]


def search(client, text):
    response = client.get(reverse("patient_search"), {"q": text})
    assert response.status_code == 200
    return response.context["patients"]


def test_each_word_starts_the_given_or_the_family_name(client, icc, refer):
    edna = refer("Edna", "Marsh")
    refer("Edith", "Marshall")
    refer("Marjorie", "Edwards")
    refer("Albert", "Hughes")
    client.force_login(icc)

    assert names(search(client, "edna mar")) == ["Edna Marsh"]
    assert names(search(client, "MAR ed")) == ["Marjorie Edwards", "Edna Marsh", "Edith Marshall"]
    assert names(search(client, "  marsh  ")) == ["Edna Marsh", "Edith Marshall"]
    assert search(client, "ed ar") == []  # no one's names start with both
    assert search(client, "e") == []  # one letter is too little to offer anyone
    assert search(client, "arsh") == []  # the start of a name, not any part of it
    assert search(client, edna.nhs_number_display) == [edna]


def test_the_pick_list_is_in_order_of_family_then_given_name_whatever_their_case(
    client, icc, refer
):
    for given, family in [("Zena", "de Souza"), ("Ann", "Davies"), ("bob", "Davies"),
                          ("Cy", "DAVIS"), ("Al", "dawson")]:  # fmt: skip
        refer(given, family)
    client.force_login(icc)

    assert names(search(client, "d")) == []
    assert names(search(client, "da")) == ["Ann Davies", "bob Davies", "Cy DAVIS", "Al dawson"]
    assert names(search(client, "De")) == ["Zena de Souza"]


def test_the_first_eight_of_either_name_are_offered_in_order(client, icc, refer):
    # Eleven whose family name starts "Ed", and eleven whose given name does, each with a
    # family name before every "Ed…": the list is the first eight of both, in order.
    for n in range(11):
        refer(f"Albert{n:02}", f"Edwards{n:02}")
        refer(f"Edna{n:02}", f"Adams{n:02}")
    client.force_login(icc)

    assert names(search(client, "ed")) == [f"Edna{n:02} Adams{n:02}" for n in range(8)]
    assert names(search(client, "ed ed")) == [f"Edna{n:02} Adams{n:02}" for n in range(8)]
    assert names(search(client, "edw")) == [f"Albert{n:02} Edwards{n:02}" for n in range(8)]
    assert names(search(client, "alb edw")) == [f"Albert{n:02} Edwards{n:02}" for n in range(8)]


def test_words_beyond_the_ranged_ones_still_narrow_the_list(client, icc, refer):
    refer("Mary Anne", "Oakes Smith")
    refer("Mary Anne", "Oakes")
    client.force_login(icc)

    # Each word must start one of the two names as a whole, as before.
    assert names(search(client, "mary mary oakes oakes")) == [
        "Mary Anne Oakes",
        "Mary Anne Oakes Smith",
    ]
    assert search(client, "mary mary oakes smith") == []


@pytest.mark.parametrize("typed", ["M_rsh", "M%", "%arsh", "Ma\\", "_a"])
def test_what_is_typed_is_a_name_never_a_pattern(client, icc, refer, typed):
    refer("Edna", "Marsh")
    client.force_login(icc)

    assert search(client, typed) == []


def test_only_the_teams_own_patients_are_offered(
    client, icc, community_trust, refer, home_from_hospital, western_people
):
    colleague = UserFactory(role=Role.ICC, organisation=community_trust)
    by_colleague = refer("Edna", "Marsh", referrer=colleague)
    own = refer("Edith", "Marsh")
    elsewhere = refer("Enid", "Marsh", referrer=UserFactory(role=Role.ICC))
    PatientFactory(given_name="Edwina", family_name="Marsh")  # never referred
    client.force_login(icc)

    assert search(client, "marsh") == [own, by_colleague]
    assert search(client, elsewhere.nhs_number) == []

    client.force_login(western_people[Role.ICC])
    assert search(client, "marsh") == []
    assert search(client, own.nhs_number) == []


def test_the_search_is_one_query_however_many_patients_match(
    client, icc, refer, django_assert_max_num_queries
):
    refer("Edna", "Marsh")
    client.force_login(icc)
    client.get(reverse("patient_search"), {"q": "ma"})  # signing in saves the session

    def queries_for(text):
        with CaptureQueriesContext(connection) as captured:
            search(client, text)
        return [q["sql"] for q in captured]

    few = queries_for("marsh edna")
    for n in range(40):
        refer(f"Edna{n}", f"Marsh{n}")
    many = queries_for("marsh edna")

    # The user (the session comes from the cache), and the pick list.
    assert len(few) == len(many) == 2
    (listed,) = [q for q in many if "referrals_patient" in q]
    # Whether the team knows each candidate is asked of that one patient, and no list of
    # everyone matching is gathered and made distinct.
    assert "EXISTS" in listed and "DISTINCT" not in listed


@pytest.mark.parametrize(
    "text, index",
    [("marsh", "patient_name_key"), ("edna marsh", "patient_name_key"),
     ("edna", "patient_given_name_key")],
)  # fmt: skip
def test_the_search_reads_the_name_indexes(icc, refer, text, index):
    """The expressions searched and ordered by are the indexes' own: a family name typed is
    a range of the ordered index, given names typed a range of the other."""
    refer("Edna", "Marsh")
    # Other people's patients, and statistics of this table as it is now: what earlier tests
    # left in the statistics must not decide the plan (it did once, on the embedded server).
    for n in range(40):
        PatientFactory(given_name=f"Given{n:02d}", family_name=f"Family{n:02d}")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE referrals_patient")
    with CaptureQueriesContext(connection) as captured:
        patients_matching(icc, text)
    (sql,) = [q["sql"] for q in captured if "referrals_patient" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        if index == "patient_name_key":
            cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())

    # Only the index, when the visibility map allows: the names typed are in it.
    assert re.search(f"Index (Only )?Scan using {index} on referrals_patient", plan)
    assert "Index Cond: (((upper((" in plan  # a range of the index, not a filter of it all
    if index == "patient_name_key":
        # Read in the list's order, never sorted: PostgreSQL would sort the few found at the
        # end, except that sorting is forbidden here, and it can do without.
        assert "Sort" not in plan
    assert Patient.objects.count() == 41
