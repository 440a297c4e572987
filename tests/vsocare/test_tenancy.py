"""The integrated care system is the boundary: every route, walked as every role of another
system and as nobody, refuses Eastern's records, shows none of Eastern's data and changes
nothing. Every URL pattern must have an entry in ROUTES, so a new URL without an access test
fails here."""

import datetime

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import Notification, Role
from commissioning.codes import SpecificationStatus
from commissioning.models import CommissioningFramework, Organisation, Service, ServiceSpecification
from referrals.models import (
    Concern,
    Consent,
    Episode,
    EpisodeInput,
    Goal,
    OutcomeScore,
    Referral,
    RemitLimitMark,
)
from tests.factories import (
    EpisodeFactory,
    EpisodeInputFactory,
    GoalFactory,
    OutcomeScoreFactory,
    PatientFactory,
    ReferralFactory,
    SpecificationFactory,
    score_fields,
)

pytestmark = pytest.mark.django_db

# How each route is reached: the Eastern record its URL names (None: no record), and whether it
# is public.
ROUTES = {
    "notification_list": None, "notification_open": "notification",
    "notifications_mark_all_read": None, "notification_settings": None,
    "home": None, "icc_home": None, "commissioner_home": None, "vso_lead_home": None,
    "vso_worker_home": None, "administrator_home": None, "health": "public", "login": "public",
    "logout": "public", "password_change": None, "password_change_done": None,
    "two_factor_verify": None, "two_factor_enrol": None,
    "user_list": None, "user_unlock": "user", "organisation_list": None,
    "organisation_detail": "organisation",
    "organisation_listing_edit": "organisation", "organisation_verify": "organisation",
    "directory": None, "service_detail": "service", "service_listing_edit": "service",
    "framework_list": None, "framework_create": None, "framework_detail": "framework",
    "framework_edit": "framework", "specification_list": None,
    "specification_detail": "specification", "specification_edit": "draft",
    "specification_publish": "draft", "specification_new_version": "specification",
    "specification_retire": "specification", "specification_compare": "specification",
    "specification_create": "service", "directory_services_json": "public",
    "dashboard": None, "dashboard_csv": "csv", "breach_referrals": None,
    "dashboard_preparing": None, "dashboard_prepare": None,
    "override_referrals": None, "referral_list": None, "referral_create": None,
    "referral_waiting": None, "referral_remit_check": None, "patient_lookup": None,
    "patient_search": None, "remit_page": None, "referral_detail": "referral",
    "referral_remit_mark": "referral", "referral_remit_mark_withdraw": "referral",
    "concern_raise": "referral", "referral_consent": "referral", "referral_action": "action",
    "concern_list": None, "concern_acknowledge": "concern", "concern_resolve": "concern",
    "concern_reply": "concern",
    "access_log": None, "access_log_csv": None, "concern_deadlines": None,
    "episode_list": None, "episode_open": "referral", "episode_detail": "episode",
    "episode_edit": "episode", "episode_goal_add": "episode", "episode_input_add": "episode",
    "episode_score_record": "episode", "goal_mark": "goal",
    "added_value": None, "added_value_csv": None, "added_value_section": None,
    "our_outcomes": None, "our_outcomes_csv": None,
}  # fmt: skip
# The gaps still open, each a strict expected failure: it fails the suite once it is fixed, so
# that its mark is taken away.
KNOWN_GAPS: dict[tuple[str, str], str] = {}


def cases(kinds) -> list:
    return [
        pytest.param(
            name,
            role,
            id=f"{name}-{role}",
            marks=[pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[name, role])]
            if (name, role) in KNOWN_GAPS
            else [],
        )
        for name, kind in sorted(ROUTES.items())
        if kinds(kind)
        for role in Role
    ]


def route_names(patterns=None) -> set[str]:
    names = set()
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.app_name != "admin":  # the Django admin has its own test
                names |= route_names(pattern.url_patterns)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(pattern.name)
    return names


