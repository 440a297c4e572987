"""Consent as a lifecycle (#11 point 5): recorded with when, how and by whom; updated or
withdrawn; shown to the organisation the referral went to; and a referral to a voluntary service
rests on consent in force or on a lawful basis without consent that is written out, at intake
and in the CSV import."""

import datetime

import pytest
import time_machine
from django.db import DatabaseError, IntegrityError, transaction
from django.urls import reverse

from referrals.models import Consent, Referral
from tests.factories import ConsentFactory, ReferralFactory
from tests.referrals.test_import_referrals import csv_file, refused, row, run

pytestmark = pytest.mark.django_db

NOW = "2026-11-23 10:00 +0000"


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def intake(client, chosen, patient, **overrides):
    data = {
        "nhs_number": patient.nhs_number, "date_of_birth": patient.date_of_birth.isoformat(),
        "source": "icc", "destination_sector": "voluntary", "service": chosen and chosen.pk,
        "needs": ["shopping"], "activities": ["shopping"], "urgency": "soon",
    }  # fmt: skip
    data.update(overrides)
    return client.post(reverse("referral_create"), data)


def field_errors(response, field: str) -> list[str]:
    return response.context["form"].errors.get(field, [])


# --- At intake --------------------------------------------------------------------------------


def test_a_voluntary_referral_with_no_lawful_basis_is_refused_at_the_field(
    client, icc, patient, home_from_hospital
):
    client.force_login(icc)

    response = intake(client, home_from_hospital, patient, lawful_basis="")

    assert (
        "only with their consent or another lawful basis"
        in field_errors(response, "lawful_basis")[0]
    )
    assert not Referral.objects.exists()


def test_consent_must_be_on_record_or_given_now(client, icc, patient, home_from_hospital):
    client.force_login(icc)

    refused_response = intake(client, home_from_hospital, patient, lawful_basis="consent")
    sent = intake(
        client, home_from_hospital, patient, lawful_basis="consent", consent_method="phone"
    )

    assert (
        "holds no consent from this patient" in field_errors(refused_response, "consent_method")[0]
    )
    assert sent.status_code == 302
    consent = patient.consents.get()
    assert (consent.decision, consent.method, consent.decided_on) == (
        "given", "phone", datetime.date(2026, 11, 23),
    )  # fmt: skip
    assert (consent.recorded_by, consent.recorded_by_organisation) == (icc, icc.organisation)
    assert Referral.objects.get().lawful_basis == "consent"


def test_consent_already_on_record_is_enough(client, icc, patient, home_from_hospital):
    ConsentFactory(patient=patient)
    client.force_login(icc)

    response = intake(client, home_from_hospital, patient, lawful_basis="consent")

    assert response.status_code == 302
    assert patient.consents.count() == 1


def test_withdrawn_consent_is_no_basis(client, icc, patient, home_from_hospital):
    ConsentFactory(patient=patient, decided_on=datetime.date(2026, 1, 1))
    ConsentFactory(patient=patient, decision="withdrawn", decided_on=datetime.date(2026, 2, 1))
    client.force_login(icc)

    response = intake(client, home_from_hospital, patient, lawful_basis="consent")

    assert field_errors(response, "consent_method")
    assert not Referral.objects.exists()


def test_sharing_without_consent_needs_the_reason_written(client, icc, patient, home_from_hospital):
    client.force_login(icc)

    unexplained = intake(client, home_from_hospital, patient, lawful_basis="safeguarding")
    explained = intake(
        client, home_from_hospital, patient, lawful_basis="safeguarding",
        lawful_basis_reason="Neighbour reports she has not eaten for days; adult at risk.",
    )  # fmt: skip

    assert field_errors(unexplained, "lawful_basis_reason") == [
        "Say why the details are shared without consent."
    ]
    assert explained.status_code == 302
    referral = Referral.objects.get()
    assert (referral.lawful_basis, referral.lawful_basis_reason) == (
        "safeguarding", "Neighbour reports she has not eaten for days; adult at risk.",
    )  # fmt: skip
    assert not patient.consents.exists()


