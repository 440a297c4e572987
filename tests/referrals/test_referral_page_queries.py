"""A referral's page reads a fixed number of queries, at most six, however much it shows: its
concerns with their replies, the patient's consents, the referral's history."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from referrals.services_concerns import concern_raise, concern_reply
from tests.factories import ConsentFactory, ReferralFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def referral(icc, home_from_hospital, waiting):
    # Interim cover for a statutory wait, so every party a concern may go to is on the page.
    return ReferralFactory(
        patient=waiting.patient, service=home_from_hospital, referrer=icc, interim_cover_for=waiting
    )


def grow(referral, lead, addressed_to, *, times):
    for n in range(referral.concerns.count(), referral.concerns.count() + times):
        concern = concern_raise(
            referral=referral,
            user=lead,
            addressed_to=addressed_to,
            severity="moderate",
            description=f"Concern {n}",
        )
        for m in range(2):
            concern_reply(concern=concern, user=lead, text=f"Reply {n}.{m}")
        ConsentFactory(patient=referral.patient, recorded_by=referral.referrer)
        referral.reason = f"Changed {n}"
        referral.save()


def page_queries(client, referral):
    url = reverse("referral_detail", args=[referral.pk])
    client.get(url)  # what is kept in the cache is kept from here on
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


@pytest.mark.parametrize("role", ["red_cross_lead", "icc"])
def test_the_page_costs_the_same_few_queries_with_much_on_it(
    client, request, role, referral, red_cross_lead, community_trust
):
    client.force_login(request.getfixturevalue(role))
    bare, _ = page_queries(client, referral)
    grow(referral, red_cross_lead, community_trust, times=1)
    some, _ = page_queries(client, referral)

    grow(referral, red_cross_lead, community_trust, times=3)
    full, page = page_queries(client, referral)

    # Without concerns the page does not ask for them: one query fewer.
    assert bare == some - 1 and some == full <= 6
    assert page.count("Reply 2.1") == 1 and "Concern 0" in page
    assert f"{red_cross_lead.full_name} ({red_cross_lead.organisation.name}):" in page
