"""Patient identity is shown only to those caring for the patient (#11 points 2 and 3).

A referrer sees a patient's details on the NHS number alone only for a patient their team has
referred; anyone else must give the date of birth too. Lookups are limited per person and every
one is logged. Commissioners see references, dates, services and needs, never who the patient is.
"""

import datetime
import html
import re

import pytest
import time_machine
from django.urls import reverse

from accounts.models import Role
from core.nhs import synthetic_nhs_number
from referrals.models import AccessKind, AccessRecord, Concern, Patient, Referral
from referrals.reports.downloads import CSV_SECTIONS
from tests.factories import PatientFactory, ReferralFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = "2026-11-23 10:00 +0000"
BORN = datetime.date(1931, 2, 3)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def stranger():
    """A patient another team referred: nobody on the ICC's team has seen them."""
    patient = PatientFactory(
        given_name="Zebedee", family_name="Quartermaine", date_of_birth=BORN, postcode="ZE9 9ZZ"
    )
    ReferralFactory(patient=patient, needs=["shopping"])
    return patient


@pytest.fixture
def own_patient(icc, home_from_hospital):
    patient = PatientFactory(given_name="Ottoline", family_name="Pargeter", date_of_birth=BORN)
    ReferralFactory(patient=patient, referrer=icc, service=home_from_hospital)
    return patient


def lookup(client, patient_or_number, born=None):
    number = getattr(patient_or_number, "nhs_number", patient_or_number)
    query = {"nhs_number": number}
    if born:
        query["date_of_birth"] = born.isoformat()
    return client.get(reverse("patient_lookup"), query)


def logged(user) -> list[tuple[str, int | None]]:
    return list(
        AccessRecord.objects.filter(user=user).order_by("pk").values_list("kind", "patient")
    )


# --- The lookup -------------------------------------------------------------------------------


def test_the_teams_own_patient_is_shown_on_the_nhs_number_alone(client, icc, own_patient):
    client.force_login(icc)

    page = lookup(client, own_patient).content.decode()

    assert "Known to your team: <strong>Ottoline Pargeter</strong>" in page
    assert logged(icc) == [(AccessKind.LOOKUP, own_patient.pk)]


def test_anyone_elses_patient_needs_the_date_of_birth_before_anything_is_shown(
    client, icc, stranger
):
    client.force_login(icc)

    page = lookup(client, stranger).content.decode()

    assert "Enter the patient's date of birth" in page
    assert "Quartermaine" not in page and "Zebedee" not in page and "ZE9" not in page
    # The same answer as for a number nobody has: the page does not say the patient exists.
    assert page == lookup(client, synthetic_nhs_number(8123)).content.decode()
    assert logged(icc)[0] == (AccessKind.LOOKUP, stranger.pk)


def test_both_identifiers_matching_show_the_patient_and_the_confirmation_is_logged(
    client, icc, stranger
):
    client.force_login(icc)

    page = lookup(client, stranger, BORN).content.decode()

    assert (
        "Confirmed by NHS number and date of birth: <strong>Zebedee Quartermaine</strong>" in page
    )
    assert logged(icc) == [(AccessKind.LOOKUP_CONFIRMED, stranger.pk)]


def test_a_date_of_birth_that_does_not_match_shows_nothing_and_is_logged(client, icc, stranger):
    client.force_login(icc)

    page = lookup(client, stranger, BORN + datetime.timedelta(days=1)).content.decode()

    assert "do not belong to the same patient" in page
    assert "Quartermaine" not in page
    assert logged(icc) == [(AccessKind.LOOKUP_NOT_MATCHED, stranger.pk)]


def test_a_number_nobody_has_with_a_date_of_birth_is_a_new_patient(client, icc):
    client.force_login(icc)

    page = lookup(client, synthetic_nhs_number(8124), BORN).content.decode()

    assert "New to VSO Care" in page
    assert AccessRecord.objects.get().nhs_number == synthetic_nhs_number(8124)


