import pytest
from django.urls import reverse

from accounts.models import Role

pytestmark = pytest.mark.django_db


def test_an_administrator_reaches_the_django_admin(client, administrator):
    client.force_login(administrator)

    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/accounts/user/").status_code == 200


@pytest.mark.parametrize("role", [Role.ICC, Role.COMMISSIONER, Role.VSO_LEAD, Role.VSO_WORKER])
def test_no_other_role_reaches_the_django_admin(client, user_for_role, role):
    client.force_login(user_for_role(role))

    assert client.get("/admin/", follow=True).status_code == 403
    assert client.get("/admin/accounts/user/", follow=True).status_code == 403


def test_a_visitor_is_sent_to_the_one_sign_in_page(client):
    response = client.get("/admin/", follow=True)

    assert response.redirect_chain[-1][0] == "/sign-in/?next=/admin/"


def test_the_admin_refuses_a_vso_lead_without_an_organisation(client, administrator, icb):
    client.force_login(administrator)

    response = client.post(
        "/admin/accounts/user/add/",
        {
            "email": "new.lead@example.org",
            "full_name": "New Lead",
            "role": Role.VSO_LEAD,
            "organisation": "",
            "password1": "a-long-enough-password-1",
            "password2": "a-long-enough-password-1",
        },
    )

    assert response.status_code == 200
    assert "A VSO lead or worker must belong to an organisation." in response.content.decode()


def test_the_admin_refuses_a_vso_lead_of_a_statutory_organisation(client, administrator, icb):
    client.force_login(administrator)

    response = client.post(
        "/admin/accounts/user/add/",
        {
            "email": "new.lead@example.org",
            "full_name": "New Lead",
            "role": Role.VSO_LEAD,
            "organisation": icb.pk,
            "password1": "a-long-enough-password-1",
            "password2": "a-long-enough-password-1",
        },
    )

    assert "must belong to a voluntary organisation" in response.content.decode()


def test_the_admin_creates_a_vso_worker_who_can_then_sign_in(client, administrator, red_cross):
    client.force_login(administrator)

    response = client.post(
        "/admin/accounts/user/add/",
        {
            "email": "new.worker@example.org",
            "full_name": "New Worker",
            "role": Role.VSO_WORKER,
            "organisation": red_cross.pk,
            "password1": "a-long-enough-password-1",
            "password2": "a-long-enough-password-1",
        },
    )
    client.logout()

    assert response.status_code == 302
    signed_in = client.post(
        "/sign-in/",
        {"username": "new.worker@example.org", "password": "a-long-enough-password-1"},
        follow=True,
    )
    assert signed_in.redirect_chain[-1][0] == "/vso/worker/"


@pytest.mark.parametrize(
    "path", ["/admin/referrals/", "/admin/pghistory/", "/admin/referrals/referral/"]
)
def test_the_admin_shows_administrators_no_patient_or_referral_data(client, administrator, path):
    client.force_login(administrator)

    assert client.get(path).status_code == 404


def test_an_administrator_sees_and_changes_nothing_of_another_system_in_the_admin(
    client, administrator, western_people, red_cross
):
    western_user = western_people["icc"]
    client.force_login(administrator)

    users = client.get(reverse("admin:accounts_user_changelist")).content.decode()
    organisations = client.get(reverse("admin:commissioning_organisation_changelist"))
    opened = client.get(reverse("admin:accounts_user_change", args=[western_user.pk]))
    add_form = client.get(reverse("admin:accounts_user_add")).content.decode()

    assert western_user.email not in users
    assert administrator.email in users
    assert "Westbay Good Neighbours" not in organisations.content.decode()
    assert red_cross.name in organisations.content.decode()
    assert opened.status_code == 302  # the admin's answer for a row it cannot find
    assert "Western Community Services" not in add_form
    assert red_cross.name in add_form
