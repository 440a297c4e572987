"""The GOV.UK error pattern, once for every page: a summary of what to fix at the top of the
page, each error a link to its field, and "Error: " before the page's title.

The forms are found in the template's context rather than passed in, so a view only has to hand
its bound form to the template, as it already does, for the summary to appear."""

from dataclasses import dataclass
from typing import Any

from django import template
from django.forms import BaseForm, BaseFormSet, BoundField
from django.template.context import Context
from django_filters import FilterSet

register = template.Library()


@dataclass(frozen=True)
class ErrorLink:
    message: str
    # The id of the input the message is about; empty for an error about the whole form.
    field_id: str = ""


def _forms_in(value: Any) -> list[BaseForm]:
    # type() rather than isinstance(): isinstance() would evaluate a lazy object (the request's
    # csrf_token would then set a cookie on every page).
    kind = type(value)
    if issubclass(kind, BaseForm):
        return [value]
    if issubclass(kind, FilterSet):
        return [value.form]
    if issubclass(kind, BaseFormSet):
        return list(value.forms)
    return []


def _field_id(bound: BoundField) -> str:
    """The input a summary link goes to: for a group of radios or checkboxes, the first."""
    if bound.id_for_label:
        return bound.id_for_label
    subwidgets = bound.subwidgets
    return (subwidgets[0].id_for_label if subwidgets else "") or bound.auto_id or ""


def errors_in(context: Context) -> list[ErrorLink]:
    """Every error of every bound form in the context, in the order of the forms' fields."""
    found: list[ErrorLink] = []
    seen: set[int] = set()
    for value in context.flatten().values():
        for form in _forms_in(value):
            if id(form) in seen or not form.is_bound or not form.errors:
                continue
            seen.add(id(form))
            found.extend(ErrorLink(str(message)) for message in form.non_field_errors())
            for name in form.fields:
                bound = form[name]
                field_id = "" if bound.is_hidden else _field_id(bound)
                found.extend(ErrorLink(str(message), field_id) for message in bound.errors)
    return found


@register.inclusion_tag("includes/error_summary.html", takes_context=True)
def error_summary(context: Context) -> dict[str, Any]:
    return {"errors": errors_in(context)}


@register.simple_tag(takes_context=True)
def error_title_prefix(context: Context) -> str:
    return "Error: " if errors_in(context) else ""
