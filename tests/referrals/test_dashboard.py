import csv
import datetime
import io

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from commissioning.remit import RemitClause
from referrals.models import RemitLimitMark, ReportKind, ReportRun
from referrals.reports.snapshots import report_snapshot_refresh
from referrals.reports.tables import BREACH_COLUMNS
from referrals.services_concerns import concern_raise
from tests.factories import (
    PlaceFactory,
    ReferralFactory,
    ServiceFactory,
    SystemFactory,
    UserFactory,
)

# What the reports say; how they are prepared off the web is test_reports_off_the_web.py.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reports_at_once")]

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


@pytest.fixture
def marked(referrals, home_from_hospital, red_cross_lead):
    """The emergency referral, marked "at the limit of our remit" by the Red Cross."""
    return RemitLimitMark.objects.create(
        referral=referrals,
        specification=home_from_hospital.specifications.get(),
        clause=RemitClause.URGENCY,
        clause_text="Highest urgency accepted: Urgent",
        marked_by=red_cross_lead,
        marked_at=timezone.now(),
    )


def test_the_commissioner_sees_the_split_and_the_breaches_for_the_period(
    client, commissioner, referrals
):
    client.force_login(commissioner)

    response = client.get(reverse("dashboard"), PERIOD)

    assert response.context["split"]["total"] == 2
    assert response.context["breaches"]["by_rule"]["urgency"] == 1
    page = response.content.decode()
    assert '<th scope="col" class="text-end">Urgency</th>' in page
    assert 'id="split-by-month"' in page  # the chart's data, with its table beside it


def test_the_breaches_table_has_a_row_per_service_and_each_count_opens_its_referrals(
    client, commissioner, referrals, home_from_hospital, marked
):
    client.force_login(commissioner)

    (row,) = client.get(reverse("dashboard"), PERIOD).context["breach_table"]

    assert (row.organisation, row.service) == (
        home_from_hospital.organisation.name,
        "Home from Hospital",
    )
    counts = dict(zip(BREACH_COLUMNS, (cell.count for cell in row.cells), strict=True))
    assert counts == {
        "urgency": 1, "excluded_activity": 0, "capacity": 0, "episode_length": 0,
        "interim_cover": 0, "concern_unacknowledged": 0, "marked_at_limit": 1,
    }  # fmt: skip
    # The mark is the service's evidence, not a breach: it is not in the row's total.
    assert (row.total, row.overridden) == (1, 1)
    for cell in (row.cells[0], row.cells[-1]):
        drill_down = client.get(cell.url)
        assert list(drill_down.context["page"]) == [referrals]
    assert "date_from=2026-11-01" in row.cells[0].url  # the period carries through


def test_open_concerns_are_shown_per_organisation_addressed_the_overdue_first(
    client, commissioner, referrals, red_cross_lead, community_trust, social_care, age_concern
):
    other_referral = ReferralFactory(
        referrer=referrals.referrer, service=referrals.service, referred_at=referrals.referred_at,
        statutory_declined_by=social_care, statutory_decline_reason="Not eligible",
    )  # fmt: skip
    age_concern_lead = UserFactory(role=Role.VSO_LEAD, organisation=age_concern)
    age_concern_referral = ReferralFactory(
        referrer=referrals.referrer,
        service=ServiceFactory(organisation=age_concern),
        referred_at=referrals.referred_at,
    )
    with time_machine.travel("2026-11-12 10:00 +0000", tick=False):
        # Addressed to the referrer's trust by two VSOs, one of them twice; one is critical
        # and was never acknowledged, so it is past its deadline.
        for referral, lead, severity in (
            (referrals, red_cross_lead, "critical"),
            (other_referral, red_cross_lead, "low"),
            (age_concern_referral, age_concern_lead, "high"),
        ):
            concern_raise(
                referral=referral, user=lead, addressed_to=community_trust, severity=severity,
                description="Still waiting for the district nurse.",
            )  # fmt: skip
    with time_machine.travel("2026-11-21 10:00 +0000", tick=False):
        concern_raise(
            referral=other_referral, user=red_cross_lead, addressed_to=social_care, severity="low",
            description="No word from the social worker.",
        )  # fmt: skip
    client.force_login(commissioner)

    response = client.get(reverse("dashboard"), PERIOD)

    assert [
        (
            row["addressed_to"],
            row["raised_by"],
            row["open"],
            row["serious"],
            row["oldest_raised_on"],
        )
        for row in response.context["concerns"]
    ] == [
        (community_trust.name, 2, 3, 2, "2026-11-12"),
        (social_care.name, 1, 1, 0, "2026-11-21"),
    ]
    assert response.context["concerns"][0]["past_deadline"] == 3
    assert "3 past deadline" in response.content.decode()
    # The download keeps the pairs of organisation addressed and organisation raising them.
    download = client.get(reverse("dashboard_csv", args=["concerns"]), PERIOD)
    assert len(list(csv.DictReader(io.StringIO(download.content.decode())))) == 3


