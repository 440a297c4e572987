import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from core.nhs import synthetic_nhs_number
from referrals.models import Patient, Referral, ReferralStatus
from tests.factories import PatientFactory, ReferralFactory

pytestmark = pytest.mark.django_db

NOW = "2026-11-23 10:00 +0000"


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def referral_post(chosen, **overrides):
    data = {
        "nhs_number": synthetic_nhs_number(4000),
        "given_name": "Edna",
        "family_name": "Marsh",
        "date_of_birth": "1938-05-17",
        "postcode": "eh4 2qt",
        "lives_alone": "on",
        "lawful_basis": "consent",
        "consent_method": "in_person",
        "source": "icc",
        "destination_sector": "voluntary",
        "service": chosen.pk,
        "needs": ["shopping"],
        "activities": ["shopping"],
        "urgency": "soon",
        "reason": "Just home from hospital with no food in.",
    }
    data.update(overrides)
    return data


def test_an_icc_logs_a_referral_for_a_new_patient(client, icc, home_from_hospital):
    client.force_login(icc)

    response = client.post(reverse("referral_create"), referral_post(home_from_hospital))

    referral = Referral.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("referral_detail", args=[referral.pk])
    assert referral.patient.postcode == "EH4 2QT"
    assert referral.patient.consents.get().recorded_by == icc
    assert referral.lawful_basis == "consent"
    assert referral.service == home_from_hospital


