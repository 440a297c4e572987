"""Reports never block a web worker (issue 16, point 4): a period with no snapshot is computed by
a Celery task, the page says "being prepared" and polls until it is there, a second request joins
the first, a failure is shown with a way to ask again, and each system's periods are its own."""

import datetime
from unittest import mock

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from referrals.models import ReportKind, ReportRun, ReportSnapshot
from referrals.reports import snapshots
from referrals.reports.snapshots import (
    report_run_compute,
    report_runs_abandoned_fail,
    report_runs_request,
    report_snapshot_refresh,
)
from referrals.tasks import prepare_report
from tests.factories import PlaceFactory, ReferralFactory

pytestmark = pytest.mark.django_db

NOW = "2026-11-23 10:00 +0000"
PERIOD = {"date_from": "2026-03-01", "date_to": "2026-11-22"}
PERIOD_QUERY = "date_from=2026-03-01&date_to=2026-11-22"
D = datetime.date


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def referrals(icc, home_from_hospital):
    when = timezone.make_aware(datetime.datetime(2026, 11, 10, 10))
    return ReferralFactory.create_batch(
        2, referrer=icc, service=home_from_hospital, referred_at=when
    )


@pytest.fixture
def queued():
    """The tasks the pages queue, by run id, without running them."""
    with mock.patch.object(prepare_report, "delay") as delay:
        yield delay


def ask(client, url, params, django_capture_on_commit_callbacks):
    """One request, with what it queues on commit queued as it would be once it answers."""
    with django_capture_on_commit_callbacks(execute=True):
        return client.get(url, params)


def test_a_period_with_no_snapshot_queues_one_task_per_report_and_says_so(
    client, commissioner, referrals, queued, django_capture_on_commit_callbacks
):
    client.force_login(commissioner)

    response = ask(client, reverse("dashboard"), PERIOD, django_capture_on_commit_callbacks)

    page = response.content.decode()
    assert response.status_code == 200
    assert "are being prepared" in page
    assert "split" not in response.context
    runs = ReportRun.objects.filter(requested=True)
    assert sorted(runs.values_list("kind", flat=True)) == sorted(ReportKind.values)
    assert {call.args for call in queued.call_args_list} == {(run.pk,) for run in runs}
    polling = f'hx-get="{reverse("dashboard_preparing")}?{PERIOD_QUERY.replace("&", "&amp;")}"'
    assert polling in page and 'hx-trigger="every 2s"' in page


def test_a_second_request_for_the_period_joins_the_first(
    client, commissioner, referrals, queued, django_capture_on_commit_callbacks
):
    client.force_login(commissioner)
    ask(client, reverse("dashboard"), PERIOD, django_capture_on_commit_callbacks)
    queued.reset_mock()

    again = ask(client, reverse("dashboard"), PERIOD, django_capture_on_commit_callbacks)
    poll = ask(client, reverse("dashboard_preparing"), PERIOD, django_capture_on_commit_callbacks)
    download = ask(
        client, reverse("dashboard_csv", args=["breaches"]), PERIOD,
        django_capture_on_commit_callbacks,
    )  # fmt: skip

    assert "are being prepared" in again.content.decode()
    assert "are being prepared" in poll.content.decode()
    assert download.status_code == 202
    queued.assert_not_called()
    assert ReportRun.objects.count() == len(ReportKind.values)


def test_two_requests_at_the_same_moment_start_one_run(system):
    """What two requests racing do in the database: the second INSERT meets the first's row
    under the partial unique constraint and inserts nothing."""
    period = {"system": system, "date_from": D(2026, 3, 1), "date_to": D(2026, 11, 22)}

    first = report_runs_request(**period, kinds=[ReportKind.REFERRAL_SPLIT], place=None)
    second = report_runs_request(**period, kinds=[ReportKind.REFERRAL_SPLIT], place=None)

    assert len(first) == 1 and second == []
    with pytest.raises(IntegrityError), transaction.atomic():
        ReportRun.objects.create(
            **period, kind=ReportKind.REFERRAL_SPLIT, requested=True, started_at=timezone.now()
        )


