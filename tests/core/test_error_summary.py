"""Issue 17, point 3: every form's errors in the GOV.UK pattern. A summary at the top of the page
links to each field that needs fixing, the title starts "Error: ", each message says what to do,
nothing is changed, and what was typed is still there. A form on a referral's page comes back on
that page, in place."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from commissioning.models import CommissioningFramework
from referrals.models import Concern, ConcernReply, ReferralStatus
from tests.error_summary import error_summary_of, ids_in
from tests.factories import TEST_PASSWORD, ServiceFactory
from tests.referrals.test_concerns import raise_concern

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 23, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def assert_summary(response, links: dict[str, str], *, texts: tuple[str, ...] = ()):
    """The summary lists exactly these links (field id -> message) and texts, each link goes to
    an input on the page, and the page says it has an error in its title."""
    summary = error_summary_of(response)
    assert summary.present, "no error summary on the page"
    assert summary.focusable and summary.role == "alert"
    assert summary.title.startswith("Error: ")
    assert {href.removeprefix("#"): text for href, text in summary.links} == links
    assert summary.texts == list(texts)
    assert set(links) <= ids_in(response)


# --- accounts ----------------------------------------------------------------------------------


def test_signing_in_with_nothing_typed_says_what_to_enter_at_each_field(client):
    response = client.post(reverse("login"), {"username": "", "password": ""})

    assert_summary(
        response,
        {"id_username": "Enter your email address.", "id_password": "Enter your password."},
    )


def test_a_wrong_password_is_in_the_summary_without_saying_which_was_wrong(client, icc):
    response = client.post(reverse("login"), {"username": icc.email, "password": "nope"})

    assert_summary(
        response,
        {},
        texts=("The email address or password is not right. Check them and try again.",),
    )
    assert f'value="{icc.email}"' in response.content.decode()


def test_changing_the_password_with_nothing_typed_changes_nothing(client, icc):
    client.force_login(icc)

    response = client.post(
        reverse("password_change"),
        {"old_password": "", "new_password1": "", "new_password2": ""},
    )

    assert_summary(
        response,
        {
            "id_old_password": "Enter your current password.",
            "id_new_password1": "Enter a new password.",
            "id_new_password2": "Enter the new password again.",
        },
    )
    icc.refresh_from_db()
    assert icc.check_password(TEST_PASSWORD)


def test_two_different_new_passwords_are_refused_at_the_second(client, icc):
    client.force_login(icc)

    response = client.post(
        reverse("password_change"),
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "a-long-new-password-1",
            "new_password2": "a-long-new-password-2",
        },
    )

    assert_summary(
        response,
        {"id_new_password2": "The two new passwords are not the same. Enter the same one twice."},
    )
    icc.refresh_from_db()
    assert icc.check_password(TEST_PASSWORD)


# --- commissioning ------------------------------------------------------------------------------


def test_a_framework_without_a_name_or_start_is_refused_and_what_was_typed_is_kept(
    client, commissioner
):
    client.force_login(commissioner)

    response = client.post(
        reverse("framework_create"),
        {"name": "", "objectives": "Keep people well at home.", "starts_on": "", "ends_on": "x"},
    )

    assert response.status_code == 200
    assert_summary(
        response,
        {
            "id_name": "Enter the framework's name.",
            "id_starts_on": "Enter the date the framework starts.",
            "id_ends_on": "The date the framework ends must be a real date, such as 31 3 2027.",
        },
    )
    assert "Keep people well at home.</textarea>" in response.content.decode()
    assert not CommissioningFramework.objects.exists()


def test_a_service_listing_with_ages_the_wrong_way_round_is_refused_at_the_maximum(
    client, red_cross_lead, red_cross
):
    service = ServiceFactory(organisation=red_cross, name="Home from Hospital")
    url = reverse("service_listing_edit", args=[service.pk])
    client.force_login(red_cross_lead)
    seen = client.get(url).context["form"]["updated_at"].value()

    response = client.post(
        url,
        {
            "name": "Home from Hospital, renamed",
            "status": "active",
            "min_age": "65",
            "max_age": "18",
            "email": "not an email",
            "updated_at": seen,
        },
    )

    assert_summary(
        response,
        {
            "id_max_age": "Enter a maximum age of at least the minimum age (65).",
            "id_email": "Enter an email address in the correct format, such as name@example.org.",
        },
    )
    assert 'value="Home from Hospital, renamed"' in response.content.decode()
    service.refresh_from_db()
    assert service.name == "Home from Hospital"


def test_a_directory_search_for_an_age_that_is_not_a_number_says_so(client, icc):
    client.force_login(icc)

    response = client.get(reverse("directory"), {"age": "old", "text": "lunch"})

    assert_summary(response, {"id_age": "Patient's age must be a whole number, such as 12."})
    assert 'value="lunch"' in response.content.decode()


# --- referrals ----------------------------------------------------------------------------------


def test_an_empty_concern_comes_back_on_the_referrals_page_in_place(
    client, red_cross_worker, cover
):
    client.force_login(red_cross_worker)

    response = client.post(
        reverse("concern_raise", args=[cover.pk]),
        {"severity": "", "addressed_to": "", "description": "She fell last night."},
    )

    assert response.status_code == 400
    assert_summary(
        response,
        {
            "id_severity": "Choose how serious the concern is.",
            "id_addressed_to": "Choose the organisation that must answer it.",
        },
    )
    assert error_summary_of(response).title.startswith(f"Error: {cover.reference}")
    assert "She fell last night.</textarea>" in response.content.decode()
    assert not Concern.objects.exists()


def test_a_consent_decision_without_a_choice_links_to_the_first_radio(client, icc, cover):
    client.force_login(icc)

    response = client.post(
        reverse("referral_consent", args=[cover.pk]),
        {"decision": "", "method": "phone", "decided_on": ""},
    )

    assert_summary(
        response,
        {
            "id_decision_0": "Choose whether the patient gave or withdrew consent.",
            "id_decided_on": "Enter the date the patient told you.",
        },
    )
    assert '<option value="phone" selected>' in response.content.decode()


def test_declining_without_a_reason_stays_on_the_page_with_the_reason_field_in_error(
    client, red_cross_lead, cover
):
    client.force_login(red_cross_lead)

    response = client.post(
        reverse("referral_action", args=[cover.pk, "decline"]),
        {"version": cover.version, "reason": "   "},
    )

    assert response.status_code == 400
    assert_summary(
        response, {"decline-reason": "Say why the referral is declined; the referrer sees it."}
    )
    assert 'aria-describedby="decline-reason-error"' in response.content.decode()
    cover.refresh_from_db()
    assert cover.status == ReferralStatus.RECEIVED


def test_an_empty_reply_comes_back_open_at_the_concern_it_was_for(
    client, red_cross_worker, red_cross_lead, cover, social_care
):
    concern = raise_concern(cover, red_cross_worker, social_care)
    client.force_login(red_cross_lead)
    referral_page = reverse("referral_detail", args=[cover.pk])

    response = client.post(
        reverse("concern_reply", args=[concern.pk]), {"text": "   ", "next": referral_page}
    )

    assert response.status_code == 400
    assert_summary(response, {f"reply-{concern.pk}-text": "Write the reply."})
    page = response.content.decode()
    assert '<details class="mb-2" open>' in page
    # The buttons on the page shown again still bring the person back to the referral.
    assert f'name="next" value="{referral_page}"' in page
    assert not ConcernReply.objects.exists()


def test_an_empty_resolution_comes_back_in_place_and_the_concern_stays_open(
    client, red_cross_worker, red_cross_lead, cover, social_care
):
    concern = raise_concern(cover, red_cross_worker, social_care)
    client.force_login(red_cross_lead)

    response = client.post(
        reverse("concern_resolve", args=[concern.pk]),
        {
            "version": concern.version,
            "resolution": "",
            "next": reverse("referral_detail", args=[cover.pk]),
        },
    )

    assert_summary(
        response, {f"resolve-{concern.pk}-resolution": "Write how the concern was resolved."}
    )
    concern.refresh_from_db()
    assert concern.resolved_at is None


def test_a_referral_list_filtered_by_a_date_that_is_not_one_says_so(client, icc):
    client.force_login(icc)

    response = client.get(reverse("referral_list"), {"referred_from": "soon"})

    assert_summary(
        response, {"id_referred_from": "Referred from must be a real date, such as 23 11 2026."}
    )


def test_an_access_log_search_without_a_number_asks_for_it(client, administrator):
    client.force_login(administrator)

    response = client.post(reverse("access_log"), {"nhs_number": ""})

    assert_summary(response, {"id_nhs_number": "Enter the patient's NHS number."})


def test_a_page_without_errors_has_no_summary_and_a_plain_title(client, icc, cover):
    client.force_login(icc)

    response = client.get(reverse("referral_detail", args=[cover.pk]))

    summary = error_summary_of(response)
    assert not summary.present
    assert summary.title.startswith(cover.reference)


def test_an_empty_reply_from_the_concerns_list_comes_back_open_on_the_list(
    client, red_cross_worker, cover, social_care, social_care_officer
):
    concern = raise_concern(cover, red_cross_worker, social_care)
    client.force_login(social_care_officer)

    response = client.post(
        reverse("concern_reply", args=[concern.pk]),
        {"text": "   ", "next": reverse("concern_list")},
    )

    assert response.status_code == 400
    assert response.templates[0].name == "referrals/concern_list.html"
    assert "Write the reply." in response.content.decode()
    assert not ConcernReply.objects.exists()
