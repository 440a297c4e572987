from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.urls import reverse


class VsoCareAdminSite(admin.AdminSite):
    site_header = "VSO Care administration"
    site_title = "VSO Care administration"
    index_title = "Users, organisations and places"

    def login(self, request, extra_context=None):
        # One sign-in page for everyone, so lock-out and idle expiry apply to the admin too.
        if request.user.is_authenticated:
            # Signed in but not an administrator: the admin is not theirs to see.
            raise PermissionDenied
        return redirect_to_login(
            request.GET.get("next", reverse("admin:index")), login_url=reverse("login")
        )
