"""The specification in force on a day: one rule, spelled for the ORM and for the reports' SQL,
which must always agree."""

import datetime

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commissioning.codes import SpecificationStatus
from commissioning.in_force import (
    PUBLISHED,
    specification_in_force,
    specification_in_force_sql,
    specifications_in_force,
)
from tests.factories import FrameworkFactory, ServiceFactory, SpecificationFactory

pytestmark = pytest.mark.django_db

START = datetime.date(2026, 1, 1)
days = st.integers(min_value=0, max_value=400).map(lambda n: START + datetime.timedelta(days=n))
version = st.tuples(
    st.sampled_from([SpecificationStatus.DRAFT, SpecificationStatus.RETIRED]),
    days,
    st.one_of(st.none(), st.integers(min_value=0, max_value=200)),
)


def in_force_by_sql(service_id: int, day: datetime.date) -> int | None:
    sql = "SELECT v.id FROM (SELECT 1) x LEFT JOIN LATERAL " + specification_in_force_sql(
        service="%(service)s", day="%(day)s::date", columns=("id",)
    ) + " v ON true"  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, {"service": service_id, "day": day, "published": list(PUBLISHED)})
        return cursor.fetchone()[0]


@pytest.fixture
def framework(system):
    return FrameworkFactory(system=system)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    versions=st.lists(version, min_size=0, max_size=5),
    active=st.one_of(st.none(), st.integers(min_value=0, max_value=4)),
    day=days,
)
def test_the_orm_and_the_sql_name_the_same_version(red_cross, framework, versions, active, day):
    with transaction.atomic():
        service = ServiceFactory(organisation=red_cross)
        for number, (status, starts_on, length) in enumerate(versions, start=1):
            SpecificationFactory(
                service=service,
                framework=framework,
                version=number,
                status=SpecificationStatus.ACTIVE if active == number - 1 else status,
                starts_on=starts_on,
                ends_on=None if length is None else starts_on + datetime.timedelta(days=length),
            )

        by_orm = specification_in_force(service=service, on_date=day)

        assert (by_orm.pk if by_orm else None) == in_force_by_sql(service.pk, day)
        if by_orm is not None:
            assert by_orm.status != SpecificationStatus.DRAFT
            assert by_orm.starts_on <= day <= (by_orm.ends_on or day)
        transaction.set_rollback(True)


def test_the_newest_covering_version_wins_and_a_draft_never_does(red_cross, framework):
    service = ServiceFactory(organisation=red_cross)
    old = SpecificationFactory(
        service=service, framework=framework, version=1, status=SpecificationStatus.RETIRED,
        starts_on=datetime.date(2026, 1, 1), ends_on=None,
    )  # fmt: skip
    new = SpecificationFactory(
        service=service, framework=framework, version=2,
        starts_on=datetime.date(2026, 6, 1), ends_on=None,
    )  # fmt: skip
    SpecificationFactory(
        service=service, framework=framework, version=3, status=SpecificationStatus.DRAFT,
        starts_on=datetime.date(2026, 1, 1), ends_on=None,
    )  # fmt: skip

    assert specification_in_force(service=service, on_date=datetime.date(2026, 3, 1)) == old
    assert specification_in_force(service=service, on_date=datetime.date(2026, 7, 1)) == new
    assert specification_in_force(service=service, on_date=datetime.date(2025, 7, 1)) is None


def test_many_services_in_one_query(red_cross, framework, django_assert_num_queries):
    services = [ServiceFactory(organisation=red_cross) for _ in range(5)]
    for service in services[:3]:
        SpecificationFactory(service=service, framework=framework)

    with django_assert_num_queries(1):
        found = specifications_in_force(services=services, on_date=datetime.date(2026, 7, 1))

    assert set(found) == {service.pk for service in services[:3]}
