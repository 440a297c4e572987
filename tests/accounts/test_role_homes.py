import pytest
from django.urls import reverse

from accounts.models import Role

pytestmark = pytest.mark.django_db

HOMES = {
    Role.ICC: ("icc_home", "Your referrals"),
    Role.COMMISSIONER: ("commissioner_home", "Commissioning overview"),
    Role.VSO_LEAD: ("vso_lead_home", "Your organisation"),
    Role.VSO_WORKER: ("vso_worker_home", "Your work"),
    Role.ADMINISTRATOR: ("administrator_home", "Administration"),
}


@pytest.mark.parametrize("role", list(HOMES))
def test_each_home_shows_its_heading_and_who_is_signed_in(client, user_for_role, role):
    user = user_for_role(role)
    client.force_login(user)
    url_name, heading = HOMES[role]

    page = client.get(reverse(url_name)).content.decode()

    assert f">{heading}</h1>" in page
    assert user.full_name in page
    assert user.get_role_display() in page
    assert user.organisation.name in page


@pytest.mark.parametrize(("role", "other_role"), [(a, b) for a in HOMES for b in HOMES if a != b])
def test_another_roles_home_is_forbidden(client, user_for_role, role, other_role):
    client.force_login(user_for_role(role))

    assert client.get(reverse(HOMES[other_role][0])).status_code == 403


@pytest.mark.parametrize("url_name", [name for name, _ in HOMES.values()] + ["home"])
def test_a_visitor_is_sent_to_sign_in(client, url_name):
    response = client.get(reverse(url_name))

    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={reverse(url_name)}"


def test_the_vso_lead_sees_their_own_team_and_not_another_organisations(
    client, red_cross_lead, red_cross_worker, other_lead
):
    client.force_login(red_cross_lead)

    page = client.get(reverse("vso_lead_home")).content.decode()

    assert red_cross_worker.email in page
    assert other_lead.email not in page


def test_the_commissioner_sees_organisations_counted_by_place_and_sector(
    client, commissioner, red_cross, age_concern, community_trust
):
    client.force_login(commissioner)

    response = client.get(reverse("commissioner_home"))

    rows = {row["name"]: row for row in response.context["place_counts"]}
    assert rows["Northbridge"]["voluntary"] == 2
    # The commissioner's own ICB and the community trust work system-wide.
    assert rows["System-wide"]["health"] == 2


@pytest.mark.parametrize(
    ("role", "visible", "hidden"),
    [
        (Role.ICC, ["Organisations"], ["Users", "Django admin"]),
        (Role.COMMISSIONER, ["Organisations"], ["Users", "Django admin"]),
        (Role.VSO_LEAD, ["Organisations"], ["Users", "Django admin"]),
        (Role.VSO_WORKER, ["Organisations"], ["Users", "Django admin"]),
        (Role.ADMINISTRATOR, ["Organisations", "Users", "Django admin"], []),
    ],
)
def test_navigation_shows_only_what_the_role_may_use(client, user_for_role, role, visible, hidden):
    client.force_login(user_for_role(role))

    response = client.get(reverse("home"), follow=True)

    labels = [item.label for item in response.context["nav_items"]]
    assert all(label in labels for label in visible)
    assert not any(label in labels for label in hidden)


def test_every_page_has_a_skip_link_to_the_main_content(client, icc):
    client.force_login(icc)

    page = client.get(reverse("icc_home")).content.decode()

    assert 'href="#main-content"' in page
    assert 'id="main-content"' in page


def test_the_vso_leads_home_lists_new_referrals_to_their_organisation_only(
    client, red_cross_lead, home_from_hospital, age_concern, icc
):
    from referrals.models import ReferralStatus
    from tests.factories import ReferralFactory, ServiceFactory

    new = ReferralFactory(service=home_from_hospital, referrer=icc)
    ReferralFactory(service=home_from_hospital, referrer=icc, status=ReferralStatus.ACCEPTED)
    ReferralFactory(service=ServiceFactory(organisation=age_concern), referrer=icc)
    client.force_login(red_cross_lead)

    response = client.get(reverse("vso_lead_home"))

    assert list(response.context["inbox"]) == [new]


def test_the_iccs_home_counts_open_referrals_and_statutory_waits(
    client, icc, home_from_hospital, social_care, patient
):
    from referrals.models import ReferralStatus
    from tests.factories import ReferralFactory

    ReferralFactory(service=home_from_hospital, referrer=icc)
    ReferralFactory(service=home_from_hospital, referrer=icc, status=ReferralStatus.CLOSED)
    ReferralFactory(
        patient=patient, referrer=icc, service=None, organisation=social_care,
        destination_sector="social_care",
    )  # fmt: skip
    client.force_login(icc)

    response = client.get(reverse("icc_home"))

    assert (response.context["open_count"], response.context["waiting_count"]) == (2, 1)
    assert "1 waiting on a statutory service" in response.content.decode()
