import uuid

import pghistory
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from commissioning.codes import NeedGroup, ServiceStatus, SpecificationStatus, Urgency
from commissioning.instruments import STAR_VERSION_CHOICES
from core.models import AuditedModel


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


def code_array(**kwargs) -> ArrayField:
    return ArrayField(models.CharField(max_length=50), default=list, blank=True, **kwargs)


class Need(models.Model):
    """A need or activity code (docs/domain.md#code-lists); administrators may add more."""

    code = models.SlugField(max_length=50, primary_key=True)
    label = models.CharField(max_length=100)
    group = models.CharField(max_length=30, choices=NeedGroup.choices)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.label


class OutcomeMeasure(models.Model):
    code = models.SlugField(max_length=50, primary_key=True)
    label = models.CharField(max_length=150)
    scoring = models.CharField(max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.label


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


# Every change to these four is kept with who made it (pghistory.middleware), and shown on the
# record's page: a lapsed DBS check or a remit changed after a referral must be traceable.
@pghistory.track()
class Organisation(AuditedModel):
    # The id it is published and imported under in Open Referral (HSDS) data.
    hsds_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    system = models.ForeignKey(System, on_delete=models.PROTECT, related_name="organisations")
    # Blank for organisations that work across the whole system, such as an acute trust.
    place = models.ForeignKey(
        Place, null=True, blank=True, on_delete=models.PROTECT, related_name="organisations"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    sector = models.CharField(max_length=20, choices=Sector.choices)
    kind = models.CharField(
        max_length=30,
        choices=VsoKind.choices,
        blank=True,
        help_text="Voluntary sector organisations only.",
    )
    charity_number = models.CharField(max_length=20, blank=True)
    website = models.URLField(blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=30, blank=True)
    safeguarding_lead = models.CharField(max_length=150, blank=True)
    dbs_checks_expire_on = models.DateField("DBS checks valid until", null=True, blank=True)
    insurance_expires_on = models.DateField("insurance valid until", null=True, blank=True)
    safeguarding_policy_review_on = models.DateField(
        "safeguarding policy review due", null=True, blank=True
    )
    active = models.BooleanField(default=True)
    last_verified_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"), "system", name="organisation_unique_name_in_system"
            ),
            models.CheckConstraint(
                condition=Q(sector__in=Sector.values), name="organisation_sector_valid"
            ),
            # A kind describes a voluntary organisation; a trust or council has none.
            models.CheckConstraint(
                condition=Q(sector=Sector.VOLUNTARY, kind__in=VsoKind.values)
                | (~Q(sector=Sector.VOLUNTARY) & Q(kind="")),
                name="organisation_kind_only_for_voluntary",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_voluntary(self) -> bool:
        return self.sector == Sector.VOLUNTARY


@pghistory.track()
class Service(AuditedModel):
    hsds_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="services"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    needs = code_array(help_text="Need codes this service meets.")
    places = models.ManyToManyField(Place, blank=True, related_name="services")
    eligibility = models.TextField(blank=True)
    min_age = models.PositiveSmallIntegerField(null=True, blank=True)
    max_age = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=ServiceStatus.choices, default=ServiceStatus.ACTIVE
    )
    url = models.URLField(blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=30, blank=True)
    last_verified_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        indexes = [GinIndex(fields=["needs"], name="service_needs_gin")]
        constraints = [
            models.UniqueConstraint(
                Lower("name"), "organisation", name="service_unique_name_in_organisation"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ServiceStatus.values), name="service_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(min_age__isnull=True)
                | Q(max_age__isnull=True)
                | Q(max_age__gte=F("min_age")),
                name="service_max_age_not_below_min_age",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.organisation.name})"


@pghistory.track()
class CommissioningFramework(AuditedModel):
    system = models.ForeignKey(System, on_delete=models.PROTECT, related_name="frameworks")
    name = models.CharField(max_length=200)
    objectives = models.TextField()
    outcome_measures = code_array(help_text="Outcome measures every VSO under it must report.")
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_on", "name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"), "system", name="framework_unique_name_in_system"
            ),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="framework_ends_after_it_starts",
            ),
        ]

    def __str__(self) -> str:
        return self.name


