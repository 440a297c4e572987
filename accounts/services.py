import logging
import math
from datetime import datetime, timedelta
from typing import Any, Protocol

from axes.models import AccessFailureLog, AccessLog
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import VSO_ROLES, NotificationKind, Role, User
from accounts.selectors import system_id_of
from accounts.services_notifications import notify
from core.sessions import session_end

logger = logging.getLogger(__name__)


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


# --- Two-factor sign-in: one authenticator (a django-otp TOTP device) per person. Set up means
# confirmed: a device is confirmed only by a right code from it, so a person never ends up with
# an authenticator that was not scanned.

WRONG_CODE = "That code is not right. Enter the 6-digit code your authenticator app shows now."


def two_factor_enrolment_start(*, user: User) -> TOTPDevice:
    """The authenticator a person is setting up: the same key however often the set-up page is
    opened, so a code scanned earlier still works. Refused once they have one set up: adding a
    second would need only the password."""
    with transaction.atomic():
        # One person's set-up pages opened at once would otherwise each make a key.
        User.objects.select_for_update().filter(pk=user.pk).first()
        devices = TOTPDevice.objects.filter(user=user)
        if devices.filter(confirmed=True).exists():
            raise PermissionDenied("Two-factor sign-in is already set up for this account.")
        device: TOTPDevice | None = devices.filter(confirmed=False).order_by("pk").first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


def two_factor_enrol(*, user: User, token: str) -> TOTPDevice:
    """Confirm the authenticator being set up with a code from it."""
    with transaction.atomic():
        devices = TOTPDevice.objects.select_for_update().filter(user=user)
        if devices.filter(confirmed=True).exists():
            raise PermissionDenied("Two-factor sign-in is already set up for this account.")
        device: TOTPDevice | None = devices.filter(confirmed=False).order_by("pk").first()
        if device is None:
            refusal: str | None = "This set-up has ended. Scan the new QR code and try again."
        else:
            refusal = _code_refusal(device, token)
        if device is not None and refusal is None:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            devices.exclude(pk=device.pk).delete()
    # Raised outside the transaction, so that the wrong code's count is kept.
    if refusal is not None or device is None:
        raise ValidationError({"token": refusal})
    logger.info("Two-factor sign-in set up for user %s", user.pk)
    return device


def two_factor_verify(*, user: User, token: str) -> TOTPDevice:
    """Check a code against the person's authenticator, at sign-in."""
    with transaction.atomic():
        device: TOTPDevice | None = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=True)
            .order_by("pk")
            .first()
        )
        if device is None:
            refusal: str | None = "Two-factor sign-in is not set up for this account."
        else:
            refusal = _code_refusal(device, token)
    if refusal is not None or device is None:
        raise ValidationError({"token": refusal})
    return device


def two_factor_reset(*, user: User, by: User) -> int:
    """Remove a person's authenticator, when they have lost it: they set up a new one at their
    next sign-in. Only an administrator of the person's own system may."""
    system_id = system_id_of(user)
    if not by.has_role(Role.ADMINISTRATOR) or system_id is None or system_id_of(by) != system_id:
        raise PermissionDenied("Only an administrator of this person's system can reset it.")
    if by.pk == user.pk:
        # Whoever can act here has just used their authenticator; another administrator
        # resets a lost one.
        raise PermissionDenied("Ask another administrator to reset your own two-factor sign-in.")
    with transaction.atomic():
        deleted, _ = TOTPDevice.objects.filter(user=user).delete()
        ended = _sessions_end(user=user)
    logger.warning(
        "Two-factor sign-in reset for user %s by user %s; %s sessions ended", user.pk, by.pk, ended
    )
    return int(deleted)


def _sessions_end(*, user: User) -> int:
    """Sign a person out everywhere. Whoever holds a session of theirs, perhaps with the lost
    phone, must not be the one to set up the new authenticator: that takes the password again.
    The user is inside each session's encoded data, so each live one is read; there are only
    as many as people active in the last SESSION_IDLE_MINUTES, and a reset is rare."""
    ended = [
        session.pk
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if session.get_decoded().get(SESSION_KEY) == str(user.pk)
    ]
    for session_key in ended:
        session_end(session_key)
    return len(ended)


def _code_refusal(device: TOTPDevice, token: str) -> str | None:
    """Why a code is refused, or None when it is right. django-otp counts the wrong codes in a
    row on the device and refuses any code, right or wrong, for 2^(n-1) seconds after the nth
    (OTP_TOTP_THROTTLE_FACTOR)."""
    allowed, _ = device.verify_is_allowed()
    if not allowed:
        return f"Too many wrong codes in a row. Try again in {_wait_in_words(device)}."
    if device.verify_token(token):
        return None
    logger.warning(
        "Wrong two-factor code for user %s (%s in a row)",
        device.user_id,
        device.throttling_failure_count,
    )
    # The first few waits are too short to mention; later ones a person needs to know.
    if device.throttling_failure_count >= 4:
        return f"{WRONG_CODE} Wait {_wait_in_words(device)} before the next try."
    return WRONG_CODE


def _wait_in_words(device: TOTPDevice) -> str:
    _, details = device.verify_is_allowed()
    until = (details or {}).get("locked_until")
    seconds = max(1, math.ceil((until - timezone.now()).total_seconds())) if until else 1
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    if minutes < 120:
        return f"{minutes} minutes"
    hours = math.ceil(minutes / 60)
    return f"{hours} hours"


# --- Lock-outs: django-axes locks an account after AXES_FAILURE_LIMIT failed sign-ins for
# AXES_COOLOFF_TIME. The system's administrators are told, and may unlock it sooner.


def account_lockout_notify(*, username: str, at: datetime | None = None) -> int:
    """Tell the administrators of the locked account's system, once an hour at most per
    account however long the attempts go on. A name that is nobody's account tells nobody:
    guessing at addresses must not fill the administrators' bell. Returns how many were told."""
    user = (
        User.objects.filter(email__iexact=username.strip(), is_active=True)
        .select_related("organisation")
        .first()
    )
    system_id = system_id_of(user) if user is not None else None
    if user is None or system_id is None:
        return 0
    at = timezone.localtime(at or timezone.now())
    administrators = User.objects.filter(
        role=Role.ADMINISTRATOR, is_active=True, organisation__system_id=system_id
    ).exclude(pk=user.pk)
    return notify(
        recipients=administrators,
        kind=NotificationKind.ACCOUNT_LOCKED,
        event_key=f"account:{user.pk}:locked:{at:%Y%m%d%H}",
        title=f"{user.full_name}'s account is locked after {settings.AXES_FAILURE_LIMIT} "
        "failed sign-ins",
        link=reverse("user_list") + "?locked=1",
    )


def account_unlock(*, user: User, by: User) -> int:
    """Lift a lock-out before it ends by itself. Only an administrator of the person's own
    system may. Returns how many records of failed attempts were cleared."""
    if not by.has_role(Role.ADMINISTRATOR) or system_id_of(by) != system_id_of(user):
        raise PermissionDenied
    cleared = int(axes_reset(username=user.email.strip().lower()))
    logger.info("Sign-in lock-out of user %s lifted by user %s", user.pk, by.pk)
    return cleared
