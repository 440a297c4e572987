import pytest
from django.urls import reverse

from commissioning.models import Sector
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db


def test_every_signed_in_role_can_look_organisations_up(client, red_cross_worker, red_cross, icb):
    client.force_login(red_cross_worker)

    page = client.get(reverse("organisation_list")).content.decode()

    assert red_cross.name in page and icb.name in page


def test_a_visitor_must_sign_in(client):
    assert client.get(reverse("organisation_list")).status_code == 302


def test_it_filters_by_sector_place_and_name(client, icc, red_cross, age_concern, community_trust):
    client.force_login(icc)

    voluntary = client.get(reverse("organisation_list"), {"sector": Sector.VOLUNTARY})
    by_name = client.get(reverse("organisation_list"), {"name": "red cross"})
    by_place = client.get(reverse("organisation_list"), {"place": red_cross.place_id})

    assert set(voluntary.context["page"]) == {red_cross, age_concern}
    assert list(by_name.context["page"]) == [red_cross]
    assert community_trust not in by_place.context["page"]


def test_an_unknown_sector_is_reported_at_the_field(client, icc):
    client.force_login(icc)

    response = client.get(reverse("organisation_list"), {"sector": "astrology"})

    assert "Select a valid choice" in response.content.decode()


def test_the_query_count_does_not_grow_with_the_organisations(
    client, icc, system, northbridge, django_assert_max_num_queries
):
    client.force_login(icc)
    OrganisationFactory.create_batch(30, system=system, place=northbridge, voluntary=True)

    # 9: the notification bell's unread count is one of them.
    with django_assert_max_num_queries(9):
        response = client.get(reverse("organisation_list"))

    assert len(response.context["page"]) == 25
