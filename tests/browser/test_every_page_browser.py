"""Every page each role can reach, in chromium: at 375px (a phone) none scrolls sideways, and at
1280px axe finds nothing to fix and the navigation fits on one line. The pages come from the URL
inventory of tests/vsocare/test_tenancy.py, so a new page is walked without being listed here.

Screenshots of each role's main pages, full length at both widths, are written to
$SCREENSHOT_DIR (default var/screenshots, which git ignores) for a reviewer to look at."""

import datetime
import os
from pathlib import Path
from pprint import pformat

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification, Role
from commissioning.codes import SpecificationStatus
from commissioning.remit import RemitClause
from referrals.models import Concern, RemitLimitMark
from tests.factories import (
    TEST_PASSWORD,
    ConsentFactory,
    EpisodeFactory,
    EpisodeInputFactory,
    GoalFactory,
    OutcomeScoreFactory,
    PatientFactory,
    ReferralFactory,
    SpecificationFactory,
    score_fields,
)
from tests.vsocare.test_tenancy import ROUTES

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("starting_codes"),
]

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
# Kinds of route that are never a page of their own: files, and actions that only take a POST.
NOT_PAGES = {"csv", "action"}
# The pages a reviewer looks at first, photographed for each role that can open them.
MAIN_PAGES = {
    "icc_home", "commissioner_home", "vso_lead_home", "vso_worker_home", "administrator_home",
    "referral_list", "referral_detail", "referral_create", "referral_waiting", "concern_list",
    "dashboard", "remit_page", "directory", "specification_list", "user_list", "access_log",
    "episode_list", "episode_detail",
}  # fmt: skip
HOMES = {
    Role.ICC: "Your referrals",
    Role.COMMISSIONER: "Commissioning overview",
    Role.VSO_LEAD: "Your organisation",
    Role.VSO_WORKER: "Your work",
    Role.ADMINISTRATOR: "Administration",
}
SCROLLING_RULES = {
    "runOnly": ["scrollable-region-focusable", "landmark-unique"],
    "resultTypes": ["violations"],
}
# How long a phone user may have to scroll past the referral list's filters to its first row.
MAX_PX_BEFORE_FIRST_ROW = 600

LONG_REASON = (
    "Discharged on Friday after a fall at home; lives alone on the second floor with no lift. "
    "Daughter abroad, reachable at margaret.featherstonehaugh-cholmondeley@example-family.org.uk "
    "in the evenings. Needs shopping and a welfare call until the reablement team can start. " * 2
)


