import pytest
from django.urls import reverse

from accounts.models import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_administrator_sees_every_user(client, administrator, icc, red_cross_lead):
    client.force_login(administrator)

    page = client.get(reverse("user_list")).content.decode()

    assert icc.email in page and red_cross_lead.email in page


@pytest.mark.parametrize("role", [Role.ICC, Role.COMMISSIONER, Role.VSO_LEAD, Role.VSO_WORKER])
def test_no_other_role_may_list_users(client, user_for_role, role):
    client.force_login(user_for_role(role))

    assert client.get(reverse("user_list")).status_code == 403


def test_the_query_count_does_not_grow_with_the_users(
    client, administrator, red_cross, django_assert_max_num_queries
):
    client.force_login(administrator)
    UserFactory.create_batch(40, role=Role.VSO_WORKER, organisation=red_cross)

    # The page, its count, and one query for who is locked out among them.
    with django_assert_max_num_queries(9):
        response = client.get(reverse("user_list"))

    assert len(response.context["page"]) == 41
