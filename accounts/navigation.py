"""The header navigation: one list, each entry naming the roles that may use it."""

from dataclasses import dataclass

from django.urls import reverse

from accounts.models import Role

ALL_ROLES = tuple(Role.values)
# Each role's own home page. "Home" and signing in lead straight there, not through the `home`
# redirect: a round trip saved on the page people open most.
ROLE_HOMES: dict[str, str] = {
    Role.ICC: "icc_home",
    Role.COMMISSIONER: "commissioner_home",
    Role.VSO_LEAD: "vso_lead_home",
    Role.VSO_WORKER: "vso_worker_home",
    Role.ADMINISTRATOR: "administrator_home",
}


def home_url_name(user) -> str:
    return ROLE_HOMES.get(getattr(user, "role", ""), "home")


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
    NavItem("Episodes", "episode_list", (Role.VSO_LEAD, Role.VSO_WORKER)),
    NavItem("Our outcomes", "our_outcomes", (Role.VSO_LEAD,)),
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
    return [
        NavItem(item.label, home_url_name(user), item.roles) if item.url_name == "home" else item
        for item in NAVIGATION
        if user.has_role(*item.roles)
    ]
