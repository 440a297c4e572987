from datetime import timedelta
from typing import Any, Protocol

from axes.models import AccessFailureLog, AccessLog
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import VSO_ROLES, Role, User


class Organisation(Protocol):
    """What accounts needs of a person's organisation. The model is commissioning's, a layer
    above this one, which the User model names only as a string."""

    pk: int

    @property
    def is_voluntary(self) -> bool: ...


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The key django-axes counts failures under: the email as typed, in lower case."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    return str(username).strip().lower()


def user_validate_role(*, role: str, organisation: Organisation | None) -> None:
    if role in VSO_ROLES:
        if organisation is None:
            raise ValidationError(
                {"organisation": "A VSO lead or worker must belong to an organisation."}
            )
        if not organisation.is_voluntary:
            raise ValidationError(
                {"organisation": "A VSO lead or worker must belong to a voluntary organisation."}
            )


@transaction.atomic
def user_create(
    *,
    email: str,
    full_name: str,
    role: str,
    password: str | None,
    organisation: Organisation | None = None,
    job_title: str = "",
) -> User:
    user_validate_role(role=role, organisation=organisation)
    user: User = User.objects.create_user(  # type: ignore[no-untyped-call]
        email,
        password,
        full_name=full_name,
        role=role,
        organisation=organisation,
        job_title=job_title,
        is_superuser=role == Role.ADMINISTRATOR,
    )
    return user


def sign_in_records_prune(*, older_than: timedelta) -> int:
    """Delete sign-in and failed-attempt records older than the retention period."""
    cutoff = timezone.now() - older_than
    logs, _ = AccessLog.objects.filter(attempt_time__lt=cutoff).delete()
    failures, _ = AccessFailureLog.objects.filter(attempt_time__lt=cutoff).delete()
    return int(logs + failures)
