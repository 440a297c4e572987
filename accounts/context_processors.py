from django.conf import settings
from django.utils.functional import cached_property

from accounts.navigation import home_url_name, nav_items_for
from accounts.selectors_notifications import unread_count


def navigation(request):
    user = getattr(request, "user", None)
    if user is None:
        return {"nav_items": []}
    current = request.resolver_match.view_name if request.resolver_match else None
    # is_verified comes from django-otp's middleware, which a page built outside a request lacks.
    verified = getattr(user, "is_verified", lambda: True)
    if settings.TWO_FACTOR_REQUIRED and user.is_authenticated and not verified():
        # Signed in with the password only: every menu entry would lead back to the code.
        return {"nav_items": [], "current_url_name": current}
    return {
        "nav_items": nav_items_for(user),
        "current_url_name": current,
        "home_url_name": home_url_name(user),
    }


def notifications(request):
    """The bell's unread count, only for someone fully signed in."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    verified = getattr(user, "is_verified", lambda: True)
    if settings.TWO_FACTOR_REQUIRED and not verified():
        return {}
    return {"bell": Bell(user)}


class Bell:
    """The count read with the signed-in user (accounts.backends.EmailBackend); counted here,
    once however often the page asks, only for a user that came some other way."""

    def __init__(self, user):
        self.user = user

    @cached_property
    def unread(self) -> int:
        counted = getattr(self.user, "unread_notifications", None)
        return counted if counted is not None else unread_count(self.user)
