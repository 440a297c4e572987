"""The tenant scope as a property: whatever systems, organisations and referrals there are,
lists, searches, pages and reports show each person exactly the referrals their system and
organisation give them, and never a row of anyone else's (#11 point 8).

Hypothesis draws a world of two or three systems, each with its own voluntary and statutory
organisations, referrer teams and referrals; every person of every role is then checked against
the rule worked out here, in plain Python, from the drawing alone.
"""

import datetime
from dataclasses import dataclass

import pytest
import time_machine
from django.db import transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Role
from referrals.models import Referral
from referrals.reports.snapshots import report_compute
from referrals.selectors import patients_matching, referrals_visible_to
from tests.factories import (
    OrganisationFactory,
    PatientFactory,
    ReferralFactory,
    ServiceFactory,
    SystemFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NOW = "2026-11-23 10:00 +0000"
TODAY = datetime.date(2026, 11, 23)


@dataclass(frozen=True)
class Drawn:
    system: int
    team: int  # which referrer team of the system made it
    destination: int  # which organisation of the system it went to
    patient: int  # which of the system's patients
    days_ago: int


def world():
    """(voluntary and statutory organisations per system, referrer teams per system, referrals)."""
    systems = st.integers(min_value=2, max_value=3)
    return systems.flatmap(
        lambda n: st.tuples(
            st.lists(st.integers(min_value=1, max_value=3), min_size=n, max_size=n),
            st.lists(st.integers(min_value=1, max_value=2), min_size=n, max_size=n),
            st.lists(
                st.builds(
                    Drawn,
                    system=st.integers(min_value=0, max_value=n - 1),
                    team=st.integers(min_value=0, max_value=1),
                    destination=st.integers(min_value=0, max_value=2),
                    patient=st.integers(min_value=0, max_value=2),
                    days_ago=st.integers(min_value=0, max_value=40),
                ),
                max_size=12,
            ),
        )
    )


def build(organisations_per_system, teams_per_system, drawn):
    """The drawn world in the database, and who made and received each referral."""
    people = []  # (user, system index)
    expected = {}  # referral pk -> (system index, team org pk, referrer pk, destination org pk)
    systems = []
    for index, (organisations, teams) in enumerate(
        zip(organisations_per_system, teams_per_system, strict=True)
    ):
        system = SystemFactory(name=f"System {index}")
        destinations = []
        for n in range(organisations):
            organisation = OrganisationFactory(system=system, voluntary=n % 2 == 0)
            service = ServiceFactory(organisation=organisation) if n % 2 == 0 else None
            destinations.append((organisation, service))
            people.append((UserFactory(role=Role.VSO_LEAD, organisation=organisation), index))
        team_users = []
        for _ in range(teams):
            team = OrganisationFactory(system=system)
            icc = UserFactory(role=Role.ICC, organisation=team)
            team_users.append(icc)
            people.append((icc, index))
        people.append((UserFactory(role=Role.COMMISSIONER, organisation=team), index))
        people.append((UserFactory(role=Role.ADMINISTRATOR, organisation=team), index))
        patients = [
            PatientFactory(family_name=f"Tenant{index}x{n}", given_name="Pat") for n in range(3)
        ]
        systems.append((system, destinations, team_users, patients))
    for row in drawn:
        system, destinations, team_users, patients = systems[row.system]
        organisation, service = destinations[row.destination % len(destinations)]
        icc = team_users[row.team % len(team_users)]
        referral = ReferralFactory(
            patient=patients[row.patient],
            referrer=icc,
            organisation=organisation,
            service=service,
            destination_sector=organisation.sector,
            referred_at=datetime.datetime(2026, 11, 23, 9, tzinfo=datetime.UTC)
            - datetime.timedelta(days=row.days_ago),
        )
        expected[referral.pk] = (row.system, icc.organisation_id, icc.pk, organisation.pk)
    return people, expected, [system for system, *_ in systems]


def visible_by_rule(user, system_index, expected) -> set[int]:
    """The tenant rule, restated from the drawing alone."""
    mine = {pk for pk, (system, *_rest) in expected.items() if system == system_index}
    if user.role == Role.COMMISSIONER:
        return mine
    if user.role == Role.ICC:
        return {pk for pk in mine if user.organisation_id == expected[pk][1]}
    if user.role == Role.VSO_LEAD:
        return {pk for pk in mine if user.organisation_id == expected[pk][3]}
    return set()


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(drawn_world=world())
def test_nobody_sees_a_row_of_another_system_or_organisation(drawn_world):
    with time_machine.travel(NOW, tick=False), transaction.atomic():
        people, expected, systems = build(*drawn_world)
        client = Client()
        for user, system_index in people:
            allowed = visible_by_rule(user, system_index, expected)

            assert set(referrals_visible_to(user).values_list("pk", flat=True)) == allowed

            client.force_login(user)
            listed = client.get(reverse("referral_list"))
            if user.role == Role.ADMINISTRATOR:
                assert listed.status_code == 404
            else:
                page = listed.content.decode()
                shown = {pk for pk in expected if Referral(pk=pk).reference in page}
                assert shown == allowed

            if user.role == Role.ICC:
                # Searching every drawn family name finds only the team's own patients.
                allowed_patients = set(
                    Referral.objects.filter(pk__in=allowed).values_list("patient", flat=True)
                )
                for system_number in range(len(systems)):
                    found = patients_matching(user, f"Tenant{system_number}")
                    assert {p.pk for p in found} <= allowed_patients

        for index, system in enumerate(systems):
            split = report_compute(
                kind="referral_split",
                system=system,
                date_from=TODAY - datetime.timedelta(days=60),
                date_to=TODAY,
            )
            in_system = [pk for pk, (owner, *_rest) in expected.items() if owner == index]
            assert split["total"] == len(in_system)
        transaction.set_rollback(True)  # each drawn world starts from an empty database