def test_the_default_period_is_the_year_to_yesterday_from_the_nightly_snapshot(
    client, commissioner, referrals
):
    report_snapshot_refresh(
        system_id=SystemFactory().pk,
        kind=ReportKind.REFERRAL_SPLIT,
        date_from=datetime.date(2026, 1, 1),
        date_to=datetime.date(2026, 11, 22),
    )
    client.force_login(commissioner)

    response = client.get(reverse("dashboard"))

    assert response.context["snapshot"] is not None
    assert not response.context["stale"]
    assert "From the reports generated" in response.content.decode()


def test_a_snapshot_older_than_36_hours_is_called_out(client, commissioner, referrals):
    with time_machine.travel("2026-11-21 02:00 +0000", tick=False):
        report_snapshot_refresh(
            system_id=SystemFactory().pk,
            kind=ReportKind.REFERRAL_SPLIT,
            date_from=datetime.date(2026, 11, 1),
            date_to=datetime.date(2026, 11, 20),
        )
    client.force_login(commissioner)

    response = client.get(reverse("dashboard"), PERIOD)

    assert response.context["stale"]
    assert "have not run for more than 36 hours" in response.content.decode()
    # The period's own figures were computed just now, on request: not out of date.
    assert "may be out of date" not in response.content.decode()


def test_a_stale_snapshot_of_the_period_is_not_passed_off_as_computed_now(
    client, commissioner, referrals
):
    with time_machine.travel("2026-11-21 02:00 +0000", tick=False):
        for kind in ReportKind.values:
            report_snapshot_refresh(
                system_id=SystemFactory().pk,
                kind=kind,
                date_from=datetime.date(2026, 11, 1),
                date_to=datetime.date(2026, 11, 22),
            )
    client.force_login(commissioner)

    page = client.get(reverse("dashboard"), PERIOD).content.decode()

    assert "The figures below are from the last run and may be out of date." in page
    assert "computed now" not in page


def test_a_failed_nightly_report_is_shown(client, commissioner):
    ReportRun.objects.create(
        system=SystemFactory(),
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

    assert list(response.context["page"]) == [referrals]
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
    assert response.context["snapshot"].place == elsewhere


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

    assert list(response.context["page"]) == [referrals]
    assert "No one else could go." in response.content.decode()
    assert client.get(reverse("override_referrals"), {**PERIOD, "service": "x"}).status_code == 404


def test_a_marked_referral_drills_down_from_the_breaches_section(
    client, commissioner, referrals, home_from_hospital, marked
):
    client.force_login(commissioner)

    response = client.get(
        reverse("breach_referrals"),
        {**PERIOD, "organisation": home_from_hospital.organisation.name,
         "service": home_from_hospital.name, "rule": "marked_at_limit"},
    )  # fmt: skip

    assert list(response.context["page"]) == [referrals]
    assert "Home from Hospital: marked at the limit of remit" in response.content.decode()


@pytest.mark.parametrize("role", [Role.ICC, Role.VSO_LEAD, Role.VSO_WORKER, Role.ADMINISTRATOR])
def test_only_commissioners_see_the_dashboard(client, user_for_role, role):
    client.force_login(user_for_role(role))

    assert client.get(reverse("dashboard")).status_code == 403
    assert client.get(reverse("dashboard_csv", args=["by_month"])).status_code == 403
    assert client.get(reverse("breach_referrals")).status_code == 403
    assert client.get(reverse("override_referrals")).status_code == 403


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
            system_id=SystemFactory().pk,
            kind=kind,
            date_from=datetime.date(2026, 11, 1),
            date_to=datetime.date(2026, 11, 22),
        )
    client.force_login(commissioner)
    client.get(reverse("dashboard"), PERIOD)

    # 6: the notification bell's unread count is one of them.
    with django_assert_max_num_queries(6) as queries:
        response = client.get(reverse("dashboard"), PERIOD)

    assert response.context["split"]["total"] == 3
    assert not any("referrals_referral" in query["sql"] for query in queries.captured_queries)


