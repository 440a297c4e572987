import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.cache import add_never_cache_headers

# The session row is rewritten at most this often; the idle limit is therefore honoured to
# within a minute, and a click does not cost a database write.
RENEW_AFTER_SECONDS = 60
RENEWED_KEY = "_idle_clock_renewed_at"


class IdleClockMiddleware:
    """Restarts a signed-in session's idle clock (SESSION_COOKIE_AGE) on activity, without
    SESSION_SAVE_EVERY_REQUEST's write on every request. Sits after SessionMiddleware so that
    the session is saved, with its new expiry, on the way out."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        # Only a session this request already read: checking one would cost a query itself.
        if session is not None and session.accessed and not session.is_empty():
            now = int(time.time())
            if now - session.get(RENEWED_KEY, 0) >= RENEW_AFTER_SECONDS:
                session[RENEWED_KEY] = now
        return response


# The Django admin sets a few style attributes of its own; its policy allows those, and nothing
# else more than the app's.
ADMIN_PREFIX = "/admin/"


class SecurityHeadersMiddleware:
    """What every response says about itself that Django's own middleware does not:

    - a Content-Security-Policy (settings.CONTENT_SECURITY_POLICY): scripts and styles from this
      site's own files only, so an injected <script> or inline handler does not run;
    - for anyone signed in, `Cache-Control: no-store`: their pages carry patients' details, and
      a shared computer's browser cache or a proxy must keep none of them. Static files are
      served before this runs and stay cacheable.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        policy = (
            settings.CONTENT_SECURITY_POLICY_ADMIN
            if request.path.startswith(ADMIN_PREFIX)
            else settings.CONTENT_SECURITY_POLICY
        )
        response.headers.setdefault("Content-Security-Policy", policy)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
        return response
