"""The open-data feed: active services, a page at a time, as HSDS 3.0 services with their
organisations, areas and needs."""

import math
import uuid
from collections.abc import Mapping
from datetime import UTC

from django.db.models import Prefetch, QuerySet

from commissioning.codes import ServiceStatus
from commissioning.hsds.vocabulary import (
    CHARITY_SCHEME,
    HSDS_STATUSES,
    NEEDS_TAXONOMY_ID,
    NEEDS_VOCABULARY,
    derived_id,
    need_term_id,
)
from commissioning.models import Need, Organisation, Place, Service, System

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200

# A JSON object as json.dumps will write it.
JsonObject = dict[str, object]


class BadPageRequest(Exception):
    """A page or per_page parameter that is not a usable number."""


class PageNotFound(Exception):
    """A page number past the last page."""


def page_request_parse(*, page: str | None, per_page: str | None) -> tuple[int, int]:
    return (
        _whole_number("page", page, default=1, low=1, high=None),
        _whole_number("per_page", per_page, default=DEFAULT_PER_PAGE, low=1, high=MAX_PER_PAGE),
    )


def system_request_parse(*, system: str | None) -> int | None:
    """The system a harvester narrows the feed to, by its id; None for every system."""
    if system is None or system == "":
        return None
    system_id = _whole_number("system", system, default=0, low=1, high=None)
    if not System.objects.filter(pk=system_id).exists():
        raise PageNotFound(f"There is no system {system_id}.")
    return system_id


def _whole_number(name: str, raw: str | None, *, default: int, low: int, high: int | None) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadPageRequest(f"{name} must be a whole number, not {raw!r}.") from None
    if value < low or (high is not None and value > high):
        limits = f"from {low} to {high}" if high is not None else f"{low} or more"
        raise BadPageRequest(f"{name} must be {limits}, not {value}.")
    return value


def services_published() -> QuerySet[Service]:
    """What the open-data directory holds: active services of organisations still active."""
    return (
        Service.objects.filter(status=ServiceStatus.ACTIVE, organisation__active=True)
        .select_related("organisation__system")
        .prefetch_related(Prefetch("places", queryset=Place.objects.order_by("name")))
        # The primary key breaks ties so a harvester paging through never sees a service twice.
        .order_by("name", "pk")
    )


def directory_export_page(*, page: int, per_page: int, system_id: int | None = None) -> JsonObject:
    """One page of the feed: every system's services, or one system's when it is named. The
    directory is public in every system, so the whole feed discloses nothing a system's own
    would not; the parameter lets each system publish its own (docs/directory-open-data.md)."""
    services = services_published()
    if system_id is not None:
        services = services.filter(organisation__system_id=system_id)
    total = services.count()
    # An empty directory still has a first page, which says it is empty.
    total_pages = max(1, math.ceil(total / per_page))
    if page > total_pages:
        raise PageNotFound(f"There is no page {page}; the last page is {total_pages}.")
    start = (page - 1) * per_page
    chunk = list(services[start : start + per_page])
    needs = {need.code: need for need in Need.objects.all()}
    return {
        "total_items": total,
        "total_pages": total_pages,
        "page_number": page,
        "size": len(chunk),
        "first_page": page == 1,
        "last_page": page == total_pages,
        "empty": total == 0,
        "contents": [service_to_hsds(service, needs=needs) for service in chunk],
    }


def _without_blanks(data: JsonObject) -> JsonObject:
    # HSDS leaves out what is not known; an empty url or email would not even be valid.
    return {key: value for key, value in data.items() if value not in ("", None, [])}


def service_to_hsds(service: Service, *, needs: Mapping[str, Need]) -> JsonObject:
    organisation = service.organisation
    return _without_blanks(
        {
            "id": str(service.hsds_id),
            "organization_id": str(organisation.hsds_id),
            "name": service.name,
            "description": service.description,
            "url": service.url,
            "email": service.email,
            "status": HSDS_STATUSES[ServiceStatus(service.status)],
            "eligibility_description": service.eligibility,
            "minimum_age": service.min_age,
            "maximum_age": service.max_age,
            "assured_date": service.last_verified_on and service.last_verified_on.isoformat(),
            "last_modified": service.updated_at.astimezone(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "phones": _phones(service.phone, owner=("service", service.hsds_id)),
            "service_areas": _service_areas(service),
            "organization": organisation_to_hsds(organisation),
            "attributes": [
                _need_attribute(service, code=code, need=needs.get(code)) for code in service.needs
            ],
        }
    )


def organisation_to_hsds(organisation: Organisation) -> JsonObject:
    return {
        "id": str(organisation.hsds_id),
        "name": organisation.name,
        # Required by HSDS even when we know none.
        "description": organisation.description,
        **_without_blanks(
            {
                "email": organisation.email,
                "website": organisation.website,
                "legal_status": organisation.get_kind_display() if organisation.kind else "",
                "phones": _phones(organisation.phone, owner=("organization", organisation.hsds_id)),
                "organization_identifiers": _identifiers(organisation),
            }
        ),
    }


def _identifiers(organisation: Organisation) -> list[JsonObject]:
    if not organisation.charity_number:
        return []
    return [
        {
            "id": derived_id("organization_identifier", organisation.hsds_id, CHARITY_SCHEME),
            "organization_id": str(organisation.hsds_id),
            "identifier_scheme": CHARITY_SCHEME,
            "identifier_type": "Charity number",
            "identifier": organisation.charity_number,
        }
    ]


def _phones(number: str, *, owner: tuple[str, uuid.UUID]) -> list[JsonObject]:
    if not number:
        return []
    return [{"id": derived_id("phone", *owner), "number": number}]


def _service_areas(service: Service) -> list[JsonObject]:
    places = list(service.places.all())
    if not places:
        system = service.organisation.system
        return [
            {
                "id": derived_id("service_area", service.hsds_id, "system"),
                "service_id": str(service.hsds_id),
                "name": system.name,
                "description": f"The whole of {system.name}.",
            }
        ]
    return [
        {
            # By primary key, so a renamed place keeps its area's id.
            "id": derived_id("service_area", service.hsds_id, place.pk),
            "service_id": str(service.hsds_id),
            "name": place.name,
        }
        for place in places
    ]


def _need_attribute(service: Service, *, code: str, need: Need | None) -> JsonObject:
    term_id = str(need_term_id(code))
    return {
        "id": derived_id("attribute", service.hsds_id, code),
        "link_id": str(service.hsds_id),
        "link_entity": "service",
        "taxonomy_term_id": term_id,
        "taxonomy_term": {
            "id": term_id,
            "code": code,
            # A code dropped from the table since keeps its code as its name rather than vanish.
            "name": need.label if need else code,
            "description": need.get_group_display() if need else "",
            "taxonomy": NEEDS_VOCABULARY,
            "taxonomy_id": str(NEEDS_TAXONOMY_ID),
            "taxonomy_detail": {
                "id": str(NEEDS_TAXONOMY_ID),
                "name": NEEDS_VOCABULARY,
                "description": "The needs and activities VSO Care says a service meets.",
            },
        },
    }