@pytest.fixture
def eastern(icc, red_cross, red_cross_worker, home_from_hospital, community_trust, commissioner):
    """Eastern Health's records, one of each kind a URL can name."""
    patient = PatientFactory(given_name="Edna", family_name="Marsh")
    referral = ReferralFactory(
        patient=patient, referrer=icc, service=home_from_hospital, needs=["shopping"]
    )
    concern = Concern.objects.create(
        referral=referral,
        raised_by=red_cross_worker,
        raised_by_organisation=red_cross,
        addressed_to=community_trust,
        severity="high",
        description="Eastern concern text.",
        raised_at=referral.referred_at,
        acknowledge_by=referral.referred_at + datetime.timedelta(days=1),
    )
    specification = home_from_hospital.specifications.get()
    # An episode of wellbeing co-ordination, once the Red Cross accepted the referral, with a
    # goal, an input and a baseline score.
    Referral.objects.filter(pk=referral.pk).update(status="accepted")
    episode = EpisodeFactory(referral=referral)
    goal = GoalFactory(episode=episode, description="Eastern goal text.")
    EpisodeInputFactory(episode=episode)
    OutcomeScoreFactory(episode=episode, measure="wemwbs", **score_fields("wemwbs", [3] * 14))
    draft = SpecificationFactory(
        service=home_from_hospital,
        framework=specification.framework,
        status=SpecificationStatus.DRAFT,
        version=2,
    )
    return {
        "organisation": red_cross,
        "service": home_from_hospital,
        "framework": specification.framework,
        "specification": specification,
        "draft": draft,
        "referral": referral,
        "concern": concern,
        "episode": episode,
        "goal": goal,
        "patient": patient,
        "user": red_cross_worker,
        "notification": Notification.objects.create(
            recipient=red_cross_worker, kind="referral_received",
            event_key=f"referral:{referral.pk}:received",
            title=f"New referral {referral.reference} from Northbridge",
            link=f"/referrals/{referral.pk}/",
        ),
    }  # fmt: skip


# Strings that only Eastern's records contain: none may appear on a Western person's page.
def markers(eastern) -> list[str]:
    return [
        eastern["organisation"].name,
        "Eastern Community Health Services",
        "Northbridge",
        eastern["patient"].family_name,
        eastern["patient"].nhs_number,
        eastern["referral"].reference,
        "Eastern concern text.",
        "Eastern goal text.",
    ]


def url_for(name: str, eastern) -> str:
    kind = ROUTES[name]
    if kind in (None, "public"):
        return reverse(name)
    if kind == "csv":
        return reverse(name, args=["breaches"])
    if kind == "action":
        return reverse(name, args=[eastern["referral"].pk, "accept"])
    return reverse(name, args=[eastern[kind].pk])


def snapshot() -> dict:
    """Everything of Eastern's a request could change."""
    return {
        model.__name__: list(model.objects.order_by("pk").values())
        for model in (
            Organisation, Service, CommissioningFramework, ServiceSpecification, Referral,
            Concern, RemitLimitMark, Consent, Notification, Episode, Goal, EpisodeInput,
            OutcomeScore,
        )
    }  # fmt: skip


def test_every_url_pattern_has_an_access_rule():
    assert route_names() == set(ROUTES)


@pytest.mark.parametrize(("name", "role"), cases(lambda kind: kind not in (None, "public", "csv")))
def test_another_systems_records_are_not_found_and_not_changed(
    client, western_people, eastern, role, name
):
    client.force_login(western_people[role])
    url = url_for(name, eastern)
    before = snapshot()

    got, posted = client.get(url), client.post(url, {"reason": "x", "version": 1})

    assert got.status_code in (403, 404, 405), (name, got.status_code)
    assert posted.status_code in (403, 404, 405), (name, posted.status_code)
    assert snapshot() == before


def _query_for(name: str, eastern) -> dict:
    """The query a page takes, aimed at Eastern's data: a patient's number, a name."""
    patient = eastern["patient"]
    return {
        "patient_lookup": {"nhs_number": patient.nhs_number},
        "patient_search": {"q": patient.family_name},
        "directory": {"text": "Home"},
        "breach_referrals": {"organisation": eastern["organisation"].name,
                             "service": eastern["service"].name, "rule": "capacity"},
        "override_referrals": {"service": eastern["service"].pk},
    }.get(name, {})  # fmt: skip


@pytest.mark.parametrize(("name", "role"), cases(lambda kind: kind in (None, "csv")))
def test_pages_show_another_system_nothing(client, western_people, eastern, role, name):
    client.force_login(western_people[role])

    response = client.get(url_for(name, eastern), _query_for(name, eastern), follow=True)

    page = response.content.decode()
    leaked = [marker for marker in markers(eastern) if marker in page]
    assert leaked == [], (name, response.status_code)


def test_a_referral_to_another_systems_service_is_refused_at_the_field(
    client, western_people, eastern
):
    client.force_login(western_people[Role.ICC])

    response = client.post(
        reverse("referral_create"),
        {"nhs_number": eastern["patient"].nhs_number, "source": "icc",
         "destination_sector": "voluntary", "service": eastern["service"].pk,
         "needs": ["shopping"], "urgency": "routine"},
    )  # fmt: skip

    assert response.status_code == 200
    assert "service" in response.context["form"].errors
    assert Referral.objects.count() == 1


@pytest.mark.parametrize("name", sorted(n for n, kind in ROUTES.items() if kind != "public"))
def test_nobody_signed_in_is_sent_to_sign_in(client, eastern, name):
    url = url_for(name, eastern)

    got, posted = client.get(url), client.post(url, {})

    for response in (got, posted):
        assert response.status_code in (302, 405), (name, response.status_code)
        if response.status_code == 302:
            assert response["Location"].startswith(reverse("login"))
