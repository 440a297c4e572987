from django.db.models import Count, Q, QuerySet

from commissioning.models import Organisation, Place, Sector


def organisations_visible_to(user) -> QuerySet[Organisation]:
    """Every signed-in role may look organisations up: the directory holds no patient data."""
    if not user.is_authenticated:
        return Organisation.objects.none()
    return Organisation.objects.select_related("place").order_by("name")


def _active_in(sector: str, prefix: str = "") -> Count:
    return Count(
        f"{prefix}id",
        filter=Q(**{f"{prefix}sector": sector, f"{prefix}active": True}),
    )


def organisation_counts_by_place() -> list[dict]:
    """Active organisations per place and sector, with a row for system-wide organisations."""
    rows = list(
        Place.objects.order_by("name")
        .annotate(
            health=_active_in(Sector.HEALTH, "organisations__"),
            social_care=_active_in(Sector.SOCIAL_CARE, "organisations__"),
            voluntary=_active_in(Sector.VOLUNTARY, "organisations__"),
        )
        .values("name", "health", "social_care", "voluntary")
    )
    system_wide = Organisation.objects.filter(place__isnull=True).aggregate(
        health=_active_in(Sector.HEALTH),
        social_care=_active_in(Sector.SOCIAL_CARE),
        voluntary=_active_in(Sector.VOLUNTARY),
    )
    rows.append({"name": "System-wide", **system_wide})
    return rows
