import csv
import datetime
import io

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from referrals.models import RemitClause, RemitLimitMark, ReportKind, ReportRun
from referrals.reports.snapshots import report_snapshot_refresh
from tests.factories import PlaceFactory, ReferralFactory, ServiceFactory

pytestmark = pytest.mark.django_db

NOW = "2026-11-23 10:00 +0000"
PERIOD = {"date_from": "2026-11-01", "date_to": "2026-11-22"}


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def referrals(icc, home_from_hospital):
    when = timezone.make_aware(datetime.datetime(2026, 11, 10, 10))
    ReferralFactory(referrer=icc, service=home_from_hospital, referred_at=when)
    return ReferralFactory(
        referrer=icc, service=home_from_hospital, referred_at=when, urgency="emergency",
        out_of_remit=True, override_reason="No one else could go.",
    )  # fmt: skip


def test_the_commissioner_sees_the_split_and_the_breaches_for_the_period(
    client, commissioner, referrals
):
    client.force_login(commissioner)

    response = client.get(reverse("dashboard"), PERIOD)

    assert response.context["split"]["total"] == 2
    assert response.context["breaches"]["by_rule"]["urgency"] == 1
    page = response.content.decode()
    assert "Urgency above the highest accepted" in page
    assert 'id="split-by-month"' in page  # the chart's data, with its table beside it


def test_the_default_period_is_the_year_to_yesterday_from_the_nightly_snapshot(
    client, commissioner, referrals
):
    report_snapshot_refresh(
        kind=ReportKind.REFERRAL_SPLIT,
        date_from=datetime.date(2026, 1, 1),
        date_to=datetime.date(2026, 11, 22),
    )
    client.force_login(commissioner)

    response = client.get(reverse("dashboard"))

    assert response.context["snapshot"] is not None
    assert not response.context["stale"]
    assert "From the nightly reports generated" in response.content.decode()


def test_a_snapshot_older_than_36_hours_is_called_out(client, commissioner, referrals):
    with time_machine.travel("2026-11-21 02:00 +0000", tick=False):
        report_snapshot_refresh(
            kind=ReportKind.REFERRAL_SPLIT,
            date_from=datetime.date(2026, 11, 1),
            date_to=datetime.date(2026, 11, 20),
        )
    client.force_login(commissioner)

    response = client.get(reverse("dashboard"), PERIOD)

    assert response.context["stale"]
    assert "have not run for more than 36 hours" in response.content.decode()


def test_a_failed_nightly_report_is_shown(client, commissioner):
    ReportRun.objects.create(
        kind=ReportKind.REMIT_BREACHES, date_from=datetime.date(2026, 11, 22),
        date_to=datetime.date(2026, 11, 22), started_at=timezone.now(),
        finished_at=timezone.now(), outcome=ReportRun.Outcome.FAILED, error="OperationalError",
    )  # fmt: skip
    client.force_login(commissioner)

    page = client.get(reverse("dashboard"), PERIOD).content.decode()

    assert "remit breaches report" in page and "failed" in page and "OperationalError" in page


def test_a_period_that_ends_before_it_starts_is_an_error_at_the_field(client, commissioner):
    client.force_login(commissioner)

    response = client.get(
        reverse("dashboard"), {"date_from": "2026-11-22", "date_to": "2026-11-01"}
    )

    assert "The period ends before it starts." in response.content.decode()
    assert "split" not in response.context


def test_each_table_downloads_as_csv(client, commissioner, referrals):
    client.force_login(commissioner)

    response = client.get(reverse("dashboard_csv", args=["by_month"]), PERIOD)

    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert response["Content-Type"] == "text/csv"
    assert rows == [{
        "month": "2026-11", "total": "2", "health": "0", "social_care": "0", "voluntary": "2",
        "percent_health": "0.0", "percent_social_care": "0.0", "percent_voluntary": "100.0",
    }]  # fmt: skip


def test_a_breach_count_drills_down_to_its_referrals_with_the_override(
    client, commissioner, referrals, home_from_hospital
):
    client.force_login(commissioner)

    response = client.get(
        reverse("breach_referrals"),
        {**PERIOD, "organisation": home_from_hospital.organisation.name,
         "service": home_from_hospital.name, "rule": "urgency"},
    )  # fmt: skip

    assert list(response.context["referrals"]) == [referrals]
    assert "No one else could go." in response.content.decode()


def test_the_dashboard_shows_every_section_of_the_service_activity(
    client, commissioner, referrals, home_from_hospital, age_concern
):
    ServiceFactory(organisation=age_concern, name="Street Champions")
    client.force_login(commissioner)

    response = client.get(reverse("dashboard"), PERIOD)

    activity = response.context["activity"]
    row = next(r for r in activity["services"] if r["service"] == "Home from Hospital")
    assert (row["received"], row["overrides"]) == (2, 1)
    assert [r["service"] for r in activity["off_the_radar"]] == ["Street Champions"]
    assert [r["service"] for r in response.context["overrides"]] == ["Home from Hospital"]
    assert [r["service"] for r in response.context["capacity"]] == ["Home from Hospital"]
    page = response.content.decode()
    for heading in (
        "Activity per voluntary service",
        "Capacity used against commissioned capacity",
        "Overrides",
        "Open concerns",
        "How widely the sector is used",
        "Off the radar: 1 active service with no referral in the period",
    ):
        assert heading in page
    for chart in ("split-by-month", "split-by-place", "capacity-data", "teams-data"):
        assert f'id="{chart}"' in page