def test_lookups_past_the_hourly_limit_get_429_and_say_when_to_try_again(
    client, icc, stranger, settings
):
    settings.PATIENT_LOOKUPS_PER_HOUR = 3
    client.force_login(icc)
    for n in range(3):
        assert lookup(client, synthetic_nhs_number(8200 + n)).status_code == 200

    refused = lookup(client, stranger, BORN)

    assert refused.status_code == 429
    assert "looked up 3 patients in the last hour" in refused.content.decode()
    assert "Try again in 60 minutes" in refused.content.decode()
    assert int(refused["Retry-After"]) == 3601
    assert "Quartermaine" not in refused.content.decode()
    assert len(logged(icc)) == 3  # a refused lookup reads nothing, so it logs nothing
    colleague = UserFactory(role=Role.ICC, organisation=icc.organisation)
    client.force_login(colleague)
    assert lookup(client, stranger).status_code == 200  # the limit is each person's own
    with time_machine.travel(datetime.timedelta(hours=1, seconds=1)):
        client.force_login(icc)  # a new session: the old one has been idle too long
        assert lookup(client, stranger, BORN).status_code == 200


def test_the_patient_search_offers_only_the_teams_own_patients(client, icc, own_patient, stranger):
    client.force_login(icc)

    by_number = client.get(reverse("patient_search"), {"q": stranger.nhs_number})
    by_name = client.get(reverse("patient_search"), {"q": "Quartermaine"})
    own = client.get(reverse("patient_search"), {"q": own_patient.nhs_number})

    assert "Quartermaine" not in by_number.content.decode() + by_name.content.decode()
    assert "Pargeter" in own.content.decode()


# --- The intake -------------------------------------------------------------------------------


def intake(client, service, patient, **overrides):
    data = {
        "nhs_number": patient.nhs_number, "source": "icc", "destination_sector": "voluntary",
        "service": service.pk, "needs": ["shopping"], "activities": ["shopping"],
        "urgency": "soon", "lawful_basis": "consent", "consent_method": "phone",
    }  # fmt: skip
    data.update(overrides)
    return client.post(reverse("referral_create"), data)


def test_referring_someone_elses_patient_needs_their_date_of_birth(
    client, icc, stranger, home_from_hospital
):
    client.force_login(icc)

    response = intake(client, home_from_hospital, stranger)

    assert response.status_code == 200
    assert "Enter the patient&#x27;s date of birth too" in response.content.decode()
    assert "Quartermaine" not in response.content.decode()
    assert Referral.objects.filter(referrer=icc).count() == 0


def test_a_wrong_date_of_birth_at_intake_refers_nobody_and_is_logged(
    client, icc, stranger, home_from_hospital
):
    client.force_login(icc)

    response = intake(client, home_from_hospital, stranger, date_of_birth="1931-02-04")

    assert "do not belong to the same patient" in response.content.decode()
    assert Referral.objects.filter(referrer=icc).count() == 0
    assert logged(icc) == [(AccessKind.LOOKUP_NOT_MATCHED, stranger.pk)]


def test_the_right_date_of_birth_refers_the_existing_patient(
    client, icc, stranger, home_from_hospital
):
    client.force_login(icc)

    response = intake(client, home_from_hospital, stranger, date_of_birth=BORN.isoformat())

    assert response.status_code == 302
    assert Referral.objects.get(referrer=icc).patient == stranger
    assert Patient.objects.count() == 1


def test_a_date_of_birth_that_contradicts_the_teams_own_patient_is_refused(
    client, icc, own_patient, home_from_hospital
):
    client.force_login(icc)

    response = intake(client, home_from_hospital, own_patient, date_of_birth="1950-01-01")

    assert "do not belong to the same patient" in response.content.decode()
    assert Referral.objects.filter(referrer=icc).count() == 1  # only the fixture's


def test_intake_past_the_lookup_limit_is_refused_at_the_field(
    client, icc, stranger, home_from_hospital, settings
):
    settings.PATIENT_LOOKUPS_PER_HOUR = 1
    client.force_login(icc)
    lookup(client, synthetic_nhs_number(8300))

    response = intake(client, home_from_hospital, stranger, date_of_birth=BORN.isoformat())

    assert response.status_code == 200
    assert "Try again in 60 minutes" in response.content.decode()
    assert Referral.objects.filter(referrer=icc).count() == 0


# --- The overlap warning ----------------------------------------------------------------------


def remit_check(client, service, patient, born=None):
    data = {
        "nhs_number": patient.nhs_number, "source": "icc", "destination_sector": "voluntary",
        "service": service.pk, "needs": ["shopping"], "urgency": "soon",
    }  # fmt: skip
    if born:
        data["date_of_birth"] = born.isoformat()
    return client.post(reverse("referral_remit_check"), data).content.decode()