def test_a_referral_to_health_needs_no_basis(client, icc, patient, community_trust):
    client.force_login(icc)

    response = intake(
        client, None, patient, destination_sector="health", service="",
        organisation=community_trust.pk, lawful_basis="",
    )  # fmt: skip

    assert response.status_code == 302
    assert Referral.objects.get().lawful_basis == ""


def test_the_database_refuses_a_voluntary_referral_without_a_basis(home_from_hospital):
    with pytest.raises(IntegrityError), transaction.atomic():
        ReferralFactory(service=home_from_hospital, lawful_basis="")


# --- On the referral's page -------------------------------------------------------------------


@pytest.fixture
def referral(patient, icc, home_from_hospital):
    ConsentFactory(patient=patient, recorded_by=icc, decided_on=datetime.date(2026, 11, 1))
    return ReferralFactory(patient=patient, referrer=icc, service=home_from_hospital)


def record(client, referral, **data):
    values = {"decision": "withdrawn", "method": "phone", "decided_on": "2026-11-20"}
    values.update(data)
    return client.post(reverse("referral_consent", args=[referral.pk]), values)


def test_the_receiving_organisation_sees_the_consent_the_referral_rests_on(
    client, referral, red_cross_worker
):
    client.force_login(red_cross_worker)

    page = client.get(reverse("referral_detail", args=[referral.pk])).content.decode()

    assert "The patient&#x27;s consent" in page
    assert "Consent given on 1 November 2026 (said in person), recorded by" in page


def test_a_withdrawal_is_recorded_and_shown_to_everyone_caring(
    client, referral, icc, red_cross_worker
):
    client.force_login(icc)

    response = record(client, referral, note="Daughter now helps; no longer wants visits.")

    assert response.status_code == 302
    latest = referral.patient.consents.first()
    assert (latest.decision, latest.method, latest.recorded_by) == ("withdrawn", "phone", icc)
    client.force_login(red_cross_worker)
    page = client.get(reverse("referral_detail", args=[referral.pk])).content.decode()
    assert "The patient withdrew consent on 20 November 2026" in page
    assert "Earlier decisions (1)" in page


def test_consent_given_again_after_withdrawal_is_in_force(client, referral, red_cross_lead):
    ConsentFactory(patient=referral.patient, decision="withdrawn", decided_on="2026-11-10")
    client.force_login(red_cross_lead)

    record(client, referral, decision="given", method="in_person")

    page = client.get(reverse("referral_detail", args=[referral.pk])).content.decode()
    assert "withdrew consent" not in page
    assert "Consent given on 20 November 2026" in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"decided_on": "2026-11-24"}, "decided_on", "The date cannot be in the future."),
        ({"decided_on": "1999-12-31"}, "decided_on", "cannot be before 1 January 2000"),
        ({"method": "not_recorded"}, "method", "Select a valid choice"),
        ({"method": ""}, "method", "Choose how the patient told you."),
        ({"decision": "maybe"}, "decision", "Select a valid choice"),
    ],
)
def test_a_bad_decision_is_refused_at_the_field(client, referral, icc, data, field, message):
    client.force_login(icc)

    response = record(client, referral, **data)

    assert response.status_code == 400
    assert message in " ".join(response.context["consent_form"].errors[field])
    assert referral.patient.consents.count() == 1
    assert referral.access_records.filter(user=icc, kind="referral_view").count() == 1


def test_nobody_withdraws_consent_that_is_not_in_force(client, icc, patient, home_from_hospital):
    referral = ReferralFactory(
        patient=patient, referrer=icc, service=home_from_hospital,
        lawful_basis="vital_interests", lawful_basis_reason="Found collapsed at home.",
    )  # fmt: skip
    client.force_login(icc)

    response = record(client, referral)

    assert "no consent in force to withdraw" in response.content.decode()
    assert not Consent.objects.exists()


