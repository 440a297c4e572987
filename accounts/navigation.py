"""The header navigation: one list, each entry naming the roles that may use it."""

from dataclasses import dataclass

from django.urls import reverse

from accounts.models import Role

ALL_ROLES = tuple(Role.values)


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: tuple[str, ...]

    @property
    def url(self) -> str:
        return reverse(self.url_name)


NAVIGATION = (
    NavItem("Home", "home", ALL_ROLES),
    NavItem(
        "Referrals",
        "referral_list",
        (Role.ICC, Role.VSO_LEAD, Role.VSO_WORKER, Role.COMMISSIONER),
    ),
    NavItem("New referral", "referral_create", (Role.ICC,)),
    NavItem("Dashboard", "dashboard", (Role.COMMISSIONER,)),
    NavItem("Our remit", "remit_page", (Role.VSO_LEAD,)),
    NavItem("Waiting", "referral_waiting", (Role.ICC, Role.COMMISSIONER)),
    NavItem(
        "Concerns",
        "concern_list",
        (Role.ICC, Role.VSO_LEAD, Role.VSO_WORKER, Role.COMMISSIONER),
    ),
    NavItem("Directory", "directory", ALL_ROLES),
    NavItem("Organisations", "organisation_list", ALL_ROLES),
    NavItem("Frameworks", "framework_list", (Role.COMMISSIONER, Role.ADMINISTRATOR)),
    NavItem("Specifications", "specification_list", (Role.COMMISSIONER, Role.ADMINISTRATOR)),
    NavItem("Users", "user_list", (Role.ADMINISTRATOR,)),
    NavItem("Access log", "access_log", (Role.ADMINISTRATOR,)),
    NavItem("Django admin", "admin:index", (Role.ADMINISTRATOR,)),
)


def nav_items_for(user) -> list[NavItem]:
    if not user.is_authenticated:
        return []
    return [item for item in NAVIGATION if user.has_role(*item.roles)]