def test_a_long_drill_down_is_split_into_pages_and_keeps_the_period(
    client, commissioner, icc, home_from_hospital
):
    in_period = timezone.make_aware(datetime.datetime(2026, 11, 10, 10))
    ReferralFactory.create_batch(
        51, referrer=icc, service=home_from_hospital, referred_at=in_period, urgency="emergency"
    )
    client.force_login(commissioner)
    wanted = {**PERIOD, "organisation": home_from_hospital.organisation.name,
              "service": home_from_hospital.name, "rule": "urgency"}  # fmt: skip

    first = client.get(reverse("breach_referrals"), wanted)
    second = client.get(reverse("breach_referrals"), {**wanted, "page": 2})

    assert len(first.context["page"]) == 50 and len(second.context["page"]) == 1
    assert "51 referrals" in first.content.decode()
    assert "Page 1 of 2" in first.content.decode()
    assert "?date_from=2026-11-01&amp;date_to=2026-11-22" in first.content.decode()  # back link


def test_from_a_snapshot_the_page_reads_the_figures_and_the_drill_down_the_referrals(
    client, commissioner, referrals, home_from_hospital, django_assert_max_num_queries
):
    for kind in ReportKind.values:
        report_snapshot_refresh(
            system_id=SystemFactory().pk,
            kind=kind,
            date_from=datetime.date(2026, 11, 1),
            date_to=datetime.date(2026, 11, 22),
        )
    client.force_login(commissioner)
    first = client.get(reverse("dashboard"), PERIOD)

    # 6: the notification bell's unread count is one of them.
    with django_assert_max_num_queries(6) as queries:
        client.get(reverse("dashboard"), PERIOD)

    # The snapshot's lists of referral ids stay in the database; the counts are enough here.
    (snapshot_query,) = [q["sql"] for q in queries.captured_queries if "reportsnapshot" in q["sql"]]
    assert '"referral_ids"' not in snapshot_query
    (row,) = first.context["breach_table"]
    assert (row.cells[0].count, row.overridden) == (1, 1)
    drill_down = client.get(row.cells[0].url)
    assert list(drill_down.context["page"]) == [referrals]
    download = client.get(reverse("dashboard_csv", args=["breaches"]), PERIOD)
    (line,) = csv.DictReader(io.StringIO(download.content.decode()))
    assert (line["referral_ids"], line["overridden"]) == (str(referrals.pk), "1")


SECTIONS = "referrals/_dashboard_sections.html"


def rendered(response) -> bool:
    return SECTIONS in [template.name for template in response.templates]


def test_from_the_snapshots_the_sections_are_rendered_once_until_a_snapshot_changes(
    client, commissioner, icc, home_from_hospital
):
    period = {"date_from": datetime.date(2026, 11, 1), "date_to": datetime.date(2026, 11, 22)}
    in_period = timezone.make_aware(datetime.datetime(2026, 11, 10, 10))
    ReferralFactory(referrer=icc, service=home_from_hospital, referred_at=in_period)
    for kind in ReportKind.values:
        report_snapshot_refresh(system_id=SystemFactory().pk, kind=kind, **period)
    client.force_login(commissioner)

    first = client.get(reverse("dashboard"), PERIOD)
    again = client.get(reverse("dashboard"), PERIOD)
    elsewhere = client.get(reverse("dashboard"), {**PERIOD, "extra": "1"})

    assert rendered(first) and not rendered(again)
    assert again.content.decode().count("Referral split: 1 referral<") == 1
    # The links carry the period, not the query as typed: the same period is the same page.
    assert not rendered(elsewhere)

    with time_machine.travel("2026-11-23 10:20 +0000", tick=False):
        ReferralFactory(referrer=icc, service=home_from_hospital, referred_at=in_period)
        report_snapshot_refresh(
            system_id=SystemFactory().pk, kind=ReportKind.REFERRAL_SPLIT, **period
        )
        after = client.get(reverse("dashboard"), PERIOD)

    assert rendered(after)
    assert "Referral split: 2 referrals" in after.content.decode()