def screenshot_dir() -> Path:
    folder = Path(os.environ.get("SCREENSHOT_DIR") or settings.BASE_DIR / "var" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def world(
    icc, commissioner, red_cross_lead, red_cross_worker, administrator, red_cross,
    home_from_hospital, community_trust, social_care,
):  # fmt: skip
    """A small system whose lists are not empty: a referral with long text, sent outside the
    remit with an override; a statutory referral waiting; concerns both ways; a mark at the
    limit of remit; a draft specification; a notification for everyone. Each kind of record a
    URL can name maps to the candidates tried in turn, the first that opens being used."""
    patient = PatientFactory(given_name="Margaret", family_name="Featherstonehaugh-Cholmondeley")
    ConsentFactory(patient=patient, recorded_by=icc)
    # Yesterday: in the dashboard's default period, which ends yesterday.
    yesterday = timezone.now() - datetime.timedelta(days=1)
    long = ReferralFactory(
        patient=patient, referrer=icc, service=home_from_hospital, urgency="emergency",
        needs=["shopping", "befriending"], activities=["shopping", "befriending"],
        reason=LONG_REASON, out_of_remit=True, override_reason=LONG_REASON, referred_at=yesterday,
    )  # fmt: skip
    marked = ReferralFactory(referrer=icc, service=home_from_hospital, referred_at=yesterday)
    ReferralFactory(
        patient=patient, referrer=icc, service=None, organisation=social_care,
        urgency="urgent", needs=["personal_care"], activities=["personal_care"],
        referred_at=timezone.now() - datetime.timedelta(days=19),
    )  # fmt: skip
    specification = home_from_hospital.specifications.get()
    RemitLimitMark.objects.create(
        referral=marked,
        specification=specification,
        clause=RemitClause.URGENCY,
        clause_text="Highest urgency accepted: Urgent",
        marked_by=red_cross_lead,
        marked_at=timezone.now(),
    )
    concerns = [
        Concern.objects.create(
            referral=long, raised_by=raiser, raised_by_organisation=raiser.organisation,
            addressed_to=addressed_to, severity=severity, description=LONG_REASON,
            raised_at=timezone.now() - datetime.timedelta(days=2),
            acknowledge_by=timezone.now() + datetime.timedelta(days=1),
        )
        for raiser, addressed_to, severity in (
            (red_cross_worker, community_trust, "high"), (icc, red_cross, "moderate"),
        )
    ]  # fmt: skip
    draft = SpecificationFactory(
        service=home_from_hospital,
        framework=specification.framework,
        status=SpecificationStatus.DRAFT,
        version=2,
    )
    # An episode with a goal, an input and the Outcomes Star before and after (its radar chart).
    specification.outcome_measures = ["wemwbs", "outcomes_star", "pam", "goals"]
    specification.outcomes_star_version = "wellbeing"
    specification.save()
    episode = EpisodeFactory(
        referral=ReferralFactory(
            patient=patient, referrer=icc, service=home_from_hospital, status="accepted",
            referred_at=yesterday,
        ),
    )  # fmt: skip
    goal = GoalFactory(episode=episode, description=LONG_REASON[:200])
    EpisodeInputFactory(episode=episode, note=LONG_REASON[:200])
    for timepoint, areas in (("baseline", [3, 4, 2, 5, 6, 3, 4, 2]), ("follow_up", [6] * 8)):
        OutcomeScoreFactory(
            episode=episode, measure="outcomes_star", timepoint=timepoint,
            **score_fields("outcomes_star", areas, star_version="wellbeing"),
        )  # fmt: skip
    people = (icc, commissioner, red_cross_lead, red_cross_worker, administrator)
    notifications = [
        Notification.objects.create(
            recipient=person, kind="referral_received",
            event_key=f"referral:{long.pk}:received:{person.pk}",
            title=f"New referral {long.reference} from Northbridge",
            link=f"/referrals/{long.pk}/",
        )
        for person in people
    ]  # fmt: skip
    return {
        "organisation": [red_cross, community_trust],
        "service": [home_from_hospital],
        "framework": [specification.framework],
        "specification": [specification],
        "draft": [draft],
        "referral": [long, marked],
        "concern": concerns,
        "notification": notifications,
        "user": list(people),
        "episode": [episode],
        "goal": [goal],
    }


def _query(name: str, world) -> str:
    """The query a drill-down page needs to show something."""
    service = world["service"][0]
    return {
        "breach_referrals": f"?organisation={service.organisation.name}"
        f"&service={service.name}&rule=urgency",
        "override_referrals": f"?service={service.pk}",
    }.get(name, "")


def pages_for(user, world) -> list[tuple[str, str]]:
    """(route name, URL) of every full HTML page this person can open, found by asking the
    server for each route of the inventory, with each candidate record in turn."""
    client = Client()
    client.force_login(user)
    pages = []
    for name, kind in sorted(ROUTES.items()):
        if kind in NOT_PAGES:
            continue
        records = [None] if kind in (None, "public") else world[kind]
        for record in records:
            url = reverse(name, args=[record.pk] if record else []) + _query(name, world)
            response = client.get(url)
            if (
                response.status_code == 200
                and response["Content-Type"].startswith("text/html")
                and b"<html" in response.content[:500]
            ):
                pages.append((name, url))
                break
    return pages


def sign_in(page, base_url: str, user) -> None:
    page.goto(f"{base_url}/sign-in/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name=HOMES[user.role]).wait_for()


WIDER_THAN_THE_VIEWPORT = """() => {
  const width = document.documentElement.clientWidth;
  // Inside a scrolling wrapper an element may be wide, unless it is positioned out of it.
  const contained = element => {
    if (['absolute', 'fixed'].includes(getComputedStyle(element).position)) return false;
    for (let up = element.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== 'visible') return true;
    }
    return false;
  };
  const wide = [...document.querySelectorAll('body *')].filter(element => {
    const box = element.getBoundingClientRect();
    return box.right > width + 1 && box.width > 0 && !contained(element);
  });
  // The outermost of each: a wide table says more than each of its cells.
  return {
    scrollWidth: document.documentElement.scrollWidth,
    offenders: wide.filter(element => !wide.includes(element.parentElement)).slice(0, 5).map(
      element => `${element.tagName.toLowerCase()}${element.id ? '#' + element.id : ''}` +
        `${element.className && typeof element.className === 'string' ? '.' +
        element.className.trim().split(/\\s+/).join('.') : ''}` +
        ` (right edge ${Math.round(element.getBoundingClientRect().right)}px)`),
  };
}"""

# The header's page links and account links: each one's box and line height, and the list's box.
HEADER = """() => {
  const measure = element => {
    const box = element.getBoundingClientRect();
    return {text: element.innerText.trim(), top: box.top, middle: box.top + box.height / 2,
            height: box.height, line: parseFloat(getComputedStyle(element).lineHeight)};
  };
  const all = selector => [...document.querySelectorAll(selector)].map(measure);
  return {
    pages: all('#main-nav .navbar-nav .nav-link'),
    account: all('#main-nav .vso-user a, #main-nav .vso-user button'),
    list: measure(document.querySelector('#main-nav .navbar-nav')),
  };
}"""


def header_problems(page) -> list[str]:
    """What keeps the header's links from reading as one line each: a link broken over two lines
    of text, a page link on a second row, or the account links not side by side."""
    header = page.evaluate(HEADER)
    pages, account = header["pages"], header["account"]
    assert pages and account, "no navigation found"
    problems = [
        f"{item['text']!r} wraps onto two lines"
        for item in (*pages, *account)
        if item["height"] > 1.9 * item["line"]
    ]
    problems += [
        f"{item['text']!r} is on another row"
        for item in pages
        if abs(item["top"] - pages[0]["top"]) > 1
    ]
    if header["list"]["height"] > pages[0]["height"] + 1:
        problems.append(f"the page links take {header['list']['height']}px, more than one row")
    problems += [
        f"{item['text']!r} is not beside the other account links"
        for item in account
        if abs(item["middle"] - account[0]["middle"]) > 4
    ]
    return problems


def shoot(page, role: str, name: str, width: int) -> None:
    page.screenshot(path=screenshot_dir() / f"{role}-{name}-{width}.png", full_page=True)


@pytest.mark.parametrize("role", list(HOMES))
def test_every_page_fits_a_phone_and_passes_axe(page, live_server, user_for_role, world, role):
    user = user_for_role(role)
    pages = pages_for(user, world)
    names = {name for name, _ in pages}
    # The walk is only as good as what it found: each role's own home and lists at least.
    assert {f"{role}_home", "directory", "organisation_list", "password_change"} <= names, names
    if role != Role.ADMINISTRATOR:
        assert {"referral_list", "referral_detail", "concern_list"} <= names, names
    # Whatever the Content-Security-Policy refuses on any page (a script, a style, an image).
    refused: list[str] = []
    page.on(
        "console",
        lambda message: refused.append(f"{page.url}: {message.text}")
        if "Content Security Policy" in message.text
        else None,
    )
    sign_in(page, live_server.url, user)

    too_wide: dict[str, dict] = {}
    page.set_viewport_size(PHONE)
    for name, url in pages:
        page.goto(live_server.url + url)
        measured = page.evaluate(WIDER_THAN_THE_VIEWPORT)
        if measured["scrollWidth"] > PHONE["width"]:
            too_wide[url] = measured
        # Only at this width do the tables scroll: each must be reachable from the keyboard.
        scrolling = Axe().run(page, options=SCROLLING_RULES)
        if scrolling.violations_count:
            too_wide[f"{url} (axe at 375px)"] = scrolling.generate_report()
        if name in MAIN_PAGES:
            shoot(page, role, name, PHONE["width"])
        if name == f"{role}_home":
            page.get_by_role("button", name="Show or hide navigation").click()
            page.locator("#main-nav.show").wait_for()
            if page.evaluate(WIDER_THAN_THE_VIEWPORT)["scrollWidth"] > PHONE["width"]:
                too_wide["the open menu"] = page.evaluate(WIDER_THAN_THE_VIEWPORT)
            shoot(page, role, "menu", PHONE["width"])
        if name == "referral_list":
            first_row = page.locator("tbody tr").first.bounding_box()
            if first_row["y"] > MAX_PX_BEFORE_FIRST_ROW:
                too_wide["first row of the referral list"] = first_row

    violations = {}
    header = []
    page.set_viewport_size(DESKTOP)
    for name, url in pages:
        page.goto(live_server.url + url)
        if name == f"{role}_home":
            header = header_problems(page)
        results = Axe().run(page)
        if results.violations_count:
            violations[url] = results.generate_report()
        if name in MAIN_PAGES:
            shoot(page, role, name, DESKTOP["width"])

    assert not too_wide, pformat(too_wide, width=100)
    assert not violations, "\n".join(f"{url}:\n{report}" for url, report in violations.items())
    assert not header, header
    assert not refused, "\n".join(refused)