def test_commissioners_and_other_organisations_record_nothing(
    client, referral, commissioner, other_lead
):
    client.force_login(commissioner)
    page = client.get(reverse("referral_detail", args=[referral.pk])).content.decode()
    assert "Record a new decision" not in page
    assert record(client, referral).status_code == 403
    client.force_login(other_lead)
    assert record(client, referral).status_code == 404
    assert referral.patient.consents.count() == 1


def test_a_recorded_decision_can_never_be_changed_or_deleted(referral):
    consent = referral.patient.consents.get()

    with pytest.raises(DatabaseError), transaction.atomic():
        Consent.objects.filter(pk=consent.pk).update(method="written")
    with pytest.raises(DatabaseError), transaction.atomic():
        consent.delete()


# --- In the CSV import ------------------------------------------------------------------------


def test_the_import_records_the_consent_once_however_often_it_runs(
    tmp_path, icc, home_from_hospital
):
    path = csv_file(tmp_path, row(), row(external_id="EMIS-1002", referred_at="2026-07-01"))

    first = run(path, icc)
    second = run(path, icc)

    assert "1 consent decision(s) recorded" in first
    assert "0 consent decision(s) recorded" in second
    consent = Consent.objects.get()
    assert (consent.decision, consent.method, consent.decided_on, consent.recorded_by) == (
        "given", "in_person", datetime.date(2026, 1, 5), icc,
    )  # fmt: skip
    assert set(Referral.objects.values_list("lawful_basis", flat=True)) == {"consent"}


def test_the_import_takes_a_basis_without_consent_with_its_reason(
    tmp_path, icc, home_from_hospital
):
    path = csv_file(
        tmp_path,
        row(lawful_basis="vital_interests", lawful_basis_reason="No food or heating.",
            consent_given_on="", consent_method=""),
    )  # fmt: skip

    run(path, icc)

    referral = Referral.objects.get()
    assert (referral.lawful_basis, referral.lawful_basis_reason) == (
        "vital_interests", "No food or heating.",
    )  # fmt: skip
    assert not Consent.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"lawful_basis": "", "consent_given_on": "", "consent_method": ""},
         "row 2, column lawful_basis: Required for a voluntary referral"),
        ({"consent_given_on": ""},
         "row 2, column consent_given_on: Required when the lawful basis is consent."),
        ({"consent_method": ""},
         "row 2, column consent_method: Required when the lawful basis is consent."),
        ({"consent_given_on": "2026-06-02"},
         "row 2, column consent_given_on: After referred_at: consent comes before the referral."),
        ({"consent_method": "shrug"}, "row 2, column consent_method: Unknown code 'shrug'"),
        ({"lawful_basis": "because"}, "row 2, column lawful_basis: Unknown code 'because'"),
        ({"lawful_basis": "not_recorded"},
         "row 2, column lawful_basis: Unknown code 'not_recorded'"),
        ({"lawful_basis": "safeguarding", "consent_given_on": "", "consent_method": ""},
         "row 2, column lawful_basis_reason: Required: why the details are shared without"),
        ({"lawful_basis": "safeguarding", "lawful_basis_reason": "At risk."},
         "row 2, column consent_given_on: Only for a referral whose lawful basis is consent."),
        ({"lawful_basis_reason": "Because."},
         "row 2, column lawful_basis_reason: Only for a referral shared without consent."),
    ],
)  # fmt: skip
def test_a_row_without_a_proper_basis_is_refused_and_nothing_is_imported(
    tmp_path, icc, home_from_hospital, overrides, error
):
    errors = refused(csv_file(tmp_path, row(**overrides)), icc.email)

    assert any(line.startswith(error) for line in errors), errors
    assert not Referral.objects.exists() and not Consent.objects.exists()
