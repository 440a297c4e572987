"""The commissioner's dashboard shows the gaps between services (#12 point 5): the voluntary
referrals made after a health or social care service declined first, by who declined and why,
and how many statutory waits passed their limit."""

import csv
import datetime
import io

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse

from referrals.models import ReportKind, ReportSnapshot
from referrals.reports.snapshots import report_snapshot_refresh
from tests.factories import ReferralFactory

# What the reports say; how they are prepared off the web is test_reports_off_the_web.py.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reports_at_once")]

NOW = datetime.datetime(2026, 11, 23, 10, tzinfo=datetime.UTC)
PERIOD = {"date_from": "2026-11-01", "date_to": "2026-11-22"}
IN_PERIOD = datetime.datetime(2026, 11, 10, 9, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def gaps(icc, home_from_hospital, social_care, community_trust):
    for declined_by, reason in (
        (social_care, "Not social care: it's health"),
        (social_care, "Not social care: it's health"),
        (social_care, "No capacity this month"),
        (community_trust, "Not a nursing need"),
    ):
        ReferralFactory(
            referrer=icc, service=home_from_hospital, referred_at=IN_PERIOD,
            statutory_declined_by=declined_by, statutory_decline_reason=reason,
        )  # fmt: skip
    # An urgent social care referral never contacted: 13 days against the 2 allowed.
    ReferralFactory(
        referrer=icc, organisation=social_care, service=None, destination_sector="social_care",
        urgency="urgent", referred_at=IN_PERIOD, status="received",
    )  # fmt: skip


def test_the_dashboard_shows_the_gap_referrals_by_who_declined_first_and_why(
    client, commissioner, gaps, social_care, community_trust
):
    client.force_login(commissioner)

    response = client.get(reverse("dashboard"), PERIOD)

    shown = response.context["gaps"]
    assert shown.total == 4
    assert [(row["organisation"], row["total"]) for row in shown.by_statutory_organisation] == [
        (community_trust.name, 1),
        (social_care.name, 3),
    ]
    page = response.content.decode()
    assert "Gaps between services: 4 gap referrals" in page
    assert 'Not social care: it&#x27;s health</td><td class="text-end">2</td>' in page
    assert 'id="gaps-data"' in page  # the chart's data, with its table beside it


def test_the_statutory_waits_past_their_limit_are_counted_and_link_to_the_waiting_list(
    client, commissioner, gaps
):
    client.force_login(commissioner)

    page = client.get(reverse("dashboard"), PERIOD).content.decode()

    assert "<strong>1 statutory wait passed its limit</strong>" in page
    assert f'href="{reverse("referral_waiting")}"' in page


def test_the_gaps_download_as_csv_by_organisation_and_reason_without_a_patient(
    client, commissioner, gaps, social_care, community_trust
):
    client.force_login(commissioner)

    response = client.get(reverse("dashboard_csv", args=["gaps"]), PERIOD)

    assert response["Content-Disposition"] == (
        'attachment; filename="gaps-2026-11-01-2026-11-22.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["organisation", "reason", "count"],
        [community_trust.name, "Not a nursing need", "1"],
        [social_care.name, "Not social care: it's health", "2"],
        [social_care.name, "No capacity this month", "1"],
    ]


def test_a_period_with_no_gaps_says_so(client, commissioner):
    client.force_login(commissioner)

    page = client.get(reverse("dashboard"), PERIOD).content.decode()

    assert "Gaps between services: 0 gap referrals" in page
    assert "No gap referrals in this period." in page
    assert "No statutory wait passed its limit" in page
    assert 'id="gaps-chart"' not in page


def test_a_snapshot_stored_before_the_gaps_were_counted_shows_none(
    client, commissioner, gaps, system
):
    for kind in ReportKind.values:
        report_snapshot_refresh(
            system_id=system.pk, kind=kind,
            date_from=datetime.date(2026, 11, 1), date_to=datetime.date(2026, 11, 22),
        )  # fmt: skip
    snapshot = ReportSnapshot.objects.get(kind=ReportKind.REFERRAL_SPLIT)
    del snapshot.data["gap_referrals"], snapshot.data["statutory_waits_past_limit"]
    snapshot.save()
    client.force_login(commissioner)

    response = client.get(reverse("dashboard"), PERIOD)
    download = client.get(reverse("dashboard_csv", args=["gaps"]), PERIOD)

    assert response.context["snapshot"] == snapshot
    assert response.context["gaps"].total == 0
    assert "No statutory wait passed its limit" in response.content.decode()
    assert download.content.decode().strip() == "organisation,reason,count"


def test_the_gaps_from_the_nightly_snapshot_match_those_computed_now(
    client, commissioner, gaps, system
):
    client.force_login(commissioner)
    computed = client.get(reverse("dashboard"), PERIOD).context["gaps"]
    for kind in ReportKind.values:
        report_snapshot_refresh(
            system_id=system.pk, kind=kind,
            date_from=datetime.date(2026, 11, 1), date_to=datetime.date(2026, 11, 22),
        )  # fmt: skip

    cache.clear()  # the sections rendered from the first snapshot, kept by the same clock time
    response = client.get(reverse("dashboard"), PERIOD)

    assert response.context["snapshot"] is not None
    assert response.context["gaps"] == computed
