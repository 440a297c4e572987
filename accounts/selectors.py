from typing import Any

from django.db.models import Count, QuerySet

from accounts.models import Role, User


def users_visible_to(user: User) -> QuerySet[User]:
    if user.has_role(Role.ADMINISTRATOR):
        return User.objects.select_related("organisation").order_by("full_name")
    return User.objects.none()


def user_counts_by_role() -> list[dict[str, Any]]:
    counts = dict(
        User.objects.filter(is_active=True)
        .values_list("role")
        .annotate(n=Count("id"))
        .values_list("role", "n")
    )
    return [{"role": label, "count": counts.get(value, 0)} for value, label in Role.choices]


def colleagues_of(user: User) -> QuerySet[User]:
    if user.organisation_id is None:
        return User.objects.none()
    return User.objects.filter(organisation_id=user.organisation_id, is_active=True).order_by(
        "role", "full_name"
    )
