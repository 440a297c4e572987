"""The query strings testers found giving a 500 (#14), each now a page that says what is wrong
or ignores what it cannot use. The Hypothesis property beside this file looks for more."""

import pytest
from django.urls import reverse

from commissioning.codes import SpecificationStatus
from tests.factories import SpecificationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("starting_codes")]


@pytest.mark.parametrize("chosen", ["abc", " ", "-1", "1e3", "٣", "99999999999999999999"])
def test_comparing_with_a_version_that_is_not_a_number_compares_with_the_one_before(
    client, commissioner, home_from_hospital, chosen
):
    first = home_from_hospital.specifications.get()
    second = SpecificationFactory(
        service=home_from_hospital, framework=first.framework, version=2,
        status=SpecificationStatus.DRAFT,
    )  # fmt: skip
    client.force_login(commissioner)

    response = client.get(reverse("specification_compare", args=[second.pk]), {"with": chosen})

    assert response.status_code == 200
    assert response.context["old"] == first


@pytest.mark.parametrize(
    "name", ["dashboard", "breach_referrals", "override_referrals", "dashboard_csv"]
)
@pytest.mark.parametrize("date_to", ["9999-12-30", "9999-12-31", "0001-01-01"])
def test_a_period_at_the_ends_of_the_calendar_is_refused_at_the_field(
    client, commissioner, name, date_to
):
    client.force_login(commissioner)
    url = reverse(name, args=["breaches"]) if name == "dashboard_csv" else reverse(name)

    response = client.get(url, {"date_from": "2026-01-01", "date_to": date_to})

    assert response.status_code in (200, 400, 404)
    if response.status_code == 200 and "form" in (response.context or {}):
        assert response.context["form"].errors


@pytest.mark.parametrize("target", ["0", "home", "admin:index", "//evil.example/", "javascript:x"])
def test_a_next_that_is_not_a_path_here_goes_home(client, icc, settings, target):
    settings.TWO_FACTOR_REQUIRED = False
    client.force_login(icc)

    response = client.get(reverse("two_factor_verify"), {"next": target})

    assert response.status_code == 302
    assert response["Location"] == reverse("icc_home")


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "0000-00", "2026-13", "-2026-01"])
def test_a_remit_month_at_the_ends_of_the_calendar_is_answered(client, red_cross_lead, month):
    client.force_login(red_cross_lead)

    response = client.get(reverse("remit_page"), {"month": month})

    assert response.status_code in (200, 400)


@pytest.mark.parametrize(
    "query",
    [{"referred_from": "9999-12-31"}, {"referred_to": "0001-01-01"}, {"page": "9" * 30},
     {"place": "-1"}, {"status": "\x00"}],
)  # fmt: skip
def test_the_referral_list_answers_any_filter(client, icc, query):
    client.force_login(icc)

    assert client.get(reverse("referral_list"), query).status_code in (200, 400)


def test_an_empty_intake_post_is_the_form_again_with_its_errors(client, icc):
    client.force_login(icc)

    response = client.post(reverse("referral_create"), {})

    assert response.status_code == 200
    assert response.context["form"].errors["nhs_number"] == [
        "Enter the patient's 10-digit NHS number."
    ]


def test_a_concern_reply_with_a_next_that_is_not_a_path_goes_to_the_referral(
    client, cover, red_cross_worker, social_care, social_care_officer
):
    from tests.referrals.test_concerns import raise_concern

    concern = raise_concern(cover, red_cross_worker, social_care)
    client.force_login(red_cross_worker)

    response = client.post(
        reverse("concern_reply", args=[concern.pk]), {"text": "Thanks.", "next": "0"}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("referral_detail", args=[cover.pk]) + "#concerns"
