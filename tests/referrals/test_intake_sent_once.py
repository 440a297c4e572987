"""The same intake form sent twice makes one referral (#14 point 1): a double click, two
requests at once, or Back and Send again; two people registering one new patient at once make
one patient; and nothing of it is a 500."""

import datetime
import re
import threading

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse

from core.nhs import synthetic_nhs_number
from referrals.models import Consent, Patient, Referral
from tests.factories import ConsentFactory, ReferralFactory, UserFactory

NEW_NUMBER = synthetic_nhs_number(4321)
NOW = datetime.datetime(2026, 11, 23, 10, 0, tzinfo=datetime.UTC)


def token_of(page: str) -> str:
    return re.search(r'name="submission" value="([0-9a-f-]{36})"', page)[1]


def new_patient_post(service, token, **overrides):
    data = {
        "submission": token, "nhs_number": NEW_NUMBER, "date_of_birth": "1938-05-17",
        "given_name": "Edna", "family_name": "Marsh", "postcode": "NB1 2AB",
        "destination_sector": "voluntary", "service": service.pk, "needs": ["shopping"],
        "urgency": "routine", "source": "icc", "lawful_basis": "consent",
        "consent_method": "in_person",
    }  # fmt: skip
    data.update(overrides)
    return data


def form_token(client) -> str:
    return token_of(client.get(reverse("referral_create")).content.decode())


@pytest.mark.django_db
class TestOneAfterTheOther:
    @pytest.fixture(autouse=True)
    def frozen_clock(self):
        with time_machine.travel(NOW, tick=False) as traveller:
            yield traveller

    def test_each_showing_of_the_form_has_its_own_token(self, client, icc):
        client.force_login(icc)

        assert form_token(client) != form_token(client)

    def test_the_same_form_sent_twice_makes_one_referral_and_shows_it(
        self, client, icc, home_from_hospital
    ):
        client.force_login(icc)
        data = new_patient_post(home_from_hospital, form_token(client))

        first = client.post(reverse("referral_create"), data)
        second = client.post(reverse("referral_create"), data, follow=True)

        referral = Referral.objects.get()
        assert first["Location"] == reverse("referral_detail", args=[referral.pk])
        assert second.redirect_chain[0][0] == first["Location"]
        assert f"Referral {referral.reference} was sent from this form already" in (
            second.content.decode()
        )
        assert Patient.objects.count() == 1
        assert Consent.objects.count() == 1  # the second send recorded no second consent

    def test_back_and_send_again_on_a_fresh_page_makes_one_referral(
        self, client, icc, home_from_hospital
    ):
        client.force_login(icc)
        client.post(
            reverse("referral_create"), new_patient_post(home_from_hospital, form_token(client))
        )

        # The browser rebuilt the page: a new token, the same referral.
        again = new_patient_post(home_from_hospital, form_token(client), needs=["shopping"])
        response = client.post(reverse("referral_create"), again)

        assert Referral.objects.count() == 1
        assert response["Location"] == reverse("referral_detail", args=[Referral.objects.get().pk])

    def test_the_same_again_after_a_quarter_of_an_hour_is_a_new_referral(
        self, client, icc, home_from_hospital, frozen_clock
    ):
        client.force_login(icc)
        client.post(
            reverse("referral_create"), new_patient_post(home_from_hospital, form_token(client))
        )
        frozen_clock.shift(datetime.timedelta(minutes=16))

        client.post(
            reverse("referral_create"), new_patient_post(home_from_hospital, form_token(client))
        )

        assert Referral.objects.count() == 2

    @pytest.mark.parametrize(
        "change", [{"needs": ["shopping", "befriending"]}, {"withdrawn": True}]
    )
    def test_a_different_referral_or_one_after_a_withdrawal_is_new(
        self, client, icc, home_from_hospital, change
    ):
        client.force_login(icc)
        client.post(
            reverse("referral_create"), new_patient_post(home_from_hospital, form_token(client))
        )
        if change.pop("withdrawn", False):
            Referral.objects.update(status="withdrawn")

        client.post(
            reverse("referral_create"),
            new_patient_post(home_from_hospital, form_token(client), **change),
        )

        assert Referral.objects.count() == 2

    def test_another_persons_same_referral_is_theirs(
        self, client, icc, home_from_hospital, community_trust
    ):
        colleague = UserFactory(organisation=community_trust)
        ReferralFactory(
            referrer=colleague, service=home_from_hospital, needs=["shopping"],
            patient__nhs_number=NEW_NUMBER, patient__date_of_birth=datetime.date(1938, 5, 17),
        )  # fmt: skip
        ConsentFactory(patient=Patient.objects.get())
        client.force_login(icc)

        client.post(
            reverse("referral_create"),
            new_patient_post(home_from_hospital, form_token(client), consent_method=""),
        )

        assert Referral.objects.filter(referrer=icc).count() == 1

    def test_the_database_refuses_two_referrals_of_one_token(self, icc, home_from_hospital):
        first = ReferralFactory(referrer=icc, service=home_from_hospital)
        Referral.objects.filter(pk=first.pk).update(
            submission="6d3f1c84-6a1b-4f8e-9a61-0f1cd2d0a001"
        )

        with pytest.raises(IntegrityError), transaction.atomic():
            ReferralFactory(
                referrer=icc, service=home_from_hospital,
                submission="6d3f1c84-6a1b-4f8e-9a61-0f1cd2d0a001",
            )  # fmt: skip


def post_at_once(people_and_data) -> list:
    """Each (user, data) posted from its own thread and database connection, released
    together."""
    start = threading.Barrier(len(people_and_data))
    responses: list = [None] * len(people_and_data)

    def send(index, user, data):
        client = Client()
        client.force_login(user)
        start.wait()
        try:
            responses[index] = client.post(reverse("referral_create"), data)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=send, args=(index, user, data))
        for index, (user, data) in enumerate(people_and_data)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return responses


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("starting_codes")
def test_the_same_form_sent_twice_at_once_makes_one_patient_and_one_referral(
    icc, home_from_hospital
):
    data = new_patient_post(home_from_hospital, "0b6c2f8e-94a4-4c1e-8c1f-5f2b9e0d7a11")

    responses = post_at_once([(icc, data), (icc, data)])

    assert [response.status_code for response in responses] == [302, 302]
    referral = Referral.objects.get()
    assert {response["Location"] for response in responses} == {
        reverse("referral_detail", args=[referral.pk])
    }
    assert Patient.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("starting_codes")
def test_two_people_registering_one_new_patient_at_once_make_one_patient(
    icc, home_from_hospital, community_trust
):
    colleague = UserFactory(organisation=community_trust, role=icc.role)
    mine = new_patient_post(home_from_hospital, "5a0f6a3c-1b7e-4b8a-9d0e-3c2f1a4b5c61")
    theirs = new_patient_post(
        home_from_hospital, "5a0f6a3c-1b7e-4b8a-9d0e-3c2f1a4b5c62", needs=["befriending"]
    )

    responses = post_at_once([(icc, mine), (colleague, theirs)])

    assert [response.status_code for response in responses] == [302, 302]
    assert Patient.objects.count() == 1
    assert Referral.objects.count() == 2
