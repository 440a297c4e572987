from django.contrib import admin

from commissioning.models import Neighbourhood, Organisation, Place, System


class PlaceInline(admin.TabularInline):
    model = Place
    extra = 0


class NeighbourhoodInline(admin.TabularInline):
    model = Neighbourhood
    extra = 0


@admin.register(System)
class SystemAdmin(admin.ModelAdmin):
    inlines = [PlaceInline]


@admin.register(Place)
class PlaceAdmin(admin.ModelAdmin):
    list_display = ["name", "system"]
    list_filter = ["system"]
    inlines = [NeighbourhoodInline]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "sector", "kind", "place", "active", "last_verified_on"]
    list_filter = ["sector", "kind", "place", "active"]
    search_fields = ["name", "charity_number"]
    readonly_fields = ["created_at", "created_by", "updated_at", "updated_by"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)
