"""Every link on the commissioner's dashboard works however the dashboard was opened: from the
navigation (no query), after "Show" (a full query), with a place alone, and from the nightly
snapshots. Each link is followed with the real client; the drill-down pages' own links too."""

import datetime
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from commissioning.remit import RemitClause
from referrals.models import RemitLimitMark, ReportKind, ReportRun
from referrals.reports.snapshots import report_snapshot_refresh
from tests.factories import PlaceFactory, ReferralFactory

# What the reports say; how they are prepared off the web is test_reports_off_the_web.py.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reports_at_once")]

NOW = "2026-11-23 10:00 +0000"
DRILL_DOWNS = ("breach_referrals", "override_referrals")


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(attributes["id"])
        if tag == "a" and attributes.get("href"):
            self.hrefs.append(attributes["href"])


def links_on(response) -> _Links:
    parser = _Links()
    parser.feed(response.content.decode())
    return parser


@pytest.fixture
def world(system, icc, home_from_hospital, red_cross_lead, northbridge):
    """A breach of each kind the table links, an override, a mark, and a second place."""
    when = timezone.make_aware(datetime.datetime(2026, 11, 10, 10))
    emergency = ReferralFactory(
        referrer=icc, service=home_from_hospital, referred_at=when, urgency="emergency",
        out_of_remit=True, override_reason="No one else could go.", place=northbridge,
    )  # fmt: skip
    ReferralFactory(
        referrer=icc, service=home_from_hospital, referred_at=when, activities=["personal_care"],
        out_of_remit=True, override_reason="Nobody else.", place=PlaceFactory(system=system),
    )  # fmt: skip
    RemitLimitMark.objects.create(
        referral=emergency,
        specification=home_from_hospital.specifications.get(),
        clause=RemitClause.URGENCY,
        clause_text="Highest urgency accepted: Urgent",
        marked_by=red_cross_lead,
        marked_at=timezone.now(),
    )
    return emergency


def _snapshots(system):
    for kind in ReportKind.values:
        report_snapshot_refresh(
            system_id=system.pk,
            kind=kind,
            date_from=datetime.date(2026, 1, 1),
            date_to=datetime.date(2026, 11, 22),
        )


def follow_every_link(client, page) -> list[str]:
    """Each link's path and status, the ones that failed only; in-page links must name an id."""
    found = links_on(page)
    failed = []
    for href in found.hrefs:
        if href.startswith("#"):
            if href[1:] not in found.ids:
                failed.append(f"{href}: no such id")
            continue
        response = client.get(href, follow=True)
        csv = response.get("Content-Type") == "text/csv"
        if response.status_code != 200 or not (csv or "text/html" in response["Content-Type"]):
            failed.append(f"{href}: {response.status_code}")
    return failed


@pytest.mark.parametrize(
    ("query", "from_snapshots"),
    [
        pytest.param({}, False, id="from-the-navigation"),
        pytest.param({}, True, id="from-the-navigation-nightly-snapshots"),
        pytest.param({"date_from": "2026-11-01", "date_to": "2026-11-22"}, False, id="after-show"),
        pytest.param({"place": "northbridge"}, False, id="a-place-alone"),
        pytest.param({"date_to": "2026-11-22"}, False, id="an-end-date-alone"),
    ],
)
def test_every_link_on_the_dashboard_works_however_it_was_opened(
    client, commissioner, system, northbridge, world, query, from_snapshots
):
    if from_snapshots:
        _snapshots(system)
    if query.get("place") == "northbridge":
        query = {"place": str(northbridge.pk)}
    client.force_login(commissioner)

    dashboard = client.get(reverse("dashboard"), query)

    assert dashboard.status_code == 200
    assert dashboard.context["split"]["total"] == (1 if "place" in query else 2)
    # A period the nights did not compute was asked of a task (reports_at_once ran it).
    assert ReportRun.objects.filter(requested=True).exists() is not from_snapshots
    hrefs = links_on(dashboard).hrefs
    drill_downs = [
        href for href in hrefs if any(urlsplit(href).path == reverse(n) for n in DRILL_DOWNS)
    ]
    # The urgency and excluded-activity breaches, the mark and the service's overrides (Northbridge
    # has no excluded activity): a link left out of the table would go unchecked.
    assert len(drill_downs) == (3 if "place" in query else 4), hrefs
    assert follow_every_link(client, dashboard) == []
    for href in drill_downs:
        drill_down = client.get(href)
        assert drill_down.status_code == 200, href
        assert "Back to the dashboard" in drill_down.content.decode()
        assert follow_every_link(client, drill_down) == [], href


def test_a_drill_down_without_dates_counts_the_default_period_as_the_dashboard_does(
    client, commissioner, world, home_from_hospital
):
    client.force_login(commissioner)

    response = client.get(
        reverse("breach_referrals"),
        {"organisation": home_from_hospital.organisation.name,
         "service": home_from_hospital.name, "rule": "urgency"},
    )  # fmt: skip

    assert response.status_code == 200
    assert list(response.context["page"]) == [world]
    assert (response.context["date_from"], response.context["date_to"]) == (
        datetime.date(2026, 1, 1),
        datetime.date(2026, 11, 22),
    )


def test_a_date_sent_empty_is_still_an_error_at_its_field(client, commissioner):
    client.force_login(commissioner)

    response = client.get(reverse("dashboard"), {"date_from": "", "date_to": "2026-11-22"})

    assert response.status_code == 200
    assert "date_from" in response.context["form"].errors
    assert "split" not in response.context
