"""Writing specifications out: the database's versions as a file another installation reads."""

from collections.abc import Collection
from typing import Any

from django.utils import timezone

from commissioning.models import Organisation, ServiceSpecification
from commissioning.specification_files.format import (
    FORMAT,
    FORMAT_VERSION,
    PENCE,
    RECORD_FIELDS,
    SpecificationFileError,
)


def specifications_export(
    *, statuses: Collection[str] | None = None, organisation: str | None = None
) -> dict[str, Any]:
    """The file's document, ready for json.dumps: every version, or those chosen."""
    specifications = ServiceSpecification.objects.select_related(
        "service__organisation", "framework"
    ).order_by(
        # The ids only break ties between same-named organisations in different systems, so
        # that two exports of the same data are the same file.
        "service__organisation__name",
        "service__organisation_id",
        "service__name",
        "service_id",
        "version",
    )
    if statuses:
        specifications = specifications.filter(status__in=statuses)
    if organisation is not None:
        if not Organisation.objects.filter(name__iexact=organisation).exists():
            raise SpecificationFileError(
                [f"organisation: No organisation called {organisation!r}."]
            )
        specifications = specifications.filter(service__organisation__name__iexact=organisation)
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "exported_at": timezone.now().isoformat(),
        "specifications": [specification_to_record(spec) for spec in specifications],
    }


def specification_to_record(spec: ServiceSpecification) -> dict[str, Any]:
    """One version as a record of the file, its fields in RECORD_FIELDS' order."""
    values = {
        "organisation": spec.service.organisation.name,
        "service": spec.service.name,
        "framework": spec.framework.name,
        # A string, not a JSON number: many JSON readers turn numbers into binary floats, and
        # money should arrive to the penny.
        "funding_gbp": None if spec.funding_gbp is None else str(spec.funding_gbp.quantize(PENCE)),
        "starts_on": spec.starts_on.isoformat(),
        "ends_on": spec.ends_on.isoformat() if spec.ends_on else None,
    }
    return {name: values[name] if name in values else getattr(spec, name) for name in RECORD_FIELDS}
