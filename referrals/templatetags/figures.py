from decimal import Decimal

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def figure(value, unit: str = ""):
    """A report figure as a table shows it: a dash for none, a suppressed figure ('<5',
    'withheld') as it is, a number with its unit ('%', '£')."""
    if value is None or value == "":
        return "\u2013"  # an en dash, as the other tables show nothing
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return value
    if unit == "£":
        return f"£{number_format(value, 0, force_grouping=True)}"
    if unit in ("+%", "%+"):
        return f"{'+' if value > 0 else ''}{value}%"
    return f"{value}{unit}"
