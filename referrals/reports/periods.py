"""Report periods are whole days in UK time (core.dates), and each day is judged by the
specification in force on it."""

from commissioning.models import ServiceSpecification


def specification_in_force_sql(*, service: str, day: str, columns: str) -> str:
    """A subquery for a LATERAL join: the chosen columns (of `s`) of the specification in force
    on `day` for `service`, both SQL expressions. As commissioning.selectors.
    specification_in_force reads it: the newest version, not a draft, whose contract dates
    cover the day. The statement must pass `published`, the statuses that are not a draft."""
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
