from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from accounts.admin_scope import SystemScopedAdmin
from accounts.models import User
from accounts.services import user_validate_role


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
        ("Dates", {"fields": ["last_login", "date_joined"]}),
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
    readonly_fields = ["last_login", "date_joined"]

    def save_model(self, request, obj, form, change):
        # Administrators get every permission through the superuser flag; nobody else may.
        obj.is_superuser = obj.role == "administrator"
        super().save_model(request, obj, form, change)