def test_a_place_narrows_every_section(client, commissioner, referrals, system, icc):
    elsewhere = PlaceFactory(system=system, name="Southfield")
    client.force_login(commissioner)

    response = client.get(reverse("dashboard"), {**PERIOD, "place": elsewhere.pk})

    assert response.context["split"]["total"] == 0
    assert response.context["breaches"]["total"] == 0
    assert response.context["activity"]["teams"] == []
    assert response.context["snapshot"] is None


@pytest.mark.parametrize(
    ("section", "first_column"),
    [
        ("by_place", "place"),
        ("by_team", "team"),
        ("by_source", "source"),
        ("services", "organisation"),
        ("capacity", "organisation"),
        ("overrides", "organisation"),
        ("teams", "team"),
        ("off_the_radar", "organisation"),
        ("concerns", "addressed_to"),
        ("breaches", "organisation"),
    ],
)
def test_every_other_table_downloads_as_csv_too(
    client, commissioner, referrals, section, first_column
):
    client.force_login(commissioner)

    response = client.get(reverse("dashboard_csv", args=[section]), PERIOD)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert response.content.decode().split(",")[0] == first_column


def test_the_override_count_drills_down_to_the_reasons(
    client, commissioner, referrals, home_from_hospital
):
    client.force_login(commissioner)

    response = client.get(
        reverse("override_referrals"), {**PERIOD, "service": home_from_hospital.pk}
    )

    assert list(response.context["referrals"]) == [referrals]
    assert "No one else could go." in response.content.decode()
    assert client.get(reverse("override_referrals"), {**PERIOD, "service": "x"}).status_code == 404


def test_a_marked_referral_drills_down_from_the_breaches_section(
    client, commissioner, referrals, home_from_hospital, red_cross_lead
):
    RemitLimitMark.objects.create(
        referral=referrals,
        specification=home_from_hospital.specifications.get(),
        clause=RemitClause.URGENCY,
        clause_text="Highest urgency accepted: Urgent",
        marked_by=red_cross_lead,
        marked_at=timezone.now(),
    )
    client.force_login(commissioner)

    response = client.get(
        reverse("breach_referrals"),
        {**PERIOD, "organisation": home_from_hospital.organisation.name,
         "service": home_from_hospital.name, "rule": "marked_at_limit"},
    )  # fmt: skip

    assert list(response.context["referrals"]) == [referrals]
    assert "Home from Hospital: marked at the limit of remit" in response.content.decode()


@pytest.mark.parametrize("role", [Role.ICC, Role.VSO_LEAD, Role.VSO_WORKER, Role.ADMINISTRATOR])
def test_only_commissioners_see_the_dashboard(client, user_for_role, role):
    client.force_login(user_for_role(role))

    assert client.get(reverse("dashboard")).status_code == 403
    assert client.get(reverse("dashboard_csv", args=["by_month"])).status_code == 403
    assert client.get(reverse("breach_referrals")).status_code == 403
    assert client.get(reverse("override_referrals")).status_code == 403


def test_the_dashboard_computed_now_takes_at_most_eight_queries_however_many_referrals(
    client, commissioner, icc, home_from_hospital, django_assert_max_num_queries
):
    client.force_login(commissioner)
    in_period = timezone.make_aware(datetime.datetime(2026, 11, 10, 10))
    ReferralFactory.create_batch(2, referrer=icc, service=home_from_hospital, referred_at=in_period)
    client.get(reverse("dashboard"), PERIOD)  # the first request after sign-in renews the session
    with django_assert_max_num_queries(8):
        client.get(reverse("dashboard"), PERIOD)

    ReferralFactory.create_batch(
        25, referrer=icc, service=home_from_hospital, referred_at=in_period
    )
    with django_assert_max_num_queries(8):
        response = client.get(reverse("dashboard"), PERIOD)
    assert response.context["split"]["total"] == 27


def test_the_dashboard_from_the_nightly_snapshots_reads_no_referral(
    client, commissioner, icc, home_from_hospital, django_assert_max_num_queries
):
    ReferralFactory.create_batch(
        3,
        referrer=icc,
        service=home_from_hospital,
        referred_at=timezone.make_aware(datetime.datetime(2026, 11, 10, 10)),
    )
    for kind in ReportKind.values:
        report_snapshot_refresh(
            kind=kind, date_from=datetime.date(2026, 11, 1), date_to=datetime.date(2026, 11, 22)
        )
    client.force_login(commissioner)
    client.get(reverse("dashboard"), PERIOD)

    with django_assert_max_num_queries(5) as queries:
        response = client.get(reverse("dashboard"), PERIOD)

    assert response.context["split"]["total"] == 3
    assert not any("referrals_referral" in query["sql"] for query in queries.captured_queries)
