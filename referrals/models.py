from datetime import timedelta

import pghistory
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.db.models import F, Q

from commissioning.codes import Urgency
from commissioning.models import (
    Organisation,
    Place,
    Sector,
    Service,
    ServiceSpecification,
    System,
)
from commissioning.remit import RemitClause
from core.models import AuditedModel


class ReferralSource(models.TextChoices):
    GP = "gp", "GP"
    MDT_HUB = "mdt_hub", "MDT hub"
    ICC = "icc", "Integrated care coordinator"
    SOCIAL_PRESCRIBER = "social_prescriber", "Social prescriber"
    VOLUNTARY_SECTOR = "voluntary_sector", "Voluntary sector"
    SELF_OR_FAMILY = "self_or_family", "Self or family"
    SOCIAL_CARE = "social_care", "Social care"
    PARAMEDIC = "paramedic", "Paramedic"
    RESIDENTIAL_HOME = "residential_home", "Residential home"
    OTHER = "other", "Other"


class ReferralStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    IN_PROGRESS = "in_progress", "In progress"
    CLOSED = "closed", "Closed"
    WITHDRAWN = "withdrawn", "Withdrawn"


# Still someone's to act on: the patient has not been seen to the end.
OPEN_STATUSES = (ReferralStatus.RECEIVED, ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS)
# A declined or withdrawn referral took none of the service's commissioned capacity.
CAPACITY_STATUSES = (*OPEN_STATUSES, ReferralStatus.CLOSED)


@pghistory.track()
class Patient(AuditedModel):
    # Validated (10 digits, modulus 11) by the forms and imports; the database holds the shape.
    nhs_number = models.CharField("NHS number", max_length=10, unique=True)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    postcode = models.CharField(max_length=8)
    lives_alone = models.BooleanField(default=False)
    is_carer = models.BooleanField("is a carer", default=False)
    is_cared_for = models.BooleanField("is cared for", default=False)
    consent_to_share = models.BooleanField(default=False)
    consent_recorded_on = models.DateField(null=True, blank=True)
    consent_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["family_name", "given_name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(nhs_number__regex=r"^[0-9]{10}$"), name="patient_nhs_number_ten_digits"
            ),
            # Consent to share is only worth anything if we know when it was given.
            models.CheckConstraint(
                condition=Q(consent_to_share=False) | Q(consent_recorded_on__isnull=False),
                name="patient_consent_has_a_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def nhs_number_display(self) -> str:
        """As NHS staff read it aloud: 999 123 4567."""
        return f"{self.nhs_number[:3]} {self.nhs_number[3:6]} {self.nhs_number[6:]}"


def code_array() -> ArrayField:
    return ArrayField(models.CharField(max_length=50), default=list, blank=True)


@pghistory.track()
class Referral(AuditedModel):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="referrals")
    referrer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="referrals_made"
    )
    # The referrer's team at the time: reports count by it, and a person may move teams.
    referrer_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="referrals_made"
    )
    place = models.ForeignKey(
        Place, null=True, blank=True, on_delete=models.PROTECT, related_name="referrals"
    )
    source = models.CharField(max_length=20, choices=ReferralSource.choices)
    destination_sector = models.CharField(max_length=20, choices=Sector.choices)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="referrals_received"
    )
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.PROTECT, related_name="referrals"
    )
    needs = code_array()
    activities = code_array()
    urgency = models.CharField(max_length=10, choices=Urgency.choices)
    reason = models.TextField(blank=True)

    status = models.CharField(
        max_length=12, choices=ReferralStatus.choices, default=ReferralStatus.RECEIVED
    )
    referred_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decline_reason = models.TextField(blank=True)
    first_contact_at = models.DateTimeField(null=True, blank=True)
    first_contact_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.TextField(blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawal_reason = models.TextField(blank=True)

    # When a statutory service declined or disputed the need first ("not health, it's social
    # care"): the gap the voluntary sector is being asked to bridge.
    statutory_declined_by = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="declined_first",
    )
    statutory_decline_reason = models.TextField(blank=True)
    interim_cover_for = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="interim_cover"
    )

    out_of_remit = models.BooleanField(default=False)
    remit_reasons = models.JSONField(default=list, blank=True)
    override_reason = models.TextField(blank=True)

    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    # Bumped on every change; a save that names an older version is refused, so two people
    # changing one referral at once cannot overwrite each other.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-referred_at"]
        indexes = [
            # Reports scan by date range over millions of append-mostly rows.
            BrinIndex(fields=["referred_at"], name="referral_referred_at_brin"),
            models.Index(fields=["service", "referred_at"], name="referral_service_date"),
            models.Index(fields=["organisation", "status"], name="referral_org_status"),
            models.Index(
                fields=["referrer_organisation", "referred_at"], name="referral_team_date"
            ),
            models.Index(fields=["patient", "status"], name="referral_patient_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ReferralStatus.values), name="referral_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(urgency__in=Urgency.values), name="referral_urgency_valid"
            ),
            models.CheckConstraint(
                condition=Q(source__in=ReferralSource.values), name="referral_source_valid"
            ),
            models.CheckConstraint(
                condition=Q(destination_sector__in=Sector.values), name="referral_sector_valid"
            ),
            models.CheckConstraint(
                condition=~Q(destination_sector=Sector.VOLUNTARY) | Q(service__isnull=False),
                name="referral_voluntary_needs_service",
            ),
            models.CheckConstraint(
                condition=Q(interim_cover_for__isnull=True)
                | Q(destination_sector=Sector.VOLUNTARY),
                name="referral_only_voluntary_covers",
            ),
            # An out-of-remit referral is only sent with a written reason, which reports show.
            models.CheckConstraint(
                condition=Q(out_of_remit=False) | ~Q(override_reason=""),
                name="referral_override_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status=ReferralStatus.DECLINED) | ~Q(decline_reason=""),
                name="referral_decline_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(first_contact_at__isnull=True)
                | Q(first_contact_at__gte=F("referred_at")),
                name="referral_contact_after_referral",
            ),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | Q(closed_at__gte=F("referred_at")),
                name="referral_closed_after_referral",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        """Short enough to read down the phone: R-000123."""
        return f"R-{self.pk:06d}" if self.pk else "R-new"

    @staticmethod
    def pk_from_reference(reference: str) -> int | None:
        text = reference.strip().upper().removeprefix("R-").removeprefix("R")
        return int(text) if text.isdigit() else None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


# Deletes too: a mark taken back is still evidence of what was said, and when.
@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class RemitLimitMark(AuditedModel):
    """A VSO's record that a referral is "at the limit of our remit", quoting the clause of the
    specification in force for it. The referrer sees it and the reports count it; taking a mark
    back deletes the row, and the history table keeps what it said."""

    referral = models.OneToOneField(Referral, on_delete=models.PROTECT, related_name="remit_mark")
    specification = models.ForeignKey(
        ServiceSpecification, on_delete=models.PROTECT, related_name="remit_marks"
    )
    clause = models.CharField(max_length=20, choices=RemitClause.choices)
    # The words as they stood when quoted, so the mark reads the same whatever comes later.
    clause_text = models.TextField()
    note = models.TextField(blank=True)
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    marked_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(clause__in=RemitClause.values), name="remit_mark_clause_valid"
            ),
            models.CheckConstraint(
                condition=~Q(clause_text=""), name="remit_mark_quotes_the_clause"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.referral}: at the limit ({self.get_clause_display()})"


