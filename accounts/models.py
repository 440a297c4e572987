import pghistory
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
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
