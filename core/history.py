"""A record's change history, in words: read from the events django-pghistory keeps.

Any model tracked with `@pghistory.track()` has an event model holding a snapshot of the row
after each insert and update, with the context (the signed-in user and the URL) the history
middleware attached. Each entry here compares a snapshot with the one before it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.text import capfirst

# Said when a change was made with nobody signed in: a management command or a data import.
NO_USER = "system/import"
# Said of every row already there when history began (see the migrations that add it); the
# first change after that is compared with it, and it is not an entry itself.
BASELINE = "baseline"
# Who and when are the entry itself; these columns would only repeat them.
AUDIT_FIELDS = frozenset({"created_at", "created_by", "updated_at", "updated_by"})


# A field, its value in the snapshot before and its value in this one.
_Change = tuple["models.Field[Any, Any]", Any, Any]


@dataclass(frozen=True)
class FieldChange:
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class HistoryEntry:
    when: datetime
    who: str
    created: bool
    changes: tuple[FieldChange, ...]


def history_of(
    *,
    record: models.Model,
    hidden: Collection[str] = (),
    code_labels: Mapping[str, str] | None = None,
) -> list[HistoryEntry]:
    """Every change to a tracked record, oldest first, as the referral page lists them.

    A fixed number of queries whatever the number of changes: the events with their context,
    the people who made them, and one per foreign key that changed. `hidden` names fields the
    reader may not see (a change to nothing else is left out); `code_labels` names the codes
    held in array fields.
    """
    model = type(record)
    event_model: type[models.Model] = getattr(model, "pgh_event_model")  # noqa: B009
    # Event models are made at run time; their pgh_* columns are unknown to the type checker.
    events: Iterable[Any] = (
        event_model._default_manager.filter(pgh_obj_id=record.pk)
        .select_related("pgh_context")
        .order_by("pgh_id")
    )
    columns = _shown_columns(model=model, event_model=event_model, hidden=hidden)
    found: list[tuple[Any, list[_Change]]] = []
    before = None
    for event in events:
        if event.pgh_label != BASELINE:
            changed: list[_Change] = [] if before is None else _changes(columns, before, event)
            # With nothing before it (history began after the row was written, and no
            # baseline was taken), an update is still shown, without what it changed.
            if event.pgh_label == "insert" or changed or before is None:
                found.append((event, changed))
        before = event

    names = _user_names([event for event, _ in found])
    related = _related_names([change for _, changed in found for change in changed])
    labels = code_labels or {}
    return [
        HistoryEntry(
            when=event.pgh_created_at,
            who=names.get(_user_id(event), NO_USER),
            created=event.pgh_label == "insert",
            changes=tuple(
                FieldChange(
                    label=capfirst(str(column.verbose_name)),
                    old=_display(column, old, related, labels),
                    new=_display(column, new, related, labels),
                )
                for column, old, new in changed
            ),
        )
        for event, changed in found
    ]


def _shown_columns(
    *, model: type[models.Model], event_model: type[models.Model], hidden: Collection[str]
) -> list[models.Field[Any, Any]]:
    """The tracked model's own fields that its events hold, less what says who and when."""
    held = {field.name for field in event_model._meta.concrete_fields}
    return [
        field
        for field in model._meta.concrete_fields
        if field.name in held
        and field.editable
        and not field.primary_key
        and field.name not in AUDIT_FIELDS
        and field.name not in hidden
    ]


def _changes(columns: list[models.Field[Any, Any]], before: Any, after: Any) -> list[_Change]:
    changes = []
    for column in columns:
        old, new = getattr(before, column.attname), getattr(after, column.attname)
        if old != new:
            changes.append((column, old, new))
    return changes


def _user_id(event: Any) -> int | None:
    context = event.pgh_context
    user_id = context.metadata.get("user") if context is not None else None
    return int(user_id) if user_id is not None else None


def _user_names(events: Any) -> dict[int | None, str]:
    ids = {user_id for event in events if (user_id := _user_id(event)) is not None}
    if not ids:
        return {}
    people = get_user_model()._default_manager.filter(pk__in=ids)
    return {person.pk: person.get_full_name() or NO_USER for person in people}


def _related_names(changes: list[_Change]) -> dict[tuple[type[models.Model], Any], str]:
    """The name of every row a changed foreign key pointed at: one query per related model."""
    wanted: dict[type[models.Model], set[Any]] = {}
    for column, old, new in changes:
        if column.is_relation and isinstance(column.related_model, type):
            wanted.setdefault(column.related_model, set()).update({old, new} - {None})
    names: dict[tuple[type[models.Model], Any], str] = {}
    for related_model, ids in wanted.items():
        rows = related_model._default_manager.in_bulk(ids)
        names.update(
            {(related_model, pk): str(getattr(row, "name", pk)) for pk, row in rows.items()}
        )
    return names


def _display(
    column: models.Field[Any, Any],
    value: Any,
    related: dict[tuple[type[models.Model], Any], str],
    code_labels: Mapping[str, str],
) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if column.is_relation and column.related_model is not None:
        return related.get((column.related_model, value), f"#{value}")
    if column.choices:
        return str(dict(column.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return date_format(timezone.localtime(value), "j M Y H:i")
    if isinstance(value, date):
        return date_format(value, "j M Y")
    if isinstance(value, list):
        return ", ".join(code_labels.get(code, code) for code in value)
    return str(value)
