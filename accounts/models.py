import pghistory
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class Role(models.TextChoices):
    ICC = "icc", "ICC / referrer"
    COMMISSIONER = "commissioner", "Commissioner"
    VSO_LEAD = "vso_lead", "VSO lead"
    VSO_WORKER = "vso_worker", "VSO worker"
    ADMINISTRATOR = "administrator", "Administrator"


VSO_ROLES = (Role.VSO_LEAD, Role.VSO_WORKER)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        # People type their email with whatever capitals they like; it is one account.
        return self.get(email__iexact=username)

    def create_user(self, email, password=None, **fields):
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **fields):
        fields["role"] = Role.ADMINISTRATOR
        fields["is_superuser"] = True
        return self.create_user(email, password, **fields)


# Who holds which role where, and who changed it. Never the password hash, nor last_login: a
# sign-in changes only that, so it records nothing.
@pghistory.track(
    fields=["email", "full_name", "role", "organisation", "job_title", "is_active"],
    model_name="UserEvent",
    obj_field=pghistory.ObjForeignKey(related_name="events"),
)
class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=150)
    role = models.CharField(max_length=20, choices=Role.choices)
    organisation = models.ForeignKey(
        "commissioning.Organisation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    job_title = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ignoring_case"),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="user_role_valid"
            ),
            # A VSO lead or worker acts for one organisation; without it they could see nothing
            # safely, so the database refuses such an account outright.
            models.CheckConstraint(
                condition=~models.Q(role__in=VSO_ROLES) | models.Q(organisation__isnull=False),
                name="user_vso_roles_need_organisation",
            ),
            # Only administrators reach the Django admin; a superuser flag on anyone else
            # would quietly bypass every permission check.
            models.CheckConstraint(
                condition=models.Q(is_superuser=False) | models.Q(role=Role.ADMINISTRATOR),
                name="user_superuser_only_administrator",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} <{self.email}>"

    @property
    def is_staff(self) -> bool:
        """The Django admin is for administrators only."""
        return self.is_active and self.role == Role.ADMINISTRATOR

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    def has_role(self, *roles: str) -> bool:
        return self.is_authenticated and self.is_active and self.role in roles


class NotificationKind(models.TextChoices):
    REFERRAL_RECEIVED = "referral_received", "A referral received"
    REFERRAL_ACCEPTED = "referral_accepted", "A referral accepted"
    REFERRAL_DECLINED = "referral_declined", "A referral declined"
    REFERRAL_WITHDRAWN = "referral_withdrawn", "A referral withdrawn"
    REFERRAL_AT_REMIT_LIMIT = (
        "referral_at_remit_limit",
        "A referral marked at the limit of remit",
    )
    CONCERN_RAISED = "concern_raised", "A concern raised"
    CONCERN_ACKNOWLEDGED = "concern_acknowledged", "A concern acknowledged"
    CONCERN_REPLIED = "concern_replied", "A reply to a concern"
    CONCERN_RESOLVED = "concern_resolved", "A concern resolved"
    ESCALATION = "escalation", "An escalation"
    ACCOUNT_LOCKED = "account_locked", "An account locked after failed sign-ins"


# Escalations always send an e-mail: a person cannot switch off being told that a warning about
# a patient went unanswered.
ALWAYS_EMAILED = frozenset({NotificationKind.ESCALATION})


class Notification(models.Model):
    """One thing that happened, told to one person. The title carries the referral's reference
    and what happened, never who the patient is: it goes out by e-mail as it stands."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=40, choices=NotificationKind.choices)
    # What happened, named so that telling the same person twice is refused by the database:
    # "referral:12:declined".
    event_key = models.CharField(max_length=120)
    title = models.CharField(max_length=200)
    link = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_failed_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    # Whether the recipient wanted this kind by e-mail when it was made, so that an e-mail the
    # broker never took can be queued again without asking their preferences twice.
    email_wanted = models.BooleanField(default=False)
    # When the e-mail was last handed to the broker; NULL when handing it over failed. The
    # re-send sweep queues again what was never handed over, or handed over long ago and
    # neither sent nor failed (a worker lost it).
    email_queued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "event_key"], name="notification_once_per_person_and_event"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=NotificationKind.values), name="notification_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(link__startswith="/"), name="notification_link_is_a_path"
            ),
        ]
        indexes = [
            # The bell's unread count, on every page.
            models.Index(fields=["recipient", "read_at"], name="notification_unread"),
            # /health/'s mail check: failures in the last day. Partial, so it stays tiny.
            models.Index(
                fields=["email_failed_at"],
                name="notification_email_failed",
                condition=models.Q(email_failed_at__isnull=False),
            ),
            # The re-send sweep's candidates: wanted, neither sent nor failed. Partial, so it
            # holds only the e-mails in flight.
            models.Index(
                fields=["email_queued_at"],
                name="notification_email_unsent",
                condition=models.Q(
                    email_wanted=True, emailed_at__isnull=True, email_failed_at__isnull=True
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.title


class EmailPreference(models.Model):
    """The kinds of notification a person wants no e-mail for. No row: e-mail for every kind."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_preference"
    )
    kinds_without_email = ArrayField(
        models.CharField(max_length=40, choices=NotificationKind.choices), default=list, blank=True
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"E-mail preferences of user {self.user_id}"
