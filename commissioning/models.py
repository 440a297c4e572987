from django.db import models
from django.db.models.functions import Lower

from vsocare.models import AuditedModel


class Sector(models.TextChoices):
    HEALTH = "health", "Health"
    SOCIAL_CARE = "social_care", "Social care"
    VOLUNTARY = "voluntary", "Voluntary sector"


class VsoKind(models.TextChoices):
    REGISTERED_CHARITY = "registered_charity", "Registered charity"
    COMMUNITY_GROUP = "community_group", "Community group"
    HYPER_LOCAL_GROUP = "hyper_local_group", "Hyper-local group"
    PARISH_COUNCIL = "parish_council", "Parish council"
    SOCIAL_ENTERPRISE = "social_enterprise", "Social enterprise"


class System(models.Model):
    """An integrated care system (ICS): the widest area a commissioner looks across."""

    name = models.CharField(max_length=200, unique=True)

    def __str__(self) -> str:
        return self.name


class Place(models.Model):
    """A place-based partnership within a system, usually a borough or district."""

    system = models.ForeignKey(System, on_delete=models.PROTECT, related_name="places")
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["system", "name"], name="place_unique_name_in_system")
        ]

    def __str__(self) -> str:
        return self.name


class Neighbourhood(models.Model):
    """A primary care network's footprint within a place."""

    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="neighbourhoods")
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["place", "name"], name="neighbourhood_unique_name_in_place"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Organisation(AuditedModel):
    system = models.ForeignKey(System, on_delete=models.PROTECT, related_name="organisations")
    # Blank for organisations that work across the whole system, such as an acute trust.
    place = models.ForeignKey(
        Place, null=True, blank=True, on_delete=models.PROTECT, related_name="organisations"
    )
    name = models.CharField(max_length=200)
    sector = models.CharField(max_length=20, choices=Sector.choices)
    kind = models.CharField(
        max_length=30,
        choices=VsoKind.choices,
        blank=True,
        help_text="Voluntary sector organisations only.",
    )
    charity_number = models.CharField(max_length=20, blank=True)
    active = models.BooleanField(default=True)
    last_verified_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"), "system", name="organisation_unique_name_in_system"
            ),
            models.CheckConstraint(
                condition=models.Q(sector__in=Sector.values), name="organisation_sector_valid"
            ),
            # A kind describes a voluntary organisation; a trust or council has none.
            models.CheckConstraint(
                condition=models.Q(sector=Sector.VOLUNTARY, kind__in=VsoKind.values)
                | (~models.Q(sector=Sector.VOLUNTARY) & models.Q(kind="")),
                name="organisation_kind_only_for_voluntary",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_voluntary(self) -> bool:
        return self.sector == Sector.VOLUNTARY