def test_the_panel_polls_until_the_reports_are_ready_then_the_page_shows_them(
    client, commissioner, referrals, eager_tasks, django_capture_on_commit_callbacks
):
    client.force_login(commissioner)
    with mock.patch.object(prepare_report, "delay"):
        ask(client, reverse("dashboard"), PERIOD, django_capture_on_commit_callbacks)

    still = client.get(reverse("dashboard_preparing"), PERIOD)
    assert "are being prepared" in still.content.decode()
    assert 'hx-trigger="every 2s"' in still.content.decode()
    assert "HX-Refresh" not in still

    for run in ReportRun.objects.filter(requested=True):
        prepare_report.delay(run.pk)
    ready = client.get(reverse("dashboard_preparing"), PERIOD)
    page = client.get(reverse("dashboard"), PERIOD)

    assert ready["HX-Refresh"] == "true"
    assert page.context["split"]["total"] == 2
    assert "Referral split: 2 referrals" in page.content.decode()
    assert "are being prepared" not in page.content.decode()
    assert set(ReportRun.objects.values_list("outcome", flat=True)) == {"succeeded"}


def test_a_task_that_runs_twice_computes_once_it_is_finished(system, referrals, eager_tasks):
    (run_id,) = report_runs_request(
        system=system, kinds=[ReportKind.REFERRAL_SPLIT], place=None,
        date_from=D(2026, 3, 1), date_to=D(2026, 11, 22),
    )  # fmt: skip

    first = prepare_report.delay(run_id).get()
    second = prepare_report.delay(run_id).get()

    assert first == ReportSnapshot.objects.get().pk
    assert second is None


def test_a_failed_report_is_shown_and_can_be_asked_for_again(
    client, commissioner, referrals, eager_tasks, django_capture_on_commit_callbacks
):
    client.force_login(commissioner)
    real = snapshots.report_compute

    def breaks(**kwargs):
        if kwargs["kind"] == ReportKind.REMIT_BREACHES:
            raise RuntimeError("disk full")
        return real(**kwargs)

    with mock.patch.object(snapshots, "report_compute", breaks):
        ask(client, reverse("dashboard"), PERIOD, django_capture_on_commit_callbacks)

    with mock.patch.object(prepare_report, "delay") as delay:
        page = ask(client, reverse("dashboard"), PERIOD, django_capture_on_commit_callbacks)
        poll = ask(
            client, reverse("dashboard_preparing"), PERIOD, django_capture_on_commit_callbacks
        )
        drill_down = ask(
            client, reverse("breach_referrals"), PERIOD, django_capture_on_commit_callbacks
        )
    text = page.content.decode()
    assert "remit breaches report" in text and "could not be prepared" in text
    assert "RuntimeError: disk full" in text
    assert "Ask for the reports again" in text
    # Nothing left running, so nothing to poll for; and no failed run started again unasked.
    assert "hx-trigger" not in poll.content.decode()
    assert "could not be prepared" in poll.content.decode()
    assert drill_down.status_code == 202 and "disk full" in drill_down.content.decode()
    delay.assert_not_called()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{reverse('dashboard_prepare')}?{PERIOD_QUERY}")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('dashboard')}?{PERIOD_QUERY}"
    page = client.get(reverse("dashboard"), PERIOD)
    assert page.context["breaches"]["total"] == 0
    assert "could not be prepared" not in page.content.decode()


def test_asking_again_is_a_post(client, commissioner):
    client.force_login(commissioner)

    assert client.get(reverse("dashboard_prepare"), PERIOD).status_code == 405


def test_a_csv_or_drill_down_of_a_period_being_prepared_says_so_and_then_answers(
    client, commissioner, referrals, eager_tasks, django_capture_on_commit_callbacks
):
    client.force_login(commissioner)
    with mock.patch.object(prepare_report, "delay") as delay:
        download = ask(
            client, reverse("dashboard_csv", args=["by_month"]), PERIOD,
            django_capture_on_commit_callbacks,
        )  # fmt: skip
    assert download.status_code == 202
    assert "This report is being prepared" in download.content.decode()
    assert "Try again shortly" in download.content.decode()
    (run,) = ReportRun.objects.all()
    assert run.kind == ReportKind.REFERRAL_SPLIT
    delay.assert_called_once_with(run.pk)

    prepare_report.delay(run.pk)

    download = client.get(reverse("dashboard_csv", args=["by_month"]), PERIOD)
    assert download.status_code == 200 and download["Content-Type"] == "text/csv"


