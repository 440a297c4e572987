from django.contrib import admin

from accounts.admin_scope import SystemScopedAdmin
from commissioning.models import (
    CommissioningFramework,
    Need,
    Neighbourhood,
    Organisation,
    OutcomeMeasure,
    Place,
    Service,
    ServiceSpecification,
    System,
)


class AuditedAdmin(SystemScopedAdmin):
    readonly_fields = ["created_at", "created_by", "updated_at", "updated_by"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


class PlaceInline(admin.TabularInline):  # within a system, which is scoped
    model = Place
    extra = 0


class NeighbourhoodInline(admin.TabularInline):
    model = Neighbourhood
    extra = 0


@admin.register(System)
class SystemAdmin(SystemScopedAdmin):
    """Only the administrator's own system. A new system is set up for the installation, not by
    one system's administrator, who could then not see it."""

    system_path = "id"
    inlines = [PlaceInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Place)
class PlaceAdmin(SystemScopedAdmin):
    list_display = ["name", "system"]
    inlines = [NeighbourhoodInline]


@admin.register(Organisation)
class OrganisationAdmin(AuditedAdmin):
    list_display = ["name", "sector", "kind", "place", "active", "last_verified_on"]
    list_filter = ["sector", "kind", ("place", admin.RelatedOnlyFieldListFilter), "active"]
    search_fields = ["name", "charity_number"]


@admin.register(Service)
class ServiceAdmin(AuditedAdmin):
    system_path = "organisation__system_id"
    list_display = ["name", "organisation", "status", "last_verified_on"]
    list_filter = ["status", "organisation__sector"]
    search_fields = ["name", "organisation__name"]


@admin.register(Need)
class NeedAdmin(admin.ModelAdmin):
    list_display = ["code", "label", "group", "position"]
    list_filter = ["group"]


@admin.register(OutcomeMeasure)
class OutcomeMeasureAdmin(admin.ModelAdmin):
    list_display = ["code", "label", "scoring", "position"]


@admin.register(CommissioningFramework)
class FrameworkAdmin(AuditedAdmin):
    list_display = ["name", "system", "starts_on", "ends_on"]


@admin.register(ServiceSpecification)
class SpecificationAdmin(AuditedAdmin):
    """Read-only here: versions change through the commissioner's screens, which keep the
    one-active-version rule and the history of retired versions."""

    system_path = "service__organisation__system_id"
    list_display = ["service", "version", "status", "max_urgency", "monthly_capacity"]
    list_filter = ["status", ("framework", admin.RelatedOnlyFieldListFilter)]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
