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

from django.db.models import OuterRef, Q, QuerySet

from commissioning.codes import SpecificationStatus
from commissioning.models import Service, ServiceSpecification

PUBLISHED = (SpecificationStatus.ACTIVE, SpecificationStatus.RETIRED)
# The subqueries' own name for the specification table, unlike any alias of the statements they
# are joined into: a LATERAL subquery's alias hides an outer one of the same name.
_ALIAS = "spec_in_force"


def _columns(names: tuple[str, ...]) -> str:
    return ", ".join(f"{_ALIAS}.{name}" for name in names)


def _covering(day: date | OuterRef) -> Q:
    """Published, with contract dates that cover the day: the versions that could be in force."""
    return Q(status__in=PUBLISHED, starts_on__lte=day) & (
        Q(ends_on__isnull=True) | Q(ends_on__gte=day)
    )


def specifications_in_force(
    *, services: Iterable[Service], on_date: date
) -> dict[int, ServiceSpecification]:
    """{service id: its specification in force on the day}, for many services in one query.
    A service with none in force is left out."""
    specs = (
        ServiceSpecification.objects.filter(_covering(on_date), service__in=services)
        .select_related("framework")
        # PostgreSQL's DISTINCT ON keeps the first row of each service: its newest version.
        .order_by("service_id", "-version")
        .distinct("service_id")
    )
    return {spec.service_id: spec for spec in specs}


def specification_in_force(*, service: Service, on_date: date) -> ServiceSpecification | None:
    return specifications_in_force(services=[service], on_date=on_date).get(service.pk)


def specification_in_force_subquery(
    *, service: OuterRef, day: OuterRef
) -> QuerySet[ServiceSpecification]:
    """The same rule for each row of a list whose rows have their own service and day (an
    episode's service and start): the caller takes `.values(column)[:1]` into a Subquery."""
    return ServiceSpecification.objects.filter(_covering(day), service=service).order_by("-version")


def specification_in_force_sql(*, service: str, day: str, columns: tuple[str, ...]) -> str:
    """A subquery for a LATERAL join: the named columns of the specification in force
    on `day` for `service`, both SQL expressions. The statement must pass `published`, the
    statuses in PUBLISHED."""
    table = ServiceSpecification._meta.db_table
    return f"""(
        SELECT {_columns(columns)}
        FROM {table} {_ALIAS}
        WHERE {_ALIAS}.service_id = {service}
          AND {_ALIAS}.status = ANY(%(published)s)
          AND {_ALIAS}.starts_on <= {day}
          AND {day} <= coalesce({_ALIAS}.ends_on, 'infinity'::date)
        ORDER BY {_ALIAS}.version DESC
        LIMIT 1
    )"""


def specification_for_period_sql(*, service: str, columns: tuple[str, ...]) -> str:
    """A subquery for a LATERAL join: the named columns of the specification a report
    over a period reads a service by: the version in force on the period's last day, else the
    newest published version whose contract covered any day of it. The statement must pass
    `published`, `first_day` and `last_day`."""
    table = ServiceSpecification._meta.db_table
    return f"""(
        SELECT {_columns(columns)}
        FROM {table} {_ALIAS}
        WHERE {_ALIAS}.service_id = {service}
          AND {_ALIAS}.status = ANY(%(published)s)
          AND {_ALIAS}.starts_on <= %(last_day)s
          AND coalesce({_ALIAS}.ends_on, 'infinity'::date) >= %(first_day)s
        ORDER BY (coalesce({_ALIAS}.ends_on, 'infinity'::date) >= %(last_day)s) DESC,
                 {_ALIAS}.version DESC
        LIMIT 1
    )"""