def test_each_place_and_each_system_has_its_own_periods(
    client, commissioner, referrals, system, western_people, queued,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    place = PlaceFactory(system=system, name="Southfield")
    client.force_login(commissioner)
    ask(client, reverse("dashboard"), PERIOD, django_capture_on_commit_callbacks)
    ask(
        client, reverse("dashboard"), {**PERIOD, "place": place.pk},
        django_capture_on_commit_callbacks,
    )  # fmt: skip
    client.force_login(western_people["commissioner"])
    west = ask(client, reverse("dashboard"), PERIOD, django_capture_on_commit_callbacks)

    kinds = len(ReportKind.values)
    assert queued.call_count == 3 * kinds
    assert ReportRun.objects.filter(system=system, place=None).count() == kinds
    assert ReportRun.objects.filter(system=system, place=place).count() == kinds
    assert ReportRun.objects.exclude(system=system).count() == kinds
    assert "are being prepared" in west.content.decode()
    # Another system's commissioner cannot use a place of this one.
    response = client.get(reverse("dashboard_preparing"), {**PERIOD, "place": place.pk})
    assert response.status_code == 404


def test_one_systems_failure_is_not_anothers(
    client, commissioner, system, western_people, queued, django_capture_on_commit_callbacks
):
    western = western_people["commissioner"].organisation.system
    (run_id,) = report_runs_request(
        system=western, kinds=[ReportKind.REFERRAL_SPLIT], place=None,
        date_from=D(2026, 3, 1), date_to=D(2026, 11, 22),
    )  # fmt: skip
    ReportRun.objects.filter(pk=run_id).update(
        outcome=ReportRun.Outcome.FAILED, error="Western disk", finished_at=timezone.now()
    )
    client.force_login(commissioner)

    page = ask(client, reverse("dashboard"), PERIOD, django_capture_on_commit_callbacks)

    assert "Western disk" not in page.content.decode()
    assert "are being prepared" in page.content.decode()


def test_a_requested_run_whose_worker_died_fails_and_is_not_run_again_unasked(system):
    (run_id,) = report_runs_request(
        system=system, kinds=[ReportKind.REFERRAL_SPLIT], place=None,
        date_from=D(2026, 3, 1), date_to=D(2026, 11, 22),
    )  # fmt: skip

    later = timezone.now() + datetime.timedelta(hours=2)
    assert report_runs_abandoned_fail(now=later) == []
    run = ReportRun.objects.get(pk=run_id)
    assert run.outcome == "failed" and run.error == snapshots.ABANDONED_REQUEST_ERROR


def test_the_page_of_a_period_being_prepared_reads_no_referral_and_stays_flat(
    client, commissioner, icc, home_from_hospital, queued, django_assert_max_num_queries,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    client.force_login(commissioner)
    when = timezone.make_aware(datetime.datetime(2026, 11, 10, 10))
    ask(client, reverse("dashboard"), PERIOD, django_capture_on_commit_callbacks)
    for count in (1, 30):
        ReferralFactory.create_batch(
            count, referrer=icc, service=home_from_hospital, referred_at=when
        )
        for url in (reverse("dashboard"), reverse("dashboard_preparing")):
            with (
                django_assert_max_num_queries(8),
                CaptureQueriesContext(connection) as queries,
            ):
                client.get(url, PERIOD)
            assert not any("referrals_referral" in q["sql"] for q in queries.captured_queries)


def test_a_period_asked_for_before_the_last_night_is_prepared_again(
    client, commissioner, system, referrals, eager_tasks, queued,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    with time_machine.travel("2026-11-20 10:00 +0000", tick=False):
        (run_id,) = report_runs_request(
            system=system, kinds=[ReportKind.REFERRAL_SPLIT], place=None,
            date_from=D(2026, 3, 1), date_to=D(2026, 11, 22),
        )  # fmt: skip
        report_run_compute(run=ReportRun.objects.get(pk=run_id))
    with time_machine.travel("2026-11-23 02:00 +0000", tick=False):
        report_snapshot_refresh(
            kind=ReportKind.REFERRAL_SPLIT, system_id=system.pk,
            date_from=D(2026, 1, 1), date_to=D(2026, 11, 22),
        )  # fmt: skip
    client.force_login(commissioner)

    download = ask(
        client, reverse("dashboard_csv", args=["by_month"]), PERIOD,
        django_capture_on_commit_callbacks,
    )  # fmt: skip

    assert download.status_code == 202
    assert queued.call_count == 1
    assert ReportRun.objects.filter(requested=True, outcome="running").count() == 1
