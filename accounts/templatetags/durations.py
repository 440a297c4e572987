from datetime import timedelta

from django import template

register = template.Library()


@register.filter
def in_words(value: timedelta | None) -> str:
    """15 minutes, 1 hour, 2 hours 30 minutes: what a person reads on the lock-out page."""
    if not value:
        return ""
    minutes = int(value.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if minutes or not hours:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts)