def test_another_teams_open_referral_is_mentioned_without_its_details(
    client, icc, stranger, home_from_hospital
):
    other = stranger.referrals.get()
    client.force_login(icc)
    unconfirmed = remit_check(client, home_from_hospital, stranger, BORN)
    lookup(client, stranger, BORN)  # confirmed by both identifiers, limited and logged

    page = remit_check(client, home_from_hospital, stranger, BORN)

    assert "An open referral by another team for Shopping, since 23 Nov 2026" in page
    assert other.reference not in page and other.organisation.name not in page
    # Without the lookup, the check is no way to guess a date of birth: it says nothing.
    assert "open referral" not in unconfirmed


def test_no_overlap_is_mentioned_for_a_number_alone(client, icc, stranger, home_from_hospital):
    client.force_login(icc)

    page = remit_check(client, home_from_hospital, stranger)

    assert "open referral" not in page


# --- Commissioners ----------------------------------------------------------------------------


def identifiers(patient: Patient) -> list[str]:
    born = patient.date_of_birth
    return [
        patient.given_name, patient.family_name, patient.nhs_number,
        patient.nhs_number_display, patient.postcode, born.isoformat(),
        f"{born.day} {born:%B %Y}", f"{born.day} {born:%b %Y}",
    ]  # fmt: skip


@pytest.fixture
def commissioned(icc, home_from_hospital, social_care, red_cross_worker, community_trust):
    """A referral of every kind the commissioner's pages list, for one distinctive patient."""
    patient = PatientFactory(
        given_name="Zebedee", family_name="Quartermaine", date_of_birth=BORN, postcode="ZE9 9ZZ"
    )
    voluntary = ReferralFactory(
        patient=patient, referrer=icc, service=home_from_hospital, needs=["shopping"],
        urgency="emergency", out_of_remit=True, override_reason="Nobody else will go.",
        remit_reasons=[{"rule": "urgency", "message": "Too urgent", "clause": "4.1"}],
    )  # fmt: skip
    ReferralFactory(
        patient=patient, referrer=icc, service=None, organisation=social_care,
        destination_sector="social_care", needs=["shopping"],
    )  # fmt: skip
    Concern.objects.create(
        referral=voluntary, raised_by=red_cross_worker,
        raised_by_organisation=red_cross_worker.organisation, addressed_to=community_trust,
        severity="high", description="Still waiting.", raised_at=voluntary.referred_at,
        acknowledge_by=voluntary.referred_at + datetime.timedelta(days=1),
    )  # fmt: skip
    return patient, voluntary


PERIOD = "?date_from=2026-11-01&date_to=2026-11-30"


def commissioner_urls(client, referral: Referral) -> list[str]:
    """Every page a commissioner reads referrals on, and every drill-down the dashboard links."""
    dashboard = reverse("dashboard") + PERIOD
    drill_downs = re.findall(
        r'href="(/commissioner/dashboard/(?:breaches|overrides)/\?[^"]+)"',
        client.get(dashboard).content.decode(),
    )
    assert len(drill_downs) >= 2  # a breach of remit and an override, at least
    return [
        reverse("commissioner_home"),
        reverse("referral_list"),
        reverse("referral_waiting"),
        reverse("concern_list"),
        reverse("referral_detail", args=[referral.pk]),
        dashboard,
        *(html.unescape(link) for link in drill_downs),
        *(reverse("dashboard_csv", args=[section]) + PERIOD for section in CSV_SECTIONS),
    ]


@pytest.mark.usefixtures("reports_at_once")  # the dashboard's reports, as if prepared
def test_a_commissioner_sees_no_direct_identifier_anywhere(client, commissioner, commissioned):
    patient, referral = commissioned
    client.force_login(commissioner)

    for url in commissioner_urls(client, referral):
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert [text for text in identifiers(patient) if text in page] == [], url
        if "/overrides/" in url:
            assert referral.reference in page  # the commissioner still follows the referral


@pytest.mark.parametrize("role", [Role.ICC, Role.VSO_LEAD])
def test_those_caring_for_the_patient_see_who_they_are(client, user_for_role, role, commissioned):
    patient, referral = commissioned
    client.force_login(user_for_role(role))

    page = client.get(reverse("referral_detail", args=[referral.pk])).content.decode()

    assert "Zebedee Quartermaine" in page and patient.nhs_number_display in page
