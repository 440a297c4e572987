"""The Django admin, limited to the administrator's own integrated care system.

Administrators are superusers, so the admin would otherwise list and change every system's
users, organisations and places. Each model's admin names the path from its rows to their system;
the rows listed and opened, and the choices offered for each foreign key, are limited to it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import ForeignKey, ManyToManyField, QuerySet
from django.forms import ModelChoiceField, ModelMultipleChoiceField
from django.http import HttpRequest

from accounts.selectors import system_id_of

# From a related model to its system's id, by the name of the field that points at it.
RELATED_SYSTEM = {
    "system": "id",
    "place": "system_id",
    "organisation": "system_id",
    "statutory_declined_by": "system_id",
    "service": "organisation__system_id",
    "framework": "system_id",
    "places": "system_id",
}


class SystemScopedAdmin(admin.ModelAdmin):
    # The lookup from this model's rows to their system's id.
    system_path: str = "system_id"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return _scoped(super().get_queryset(request), self.system_path, request)

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        _limit_choices(db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(
        self, db_field: ManyToManyField[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelMultipleChoiceField | None:
        _limit_choices(db_field, request, kwargs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


def _limit_choices(
    db_field: ForeignKey[Any, Any] | ManyToManyField[Any, Any],
    request: HttpRequest,
    kwargs: dict[str, Any],
) -> None:
    if db_field.name in RELATED_SYSTEM:
        rows = db_field.related_model._default_manager.all()
        kwargs["queryset"] = _scoped(rows, RELATED_SYSTEM[db_field.name], request)


def _scoped(rows: QuerySet[Any], path: str, request: HttpRequest) -> QuerySet[Any]:
    system_id = system_id_of(request.user)  # type: ignore[arg-type]
    return rows.none() if system_id is None else rows.filter(**{path: system_id})
