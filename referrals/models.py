import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Coalesce, Collate, Upper
from django.utils import timezone

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
from core.pagination import EPOCH


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


def name_key(field: str) -> Collate:
    """A name as the patient search matches and orders it: in capitals, compared byte by byte
    ("C"), so that one index holds both a prefix typed in any case (a range of it) and the
    pick list's order, whatever the database's own collation (referrals.selectors)."""
    return Collate(Upper(field), "C")


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

    class Meta:
        ordering = ["family_name", "given_name"]
        indexes = [
            # The patient search: a family name typed is a range of this index, read in the
            # pick list's order; a given name typed is a range of the second. The names
            # themselves are included, so that the words typed after the first are checked
            # in the index, without reading each patient's row.
            models.Index(
                name_key("family_name"),
                name_key("given_name"),
                F("id"),
                name="patient_name_key",
                include=["family_name", "given_name"],
            ),
            models.Index(
                name_key("given_name"),
                name="patient_given_name_key",
                include=["family_name", "given_name"],
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(nhs_number__regex=r"^[0-9]{10}$"), name="patient_nhs_number_ten_digits"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def nhs_number_display(self) -> str:
        """As NHS staff read it aloud: 999 123 4567."""
        return f"{self.nhs_number[:3]} {self.nhs_number[3:6]} {self.nhs_number[6:]}"


class ConsentDecision(models.TextChoices):
    GIVEN = "given", "Consent given"
    WITHDRAWN = "withdrawn", "Consent withdrawn"


class ConsentMethod(models.TextChoices):
    IN_PERSON = "in_person", "Said in person"
    PHONE = "phone", "Said by phone or video"
    WRITTEN = "written", "In writing"
    # Someone with lasting power of attorney for health and welfare, or a court-appointed deputy,
    # decides for a patient who lacks the capacity to.
    REPRESENTATIVE = "representative", "By an attorney or deputy for the patient"
    # Only for consent carried over from before VSO Care recorded how it was given.
    NOT_RECORDED = "not_recorded", "Not recorded"


@pgtrigger.register(
    # A decision recorded is evidence of what the patient said: a change is a new decision.
    pgtrigger.Protect(name="consent_no_update", operation=pgtrigger.Update),
    pgtrigger.Protect(name="consent_no_delete", operation=pgtrigger.Delete),
)
class Consent(models.Model):
    """One decision by a patient about sharing their details with the organisations they are
    referred to: given or withdrawn, when, how, and who recorded it. Never changed: a new
    decision is a new row, and the latest decision is the one in force (consent_in_force)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consents")
    decision = models.CharField(max_length=10, choices=ConsentDecision.choices)
    method = models.CharField("how", max_length=16, choices=ConsentMethod.choices)
    decided_on = models.DateField("on")
    note = models.TextField(blank=True)
    # Empty only for consent carried over from before VSO Care kept these records.
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_by_organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-decided_on", "-recorded_at", "-pk"]
        indexes = [
            models.Index(
                fields=["patient", "-decided_on", "-recorded_at"], name="consent_patient_latest"
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(decision__in=ConsentDecision.values), name="consent_decision_valid"
            ),
            models.CheckConstraint(
                condition=Q(method__in=ConsentMethod.values), name="consent_method_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} on {self.decided_on:%d %b %Y}"


class LawfulBasis(models.TextChoices):
    """Why a referral may share the patient's details with the organisation it goes to. A
    voluntary organisation needs one; health and social care receive for direct care."""

    CONSENT = "consent", "The patient's consent"
    SAFEGUARDING = "safeguarding", "Safeguarding an adult at risk"
    VITAL_INTERESTS = "vital_interests", "Vital interests: a risk to life or of serious harm"
    BEST_INTERESTS = "best_interests", "Best interests of a patient who lacks capacity"
    # Referrals made before VSO Care recorded a basis; never chosen for a new referral.
    NOT_RECORDED = "not_recorded", "Not recorded"


# What a person may choose: NOT_RECORDED marks only what was carried over from before.
CHOSEN_METHODS = [(v, label) for v, label in ConsentMethod.choices if v != "not_recorded"]
CHOSEN_BASES = [(v, label) for v, label in LawfulBasis.choices if v != "not_recorded"]

# The bases that share without consent, each to be explained in writing.
BASES_WITHOUT_CONSENT = (
    LawfulBasis.SAFEGUARDING,
    LawfulBasis.VITAL_INTERESTS,
    LawfulBasis.BEST_INTERESTS,
)


def code_array() -> ArrayField:
    return ArrayField(models.CharField(max_length=50), default=list, blank=True)


@pghistory.track()
class Referral(AuditedModel):
    # db_index=False on a foreign key whose column leads a composite index below, which serves
    # every query and foreign key check the single one would; the single one cost every write
    # (migration 0016, bench/RESULTS.md).
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="referrals", db_index=False
    )
    referrer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="referrals_made",
        db_index=False,
    )
    # The referrer's team at the time: reports count by it, and a person may move teams.
    referrer_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="referrals_made", db_index=False
    )
    place = models.ForeignKey(
        Place, null=True, blank=True, on_delete=models.PROTECT, related_name="referrals"
    )
    source = models.CharField(max_length=20, choices=ReferralSource.choices)
    destination_sector = models.CharField(max_length=20, choices=Sector.choices)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="referrals_received", db_index=False
    )
    service = models.ForeignKey(
        Service,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referrals",
        db_index=False,
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

    lawful_basis = models.CharField(max_length=16, choices=LawfulBasis.choices, blank=True)
    lawful_basis_reason = models.TextField("why without consent", blank=True)

    out_of_remit = models.BooleanField(default=False)
    remit_reasons = models.JSONField(default=list, blank=True)
    override_reason = models.TextField(blank=True)

    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    # The intake form's one-time token: the same form sent twice (a double click, two tabs, Back
    # and Send again) makes one referral, however close together, because the database refuses
    # a second with the same referrer and token.
    submission = models.UUIDField(null=True, blank=True, editable=False)
    # Set once, by the escalation pass, when a wait on health or social care passed its
    # urgency's limit without first contact (referrals/services_escalation.py); never cleared,
    # so nobody is told twice. Not a change anyone made: it does not bump the version.
    wait_escalated_at = models.DateTimeField(null=True, blank=True)
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
            # Each role's list, newest first, read a page at a time (core.pagination): the
            # referrer's own (and referral_team_date, their team's), the organisation's, and
            # the commissioner's whole system.
            models.Index(fields=["referrer", "referred_at"], name="referral_referrer_date"),
            models.Index(fields=["organisation", "referred_at"], name="referral_org_date"),
            models.Index(fields=["referred_at", "id"], name="referral_date_id"),
            # The waiting list, longest wait first: only the open waits on statutory services,
            # so the closed ones that make up most of the oldest rows are never read. Each
            # carries the id and the organisation (whose system the list checks), so that the
            # list's count up to its bound reads the index alone, not a table block per wait.
            models.Index(
                fields=["referrer_organisation", "referred_at"],
                include=["organisation", "id"],
                condition=Q(status__in=OPEN_STATUSES) & ~Q(destination_sector=Sector.VOLUNTARY),
                name="referral_waiting_by_team",
            ),
            models.Index(
                fields=["referrer", "referred_at"],
                include=["organisation", "id"],
                condition=Q(status__in=OPEN_STATUSES) & ~Q(destination_sector=Sector.VOLUNTARY),
                name="referral_waiting_by_referrer",
            ),
            models.Index(
                fields=["referred_at", "id"],
                condition=Q(status__in=OPEN_STATUSES) & ~Q(destination_sector=Sector.VOLUNTARY),
                name="referral_system_waiting",
            ),
            # The escalation pass, every five minutes: only the statutory waits not yet
            # contacted or escalated are indexed.
            models.Index(
                fields=["referred_at"],
                condition=Q(
                    wait_escalated_at__isnull=True,
                    first_contact_at__isnull=True,
                    status__in=OPEN_STATUSES,
                )
                & ~Q(destination_sector=Sector.VOLUNTARY),
                name="referral_wait_unescalated",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["referrer", "submission"],
                condition=Q(submission__isnull=False),
                name="referral_one_per_submission",
            ),
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
            models.CheckConstraint(
                condition=Q(lawful_basis="") | Q(lawful_basis__in=LawfulBasis.values),
                name="referral_lawful_basis_valid",
            ),
            # Sharing with a voluntary organisation rests on consent or on a recorded reason.
            models.CheckConstraint(
                condition=~Q(destination_sector=Sector.VOLUNTARY) | ~Q(lawful_basis=""),
                name="referral_voluntary_has_lawful_basis",
            ),
            models.CheckConstraint(
                condition=~Q(lawful_basis__in=BASES_WITHOUT_CONSENT) | ~Q(lawful_basis_reason=""),
                name="referral_basis_without_consent_explained",
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
            models.CheckConstraint(
                condition=Q(wait_escalated_at__isnull=True)
                | Q(wait_escalated_at__gt=F("referred_at")),
                name="referral_wait_escalated_after_referral",
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


class DeadlineUnit(models.TextChoices):
    WORKING_DAYS = "working_days", "working days"
    HOURS = "hours", "hours"


class ConcernDeadline(AuditedModel):
    """How long the organisation a concern is addressed to has to acknowledge it, per system and
    severity, as its administrator set it. A severity with no row has the default
    (referrals/deadlines.py). The unit is the severity's, not stored: low and moderate count
    working days, high and critical clock hours."""

    system = models.ForeignKey(System, on_delete=models.CASCADE, related_name="concern_deadlines")
    severity = models.CharField(max_length=10, choices=ConcernSeverity.choices)
    amount = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["system", "severity"]
        constraints = [
            models.UniqueConstraint(
                fields=["system", "severity"], name="concern_deadline_one_per_severity"
            ),
            models.CheckConstraint(
                condition=Q(severity__in=ConcernSeverity.values),
                name="concern_deadline_severity_valid",
            ),
            models.CheckConstraint(condition=Q(amount__gte=1), name="concern_deadline_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.get_severity_display()}: {self.amount}"


def concern_stage() -> Case:
    """Where a concern stands in the concern list: 0 still unacknowledged, 1 acknowledged and
    open, 2 resolved."""
    return Case(
        When(resolved_at__isnull=False, then=Value(2)),
        When(acknowledged_at__isnull=False, then=Value(1)),
        default=Value(0),
    )


def concern_resolved_key() -> Coalesce:
    """When a concern was resolved, for the list's latest-resolved-first; one constant for the
    open ones, which the stage has already ordered. Without NULLs every key of the list is
    compared alike, in its index and in a page's cursor (core.pagination)."""
    return Coalesce("resolved_at", Value(EPOCH))


# The copies of the referral's parties on a concern (below): kept by the database, not in its
# history, which the referral's own history already holds.
CONCERN_REFERRAL_PARTIES = (
    "referral_organisation",
    "referral_referrer",
    "referral_referrer_organisation",
)


def _concern_list_order() -> tuple:
    return (concern_stage(), concern_resolved_key().desc(), F("acknowledge_by"), F("id"))


@pgtrigger.register(
    # On every write, whoever writes (a service, a factory, the bench's bulk SQL): the copies
    # cannot drift from the referral, and no caller need remember them.
    pgtrigger.Trigger(
        name="concern_copies_referral_parties",
        when=pgtrigger.Before,
        operation=pgtrigger.Insert | pgtrigger.Update,
        func="""
            SELECT organisation_id, referrer_id, referrer_organisation_id
            INTO NEW.referral_organisation_id, NEW.referral_referrer_id,
                NEW.referral_referrer_organisation_id
            FROM referrals_referral WHERE id = NEW.referral_id;
            RETURN NEW;
        """,
    )
)
@pghistory.track(exclude=list(CONCERN_REFERRAL_PARTIES))
class Concern(AuditedModel):
    """Raised by a VSO on a referral ("she has waited 19 days for the social-care visit"),
    addressed to an organisation, which must acknowledge it by the deadline."""

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="concerns")
    # The referral's organisation, referrer and referrer's team, which never change once it is
    # made, copied by the database (concern_copies_referral_parties) and never set by hand:
    # who may see a concern is then a range of one of the concern's own indexes, however few
    # of a large system's concerns are theirs, rather than a walk through the concerns that
    # reads each one's referral (selectors_concerns._visible_halves).
    referral_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", editable=False, db_index=False
    )
    referral_referrer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        db_index=False,
    )
    referral_referrer_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", editable=False, db_index=False
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="concerns_raised"
    )
    raised_by_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="concerns_raised"
    )
    # Indexed by concern_list_by_addressee, which leads with it.
    addressed_to = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="concerns_received", db_index=False
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
    # Set once, by the escalation pass, when the deadline passed unacknowledged
    # (referrals/services_escalation.py); never cleared, so nobody is told twice.
    escalated_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-raised_at"]
        indexes = [
            models.Index(fields=["referral"], name="concern_referral"),
            # The concern list's order, read a page at a time (referrals.selectors_concerns);
            # then the same order within each half of who sees a concern (_visible_halves).
            models.Index(*_concern_list_order(), name="concern_list_order"),
            models.Index("addressed_to", *_concern_list_order(), name="concern_list_by_addressee"),
            models.Index(
                "referral_organisation", *_concern_list_order(), name="concern_list_by_organisation"
            ),
            models.Index(
                "referral_referrer", *_concern_list_order(), name="concern_list_by_referrer"
            ),
            models.Index(
                "referral_referrer_organisation",
                *_concern_list_order(),
                name="concern_list_by_team",
            ),
            # The dashboards and the lists ask "what is still open, and for whom".
            models.Index(
                fields=["addressed_to", "acknowledge_by"],
                condition=Q(resolved_at__isnull=True),
                name="concern_open_by_addressee",
            ),
            # The escalation pass, every five minutes: only the few still waiting are indexed.
            models.Index(
                fields=["acknowledge_by"],
                condition=Q(
                    escalated_at__isnull=True,
                    acknowledged_at__isnull=True,
                    resolved_at__isnull=True,
                ),
                name="concern_awaiting_escalation",
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
            models.CheckConstraint(
                condition=Q(escalated_at__isnull=True) | Q(escalated_at__gte=F("acknowledge_by")),
                name="concern_escalated_after_deadline",
            ),
        ]

    def __str__(self) -> str:
        return f"Concern on {self.referral} ({self.get_severity_display()})"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


@pgtrigger.register(
    # What each side said is evidence of who knew what, and when: never changed or taken back.
    pgtrigger.Protect(name="concern_reply_no_update", operation=pgtrigger.Update),
    pgtrigger.Protect(name="concern_reply_no_delete", operation=pgtrigger.Delete),
)
class ConcernReply(models.Model):
    """A message on a concern between the organisation that raised it and the one it is
    addressed to, before it is resolved: "the visit is booked for Thursday"."""

    concern = models.ForeignKey(Concern, on_delete=models.PROTECT, related_name="replies")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    author_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+"
    )
    text = models.TextField()
    written_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["written_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="concern_reply_has_text"),
        ]

    def __str__(self) -> str:
        return f"Reply on concern {self.concern_id} by {self.author_id}"


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
    # One place's figures, computed when a commissioner asked for them; the nights compute the
    # whole system (no place).
    place = models.ForeignKey(
        Place, null=True, blank=True, on_delete=models.CASCADE, related_name="report_snapshots"
    )
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
                fields=["system", "kind", "date_from", "date_to", "place"],
                name="report_snapshot_one_per_period_and_place",
                nulls_distinct=False,
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
    place = models.ForeignKey(
        Place, null=True, blank=True, on_delete=models.CASCADE, related_name="report_runs"
    )
    # Asked for by a page (a period with no snapshot), not queued by the nights.
    requested = models.BooleanField(default=False)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.RUNNING)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["kind", "-started_at"], name="report_run_kind_started"),
            models.Index(
                fields=["system", "date_from", "date_to", "kind"], name="report_run_period"
            ),
        ]
        constraints = [
            # However many people ask for a period at once, one task computes it: the others
            # join the run this leaves "running" (referrals.reports.snapshots.report_runs_request).
            models.UniqueConstraint(
                fields=["system", "kind", "date_from", "date_to", "place"],
                condition=Q(outcome="running", requested=True),
                name="report_run_one_request_running",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.date_from} to {self.date_to}: {self.outcome}"


class AccessKind(models.TextChoices):
    REFERRAL_VIEW = "referral_view", "Opened the referral"
    LOOKUP = "lookup", "Looked up by NHS number"
    LOOKUP_CONFIRMED = "lookup_confirmed", "Confirmed by NHS number and date of birth"
    LOOKUP_NOT_MATCHED = "lookup_not_matched", "NHS number and date of birth did not match"
    EXPORT = "export", "Exported"


LOOKUP_KINDS = (AccessKind.LOOKUP, AccessKind.LOOKUP_CONFIRMED, AccessKind.LOOKUP_NOT_MATCHED)


@pgtrigger.register(
    # Append-only: what someone looked at is evidence, so the database refuses to change it.
    pgtrigger.Protect(name="access_record_no_update", operation=pgtrigger.Update),
    # Rows go only by the retention prune (referrals.services_access.access_records_prune),
    # which lifts this trigger for its one DELETE.
    pgtrigger.Protect(name="access_record_no_delete", operation=pgtrigger.Delete),
)
class AccessRecord(models.Model):
    """One person opening a patient's record, looking one up or exporting it: who looked, when,
    for a subject access request. Written by referrals.services_access, never changed."""

    at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The user's organisation and system at the time: people move, the record should not.
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # What an administrator's "who looked" page is scoped by.
    system = models.ForeignKey(
        System, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="access_records"
    )
    referral = models.ForeignKey(
        Referral, null=True, blank=True, on_delete=models.PROTECT, related_name="access_records"
    )
    kind = models.CharField(max_length=24, choices=AccessKind.choices)
    # What was typed, for a lookup that matched nobody.
    nhs_number = models.CharField("NHS number", max_length=10, blank=True)
    # Which export, for instance.
    detail = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [
            models.Index(fields=["patient", "at"], name="access_record_patient_at"),
            models.Index(fields=["user", "at"], name="access_record_user_at"),
            # A subject access request also finds the lookups of the number that matched nobody.
            models.Index(
                fields=["nhs_number", "at"],
                condition=~Q(nhs_number=""),
                name="access_record_typed_number_at",
            ),
            # The nightly prune deletes by age over an append-only table.
            BrinIndex(fields=["at"], name="access_record_at_brin"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=AccessKind.values), name="access_record_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by user {self.user_id} at {self.at:%Y-%m-%d %H:%M}"


# The outcomes of wellbeing co-ordination live in their own module; importing them here registers
# them with the referrals app.
from referrals.models_outcomes import (  # noqa: E402
    Episode,
    EpisodeInput,
    Goal,
    GoalOutcome,
    OutcomeScore,
    PatientCost,
    Subgroup,
    Timepoint,
)

__all__ = [
    "Episode",
    "EpisodeInput",
    "Goal",
    "GoalOutcome",
    "OutcomeScore",
    "PatientCost",
    "Subgroup",
    "Timepoint",
]