# The content of a specification version: what is copied to a new version, compared between
# versions, and carried in specification files.
SPECIFICATION_FIELDS = (
    "framework",
    "eligibility",
    "not_eligible_for_social_care",
    "min_age",
    "max_age",
    "activities_in_remit",
    "activities_excluded",
    "max_urgency",
    "monthly_capacity",
    "max_episode_weeks",
    "response_target_hours",
    "max_interim_cover_days",
    "outcome_measures",
    "outcomes_star_version",
    "funding_gbp",
    "starts_on",
    "ends_on",
)


@pghistory.track()
class ServiceSpecification(AuditedModel):
    """One version of what a voluntary service is commissioned to do.

    Versions are never edited once published: a change is a new version, so a referral or a
    nightly report can always be judged against the words in force at the time.
    """

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="specifications")
    framework = models.ForeignKey(
        CommissioningFramework, on_delete=models.PROTECT, related_name="specifications"
    )
    version = models.PositiveIntegerField()
    status = models.CharField(
        max_length=10, choices=SpecificationStatus.choices, default=SpecificationStatus.DRAFT
    )
    eligibility = models.TextField(blank=True)
    not_eligible_for_social_care = models.BooleanField(
        "only people not eligible for social care", default=False
    )
    min_age = models.PositiveSmallIntegerField("minimum age", null=True, blank=True)
    max_age = models.PositiveSmallIntegerField("maximum age", null=True, blank=True)
    activities_in_remit = code_array()
    activities_excluded = code_array()
    max_urgency = models.CharField(
        "highest urgency accepted", max_length=10, choices=Urgency.choices
    )
    monthly_capacity = models.PositiveIntegerField(
        null=True, blank=True, help_text="Referrals a month; blank for no set limit."
    )
    max_episode_weeks = models.PositiveSmallIntegerField(
        "longest episode (weeks)", null=True, blank=True
    )
    response_target_hours = models.PositiveIntegerField(
        "first contact within (hours)", null=True, blank=True
    )
    max_interim_cover_days = models.PositiveSmallIntegerField(
        "longest interim cover for a waiting statutory referral (days)", null=True, blank=True
    )
    outcome_measures = code_array()
    outcomes_star_version = models.CharField(
        "Outcomes Star version",
        max_length=30,
        choices=STAR_VERSION_CHOICES,
        blank=True,
        help_text="Needed when the Outcomes Star is one of the measures.",
    )
    funding_gbp = models.DecimalField(
        "funding (£)", max_digits=12, decimal_places=2, null=True, blank=True
    )
    starts_on = models.DateField("contract starts")
    ends_on = models.DateField("contract ends", null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["service", "-version"]
        indexes = [models.Index(fields=["service", "status"], name="spec_service_status")]
        constraints = [
            models.UniqueConstraint(fields=["service", "version"], name="spec_unique_version"),
            # The rule every referral and report leans on: one active version per service.
            models.UniqueConstraint(
                fields=["service"],
                condition=Q(status=SpecificationStatus.ACTIVE),
                name="spec_one_active_per_service",
            ),
            models.CheckConstraint(
                condition=Q(status__in=SpecificationStatus.values), name="spec_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(max_urgency__in=Urgency.values), name="spec_max_urgency_valid"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="spec_version_positive"),
            models.CheckConstraint(
                condition=Q(outcomes_star_version="")
                | Q(outcomes_star_version__in=[code for code, _ in STAR_VERSION_CHOICES]),
                name="spec_star_version_valid",
            ),
            models.CheckConstraint(
                condition=Q(min_age__isnull=True)
                | Q(max_age__isnull=True)
                | Q(max_age__gte=F("min_age")),
                name="spec_max_age_not_below_min_age",
            ),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="spec_ends_after_it_starts",
            ),
            models.CheckConstraint(
                condition=~Q(activities_in_remit__overlap=F("activities_excluded")),
                name="spec_activity_not_both_in_remit_and_excluded",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service.name} v{self.version} ({self.get_status_display()})"

    @property
    def is_draft(self) -> bool:
        return self.status == SpecificationStatus.DRAFT
