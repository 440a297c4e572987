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

from accounts.selectors import two_factor_device_of

logger = logging.getLogger(__name__)

# What a person who has given only their password may still open: signing in and out, the
# two-factor pages themselves, and /health/ (which shows no data). The Django admin is not here:
# it needs the code as every other page does.
OPEN_BEFORE_SECOND_FACTOR = {"login", "logout", "two_factor_verify", "two_factor_enrol", "health"}


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
