"""For the Django admin's tabular inlines, whose inputs have only a column heading above them:
each input gets its column's name as its accessible name (axe: "Form elements must have labels")."""

from django import template
from django.forms import BoundField
from django.utils.safestring import SafeString

register = template.Library()


@register.filter
def labelled(field: BoundField, label: str) -> SafeString:
    return field.as_widget(attrs={"aria-label": str(label)})
