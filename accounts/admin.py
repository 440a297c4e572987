from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.admin_scope import SystemScopedAdmin
from accounts.models import User
from accounts.selectors import two_factor_device_of
from accounts.services import two_factor_reset, user_validate_role
from core.history import history_of


class RoleCheckedMixin:
    def clean(self):
        cleaned = super().clean()
        try:
            user_validate_role(role=cleaned.get("role"), organisation=cleaned.get("organisation"))
        except ValidationError as error:
            self.add_error(None, error)
        return cleaned


class UserCreateForm(RoleCheckedMixin, UserCreationForm):
    class Meta:
        model = User
        fields = ["email", "full_name", "role", "organisation", "job_title"]


class UserEditForm(RoleCheckedMixin, UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


# Roles, not groups, decide what a person may do; an unused Groups page would only mislead.
admin.site.unregister(Group)
# django-otp's own device admin would list every system's authenticators and can show their
# secret keys. A lost one is reset from its person's page instead (two_factor_reset_view).
if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


@admin.register(User)
class UserAdmin(SystemScopedAdmin, DjangoUserAdmin):
    system_path = "organisation__system_id"
    form = UserEditForm
    add_form = UserCreateForm
    ordering = ["full_name"]
    list_display = ["full_name", "email", "role", "organisation", "is_active", "last_login"]
    list_filter = ["role", "is_active", "organisation__sector"]
    search_fields = ["full_name", "email"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["full_name", "job_title"]}),
        ("Role", {"fields": ["role", "organisation", "is_active"]}),
        ("Sign-in", {"fields": ["two_factor"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
        ("History", {"fields": ["change_history"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": [
                    "email",
                    "full_name",
                    "role",
                    "organisation",
                    "job_title",
                    "password1",
                    "password2",
                ],
            },
        )
    ]
    readonly_fields = ["two_factor", "last_login", "date_joined", "change_history"]

    @admin.display(description="Changes to this person's role and details")
    def change_history(self, obj: User) -> SafeString:
        # The change page is reached only through get_queryset, so only for a user of the
        # administrator's own system; the history holds no password and no sign-in times.
        return render_to_string(
            "includes/history.html", {"history": history_of(record=obj), "without_heading": True}
        )

    def save_model(self, request, obj, form, change):
        # Administrators get every permission through the superuser flag; nobody else may.
        obj.is_superuser = obj.role == "administrator"
        super().save_model(request, obj, form, change)

    @admin.display(description="Two-factor sign-in")
    def two_factor(self, obj: User) -> str:
        device = two_factor_device_of(obj) if obj.pk else None
        if device is None and settings.TWO_FACTOR_REQUIRED:
            return "Not set up: they set it up at their next sign-in."
        if device is None:
            return "Not set up, and not asked for: TWO_FACTOR_REQUIRED is off."
        return format_html(
            'Set up on {}. <a href="{}">Reset two-factor</a> if they have lost their phone.',
            f"{device.created_at:%-d %B %Y}",
            reverse("admin:accounts_user_two_factor_reset", args=[obj.pk]),
        )

    def get_urls(self):
        return [
            path(
                "<id>/two-factor/reset/",
                self.admin_site.admin_view(self.two_factor_reset_view),
                name="accounts_user_two_factor_reset",
            ),
            *super().get_urls(),
        ]

    def two_factor_reset_view(self, request, id):
        """Remove a person's lost authenticator, after asking: they set up a new one when they
        next sign in. The person is found through get_object, so within the administrator's
        own system: another system's is not found."""
        person = self.get_object(request, unquote(id))
        if person is None:
            raise Http404
        if not self.has_change_permission(request, person):
            raise PermissionDenied
        if request.method == "POST":
            two_factor_reset(user=person, by=request.user)
            # On the person's admin history page, with the administrator's other changes.
            self.log_change(request, person, "Reset two-factor sign-in.")
            messages.success(
                request,
                f"Two-factor sign-in was reset for {person.full_name}, and they were signed out. "
                "They will set up their authenticator app again when they next sign in.",
            )
            return redirect("admin:accounts_user_change", person.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": person,
            "title": "Reset two-factor sign-in",
            "device": two_factor_device_of(person),
        }
        return TemplateResponse(request, "accounts/admin_two_factor_reset.html", context)