class ConcernSeverity(models.TextChoices):
    LOW = "low", "Low"
    MODERATE = "moderate", "Moderate"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


# How long the organisation a concern is addressed to has to acknowledge it. The deadline is
# stored on each concern when raised, so changing these never moves an old deadline.
ACKNOWLEDGE_WITHIN: dict[str, timedelta] = {
    ConcernSeverity.LOW: timedelta(days=5),
    ConcernSeverity.MODERATE: timedelta(days=2),
    ConcernSeverity.HIGH: timedelta(days=1),
    ConcernSeverity.CRITICAL: timedelta(hours=4),
}


@pghistory.track()
class Concern(AuditedModel):
    """Raised by a VSO on a referral ("she has waited 19 days for the social-care visit"),
    addressed to an organisation, which must acknowledge it by the deadline."""

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="concerns")
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="concerns_raised"
    )
    raised_by_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="concerns_raised"
    )
    addressed_to = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="concerns_received"
    )
    severity = models.CharField(max_length=10, choices=ConcernSeverity.choices)
    description = models.TextField()
    raised_at = models.DateTimeField()
    acknowledge_by = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolution = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-raised_at"]
        indexes = [
            models.Index(fields=["referral"], name="concern_referral"),
            # The dashboards and the lists ask "what is still open, and for whom".
            models.Index(
                fields=["addressed_to", "acknowledge_by"],
                condition=Q(resolved_at__isnull=True),
                name="concern_open_by_addressee",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(severity__in=ConcernSeverity.values), name="concern_severity_valid"
            ),
            models.CheckConstraint(condition=~Q(description=""), name="concern_has_description"),
            models.CheckConstraint(
                condition=Q(acknowledge_by__gt=F("raised_at")), name="concern_deadline_after_raised"
            ),
            models.CheckConstraint(
                condition=Q(acknowledged_at__isnull=True, acknowledged_by__isnull=True)
                | Q(acknowledged_at__isnull=False, acknowledged_by__isnull=False),
                name="concern_acknowledged_by_someone",
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True, resolution="")
                | Q(resolved_at__isnull=False, resolved_by__isnull=False) & ~Q(resolution=""),
                name="concern_resolution_written",
            ),
        ]

    def __str__(self) -> str:
        return f"Concern on {self.referral} ({self.get_severity_display()})"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class ReportKind(models.TextChoices):
    REFERRAL_SPLIT = "referral_split", "Referral split"
    REMIT_BREACHES = "remit_breaches", "Remit breaches"
    SERVICE_ACTIVITY = "service_activity", "Service activity"


class ReportSnapshot(models.Model):
    """One computed report for one system and period; computing it again replaces it."""

    # Each integrated care system's reports are its own: its commissioners see no other's.
    system = models.ForeignKey(System, on_delete=models.CASCADE, related_name="report_snapshots")
    kind = models.CharField(max_length=20, choices=ReportKind.choices)
    date_from = models.DateField()
    date_to = models.DateField()
    generated_at = models.DateTimeField()
    # The report without its lists of referral ids; `referral_ids` holds those lists, row by
    # row (see referrals.reports.snapshots). A year of breaches in a large system is megabytes
    # of ids, which only the drill-downs and downloads need, so the dashboard never reads them.
    data = models.JSONField()
    referral_ids = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["kind", "-date_to", "date_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["system", "kind", "date_from", "date_to"],
                name="report_snapshot_one_per_system_and_period",
            ),
            models.CheckConstraint(
                condition=Q(date_to__gte=F("date_from")), name="report_snapshot_period_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.date_from} to {self.date_to}"


class ReportRun(models.Model):
    """Each attempt at a nightly report, so a failure shows on the dashboard, not only in logs."""

    class Outcome(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    system = models.ForeignKey(System, on_delete=models.CASCADE, related_name="report_runs")
    kind = models.CharField(max_length=20, choices=ReportKind.choices)
    date_from = models.DateField()
    date_to = models.DateField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.RUNNING)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["kind", "-started_at"], name="report_run_kind_started")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.date_from} to {self.date_to}: {self.outcome}"
