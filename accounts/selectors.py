from collections.abc import Iterable
from datetime import datetime
from typing import Any

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Count, Max, QuerySet, Sum
from django.db.models.functions import Lower, Trim
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Role, User


def system_id_of(user: User) -> int | None:
    """The integrated care system a person works in: their organisation's.

    The one tenant scope. Every list, page, form choice, report and command a person reaches is
    limited to this system first, and to their organisation second; another system's record is
    a 404. Someone with no organisation belongs to no system and sees nothing of any.
    """
    if not user.is_authenticated or user.organisation is None:
        return None
    return int(user.organisation.system_id)


def users_visible_to(user: User) -> QuerySet[User]:
    system_id = system_id_of(user)
    if not user.has_role(Role.ADMINISTRATOR) or system_id is None:
        return User.objects.none()
    return (
        User.objects.filter(organisation__system_id=system_id)
        .select_related("organisation")
        .order_by("full_name")
    )


def user_counts_by_role(user: User) -> list[dict[str, Any]]:
    counts = dict(
        users_visible_to(user)
        .filter(is_active=True)
        .order_by()
        .values_list("role")
        .annotate(n=Count("id"))
        .values_list("role", "n")
    )
    return [{"role": label, "count": counts.get(value, 0)} for value, label in Role.choices]


def colleagues_of(user: User) -> QuerySet[User]:
    if user.organisation_id is None:
        return User.objects.none()
    return User.objects.filter(organisation_id=user.organisation_id, is_active=True).order_by(
        "role", "full_name"
    )


def two_factor_device_of(user: User) -> TOTPDevice | None:
    """The authenticator a person has set up (a confirmed device), or None if they have not."""
    device: TOTPDevice | None = (
        TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    )
    return device


def _locked_usernames(*, usernames: Iterable[str] | None = None) -> QuerySet[Any]:
    """The e-mails, as django-axes keeps them, locked out now: failures within the cool-off
    period at or over the limit, summed over the addresses they came from."""
    attempts = AccessAttempt.objects.filter(
        attempt_time__gte=timezone.now() - settings.AXES_COOLOFF_TIME
    )
    if usernames is not None:
        attempts = attempts.filter(username__in=list(usernames))
    locked: QuerySet[Any] = (
        attempts.values("username")
        .annotate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
        .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
    )
    return locked


def users_locked_out_visible_to(user: User) -> QuerySet[User]:
    return (
        users_visible_to(user)
        .annotate(username=Lower(Trim("email")))
        .filter(username__in=_locked_usernames().values("username"))
    )


def locked_out_until(users: Iterable[User]) -> dict[int, datetime]:
    """When each of these people's sign-in lock-out ends, for those locked out now (one query
    for a page of people)."""
    by_username = {user.email.strip().lower(): user.pk for user in users}
    if not by_username:
        return {}
    rows = _locked_usernames(usernames=by_username)
    return {by_username[row["username"]]: row["last"] + settings.AXES_COOLOFF_TIME for row in rows}
