"""The specification in force for a service on a day.

It is the newest version that is not a draft and whose contract dates cover the day. Not simply
the active version: a referral made last spring is judged by last spring's words, even if a
version published since has retired them, and a version whose contract has not started yet (or
has ended) commissions nothing today. The remit check, the VSO lead's remit page, the directory
and the nightly reports all ask this question, here.

The rule is written twice, once for the ORM and once as SQL for the reports' LATERAL joins,
because the reports judge millions of referrals in one statement. tests/commissioning/
test_in_force.py checks on generated versions that the two always give the same answer.
"""

from collections.abc import Iterable
from datetime import date

from django.db.models import Q

from commissioning.codes import SpecificationStatus
from commissioning.models import Service, ServiceSpecification

PUBLISHED = (SpecificationStatus.ACTIVE, SpecificationStatus.RETIRED)


def specifications_in_force(
    *, services: Iterable[Service], on_date: date
) -> dict[int, ServiceSpecification]:
    """{service id: its specification in force on the day}, for many services in one query.
    A service with none in force is left out."""
    specs = (
        ServiceSpecification.objects.filter(
            service__in=services, status__in=PUBLISHED, starts_on__lte=on_date
        )
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=on_date))
        .select_related("framework")
        # PostgreSQL's DISTINCT ON keeps the first row of each service: its newest version.
        .order_by("service_id", "-version")
        .distinct("service_id")
    )
    return {spec.service_id: spec for spec in specs}


def specification_in_force(*, service: Service, on_date: date) -> ServiceSpecification | None:
    return specifications_in_force(services=[service], on_date=on_date).get(service.pk)


def specification_in_force_sql(*, service: str, day: str, columns: str) -> str:
    """A subquery for a LATERAL join: the chosen columns (of `s`) of the specification in force
    on `day` for `service`, both SQL expressions. The statement must pass `published`, the
    statuses in PUBLISHED."""
    table = ServiceSpecification._meta.db_table
    return f"""(
        SELECT {columns}
        FROM {table} s
        WHERE s.service_id = {service}
          AND s.status = ANY(%(published)s)
          AND s.starts_on <= {day}
          AND {day} <= coalesce(s.ends_on, 'infinity'::date)
        ORDER BY s.version DESC
        LIMIT 1
    )"""
