"""Two-factor sign-in: until a signed-in person has given a code from their authenticator, every
page sends them to give one, or to set one up if they have none (TWO_FACTOR_REQUIRED)."""

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.middleware import OTPMiddleware as DjangoOTPMiddleware
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.selectors import two_factor_device_of

logger = logging.getLogger(__name__)

# What a person who has given only their password may still open: signing in and out, the
# two-factor pages themselves, and /health/ (which shows no data). The Django admin is not here:
# it needs the code as every other page does.
OPEN_BEFORE_SECOND_FACTOR = {"login", "logout", "two_factor_verify", "two_factor_enrol", "health"}


class OTPMiddleware(DjangoOTPMiddleware):
    """django-otp's middleware, without its query per request: the user arrives with the ids
    of their confirmed authenticators (accounts.backends.EmailBackend), so the device the
    session names is checked against those, as django-otp checks it (the same person's,
    confirmed, still there). A device deleted or unconfirmed since the code was given leaves
    the session unverified on the next request, as before."""

    def _verify_user_sync(self, request: HttpRequest, user: Any) -> Any:
        confirmed = getattr(user, "confirmed_device_ids", None)
        if confirmed is None:  # signed in through another backend: django-otp's own way
            return super()._verify_user_sync(request, user)
        self._init_user_fields(user)
        if user.is_authenticated:
            user.otp_device = self._finalize_device(
                request, user, _confirmed_device(request, user, confirmed)
            )
        return user


def _confirmed_device(request: HttpRequest, user: Any, confirmed: list[int]) -> Any:
    """The session's device, when it is one of the user's confirmed ones. Only its identity is
    known: nothing reads more of request.user.otp_device than whether it is there."""
    persistent_id = request.session.get(DEVICE_ID_SESSION_KEY) or ""
    label, _, pk = DjangoOTPMiddleware._normalize_persistent_id(persistent_id).rpartition("/")
    if label != TOTPDevice.model_label() or not pk.isdigit() or int(pk) not in confirmed:
        return None
    return TOTPDevice(pk=int(pk), user=user, confirmed=True)


class TwoFactorMiddleware:
    """Sits after django-otp's OTPMiddleware, which marks request.user verified."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        if settings.PRODUCTION and not settings.TWO_FACTOR_REQUIRED:
            logger.warning("Two-factor sign-in is switched off (TWO_FACTOR_REQUIRED=false)")

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponseBase | None:
        if not settings.TWO_FACTOR_REQUIRED:
            return None
        user: Any = request.user
        if not user.is_authenticated or user.is_verified():
            return None
        match = request.resolver_match
        if match is not None and match.view_name in OPEN_BEFORE_SECOND_FACTOR:
            return None
        step = "two_factor_verify" if two_factor_device_of(user) else "two_factor_enrol"
        # The page asked for goes along as ?next=, as after the password.
        return redirect_to_login(request.get_full_path(), login_url=reverse(step))
