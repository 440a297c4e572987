from django.conf import settings

from accounts.navigation import nav_items_for


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
    return {"nav_items": nav_items_for(user), "current_url_name": current}