def test_intake_finds_an_existing_patient_by_nhs_number_instead_of_making_a_second(
    client, icc, home_from_hospital
):
    existing = PatientFactory(nhs_number=synthetic_nhs_number(4000), given_name="Edna")
    client.force_login(icc)

    client.post(
        reverse("referral_create"),
        referral_post(home_from_hospital, nhs_number=existing.nhs_number,
                      given_name="", family_name="", postcode=""),
    )  # fmt: skip

    assert Patient.objects.count() == 1
    assert Referral.objects.get().patient == existing


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"nhs_number": "9990000019"}, "its check digit does not match"),
        ({"nhs_number": "12345"}, "An NHS number is 10 digits"),
        ({"date_of_birth": "2030-01-01"}, "The date of birth cannot be in the future."),
        ({"postcode": "ABC 123"}, "Enter a UK postcode"),
        ({"service": ""}, "Choose the voluntary service from the directory."),
        ({"needs": ["astrology"]}, "Select a valid choice."),
    ],
)
def test_bad_input_is_shown_at_the_field_and_nothing_is_saved(
    client, icc, home_from_hospital, overrides, message
):
    client.force_login(icc)

    response = client.post(
        reverse("referral_create"), referral_post(home_from_hospital, **overrides)
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Referral.objects.exists() and not Patient.objects.exists()


def test_an_out_of_remit_referral_is_held_until_an_override_reason_is_written(
    client, icc, home_from_hospital
):
    client.force_login(icc)
    # What the service is asked to do is chosen from the patient's needs.
    data = referral_post(
        home_from_hospital, needs=["shopping", "personal_care"], activities=["personal_care"]
    )

    held = client.post(reverse("referral_create"), data)
    sent = client.post(
        reverse("referral_create"), {**data, "override_reason": "No carer until Friday."}
    )

    assert "This referral is outside the service" in held.content.decode()
    assert sent.status_code == 302
    referral = Referral.objects.get()
    assert referral.out_of_remit and referral.override_reason == "No carer until Friday."


def test_the_live_remit_check_quotes_the_specification_and_capacity(
    client, icc, home_from_hospital
):
    client.force_login(icc)

    response = client.post(
        reverse("referral_remit_check"),
        referral_post(
            home_from_hospital,
            urgency="emergency",
            needs=["shopping", "personal_care"],
            activities=["personal_care"],
        ),
    )

    page = response.content.decode()
    assert "Outside the remit of Home from Hospital" in page
    assert "Emergency is above the highest urgency accepted (urgent)." in page
    assert "activities excluded: Personal care, Clinical task, Emergency response" in page
    assert "Capacity left this month: <strong>40</strong>" in page


def test_the_remit_check_warns_of_an_open_referral_for_the_same_need(
    client, icc, home_from_hospital, social_care, patient
):
    earlier = ReferralFactory(
        patient=patient, referrer=icc, service=None, organisation=social_care,
        destination_sector="social_care",
        needs=["shopping", "home_help"], referred_at=timezone.now() - datetime.timedelta(days=3),
    )  # fmt: skip
    client.force_login(icc)

    response = client.post(
        reverse("referral_remit_check"),
        referral_post(home_from_hospital, nhs_number=patient.nhs_number),
    )

    assert f"{earlier.reference} to Eastshire Adult Social Care" in response.content.decode()


@pytest.mark.parametrize(
    "role", [Role.VSO_LEAD, Role.VSO_WORKER, Role.COMMISSIONER, Role.ADMINISTRATOR]
)
def test_only_referrers_log_referrals(client, user_for_role, role):
    client.force_login(user_for_role(role))

    assert client.get(reverse("referral_create")).status_code == 403
    assert client.post(reverse("referral_remit_check"), {}).status_code == 403
    assert client.get(reverse("patient_lookup")).status_code == 403


@pytest.fixture
def referral(home_from_hospital, patient, icc):
    return ReferralFactory(service=home_from_hospital, patient=patient, referrer=icc)


def test_the_vso_lead_accepts_and_the_referrer_sees_the_new_status(
    client, referral, red_cross_lead, icc
):
    client.force_login(red_cross_lead)
    client.post(reverse("referral_action", args=[referral.pk, "accept"]), {"version": 1})
    client.force_login(icc)

    page = client.get(reverse("referral_detail", args=[referral.pk])).content.decode()

    assert ">Accepted</span>" in page
    assert "Vera Lewis" in page  # the history says who


def test_a_stale_action_shows_who_changed_it_first(
    client, referral, red_cross_lead, red_cross_worker
):
    client.force_login(red_cross_lead)
    client.post(reverse("referral_action", args=[referral.pk, "accept"]), {"version": 1})
    client.force_login(red_cross_worker)

    response = client.post(
        reverse("referral_action", args=[referral.pk, "decline"]),
        {"version": 1, "reason": "Full."},
        follow=True,
    )

    assert "was changed by Vera Lewis" in response.content.decode()
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.ACCEPTED


def test_another_organisations_referral_is_a_404_for_every_view_and_action(
    client, referral, other_lead
):
    client.force_login(other_lead)

    assert client.get(reverse("referral_detail", args=[referral.pk])).status_code == 404
    for action in ("accept", "decline", "record_contact", "close", "withdraw"):
        url = reverse("referral_action", args=[referral.pk, action])
        assert client.post(url, {"version": 1, "reason": "x"}).status_code == 404
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.RECEIVED


def test_the_commissioner_reads_but_cannot_act(client, referral, commissioner):
    client.force_login(commissioner)

    assert client.get(reverse("referral_detail", args=[referral.pk])).status_code == 200
    response = client.post(reverse("referral_action", args=[referral.pk, "accept"]), {"version": 1})

    assert response.status_code == 403


def test_the_lists_show_each_role_its_own_referrals_in_a_fixed_number_of_queries(
    client, icc, red_cross_lead, other_lead, home_from_hospital, django_assert_max_num_queries
):
    ReferralFactory.create_batch(30, service=home_from_hospital, referrer=icc)
    client.force_login(red_cross_lead)
    client.get(reverse("referral_list"))  # the first request after signing in saves the session

    with django_assert_max_num_queries(6):
        response = client.get(reverse("referral_list"))

    assert response.context["page"].count == 30
    client.force_login(other_lead)
    assert client.get(reverse("referral_list")).context["page"].count == 0


def test_the_list_filters_by_status_and_date(client, icc, home_from_hospital):
    ReferralFactory(service=home_from_hospital, referrer=icc, status=ReferralStatus.RECEIVED)
    old = ReferralFactory(
        service=home_from_hospital, referrer=icc,
        referred_at=timezone.now() - datetime.timedelta(days=60),
    )  # fmt: skip
    client.force_login(icc)

    recent = client.get(reverse("referral_list"), {"referred_from": "2026-11-01"})
    older = client.get(reverse("referral_list"), {"referred_to": "2026-10-01"})

    assert recent.context["page"].count == 1
    assert list(older.context["page"]) == [old]


def test_waiting_on_statutory_services_shows_days_waited_and_interim_cover(
    client, icc, patient, social_care, home_from_hospital
):
    waiting = ReferralFactory(
        patient=patient, referrer=icc, service=None, organisation=social_care,
        destination_sector="social_care", referred_at=timezone.now() - datetime.timedelta(days=19),
    )  # fmt: skip
    cover = ReferralFactory(
        patient=patient, referrer=icc, service=home_from_hospital, interim_cover_for=waiting
    )
    client.force_login(icc)

    response = client.get(reverse("referral_waiting"))

    (row,) = response.context["page"]
    assert row == waiting and row.days_waited == 19
    assert cover.reference in response.content.decode()


def test_the_referral_page_names_needs_in_words(client, referral, icc):
    client.force_login(icc)

    page = client.get(reverse("referral_detail", args=[referral.pk])).content.decode()

    assert "Shopping" in page and ">shopping<" not in page


def test_the_patient_search_finds_the_teams_patients_by_name_or_nhs_number(
    client, icc, referral, patient
):
    stranger = PatientFactory(given_name="Edith", family_name="Marshall")
    client.force_login(icc)

    by_name = client.get(reverse("patient_search"), {"q": "edna mar"})
    by_number = client.get(reverse("patient_search"), {"q": patient.nhs_number_display})
    nobody_else = client.get(reverse("patient_search"), {"q": "Marsh"})

    assert list(by_name.context["patients"]) == [patient]
    assert list(by_number.context["patients"]) == [patient]
    # A patient the team has never referred is not offered by name.
    assert stranger not in nobody_else.context["patients"]


@pytest.mark.parametrize("role", [Role.VSO_LEAD, Role.VSO_WORKER, Role.ADMINISTRATOR])
def test_the_statutory_wait_list_is_for_referrers_and_commissioners(client, user_for_role, role):
    client.force_login(user_for_role(role))

    assert client.get(reverse("referral_waiting")).status_code == 403
    assert client.get(reverse("patient_search"), {"q": "ed"}).status_code == 403


def test_the_waiting_list_query_count_does_not_grow(
    client, icc, social_care, django_assert_max_num_queries
):
    ReferralFactory.create_batch(
        20, referrer=icc, service=None, organisation=social_care, destination_sector="social_care"
    )
    client.force_login(icc)
    client.get(reverse("referral_waiting"))  # the first request after signing in saves the session

    # The session, the user, the page, its interim covers and the notification bell's count.
    with django_assert_max_num_queries(6):
        response = client.get(reverse("referral_waiting"))

    assert len(response.context["page"]) == 20


def test_administrators_are_shown_no_referral_list(client, administrator, referral):
    client.force_login(administrator)

    assert client.get(reverse("referral_list")).status_code == 404
    assert client.get(reverse("referral_detail", args=[referral.pk])).status_code == 404


@pytest.mark.parametrize("changes", [1, 12])
def test_the_referral_page_reads_its_mark_and_the_right_to_record_consent_with_the_referral(
    client, icc, red_cross_lead, home_from_hospital, django_assert_max_num_queries, changes
):
    from referrals.services_remit import remit_mark_create

    referral = ReferralFactory(service=home_from_hospital, referrer=icc)
    for _ in range(changes - 1):
        referral.save()  # one more event in the history
    remit_mark_create(referral=referral, user=red_cross_lead, clause="capacity")
    client.force_login(icc)
    client.get(reverse("referral_detail", args=[referral.pk]))  # saves the new session

    # The session, the user, the referral with its mark, the access record, concerns,
    # consents, the addressees and deadlines of the concern form, the bell, the needs'
    # names and the history: no query of its own for the mark or the consent form's right.
    with django_assert_max_num_queries(11):
        response = client.get(reverse("referral_detail", args=[referral.pk]))

    assert response.context["remit_mark"].clause == "capacity"
    assert response.context["consent_form"] is not None
