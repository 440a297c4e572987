from django import template

from accounts.models import User
from referrals.selectors import identity_visible_to

register = template.Library()


@register.filter
def sees_identity(user: User) -> bool:
    """{% if user|sees_identity %}: the one rule for who may see a patient's identity."""
    return identity_visible_to(user)
