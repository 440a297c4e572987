"""counted_page: a numbered page and its list's total in one query (COUNT(*) OVER ()), for the
short lists that still show "page 2 of 5"; any page number, of any shape, is a page."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commissioning.models import Place
from core.pagination import counted_page
from tests.factories import SystemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def places():
    system = SystemFactory()
    Place.objects.bulk_create(Place(system=system, name=f"Place {n:02d}") for n in range(23))
    return Place.objects.filter(system=system).order_by("name")


def test_a_page_and_the_total_come_in_one_query(places):
    with CaptureQueriesContext(connection) as queries:
        page = counted_page(places, per_page=10, number="2")
        names = [place.name for place in page]

    assert len(queries) == 1
    assert names == [f"Place {n:02d}" for n in range(10, 20)]
    assert (page.number, page.paginator.count, page.paginator.num_pages) == (2, 23, 3)
    assert page.has_previous() and page.has_next()


def test_past_the_end_is_the_last_page_and_nothing_found_is_an_empty_first(places):
    last = counted_page(places, per_page=10, number="9")
    empty = counted_page(places.none(), per_page=10, number="1")

    assert (last.number, len(last), last.paginator.count) == (3, 3, 23)
    assert (empty.number, len(empty), empty.paginator.count) == (1, 0, 0)


# The places are only read: the same rows serve every example.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
@given(number=st.one_of(st.none(), st.text(max_size=30), st.integers(-(10**30), 10**30)))
def test_any_page_number_is_a_page(places, number):
    page = counted_page(places, per_page=10, number=number)

    assert 1 <= page.number <= 3
    assert page.paginator.count == 23
