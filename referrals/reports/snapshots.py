"""Computing reports for periods and keeping the result: the nightly tasks, the command line and
the dashboards all come through report_compute."""

from collections.abc import Callable
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from commissioning.models import Place, System
from referrals.models import ReportKind, ReportRun, ReportSnapshot
from referrals.reports.activity import service_activity
from referrals.reports.breaches import remit_breaches
from referrals.reports.split import referral_split

REPORTS: dict[str, Callable[..., dict]] = {
    ReportKind.REFERRAL_SPLIT: referral_split,
    ReportKind.REMIT_BREACHES: remit_breaches,
    ReportKind.SERVICE_ACTIVITY: service_activity,
}
# How far back the nightly run fills daily snapshots missed while the worker or broker was down.
CATCH_UP_DAYS = 31
# Where a report's rows carry lists of referral ids (the breaches behind each count): stored
# apart from the figures, in ReportSnapshot.referral_ids.
ID_SECTIONS = ("by_service", "marked_at_limit")
ID_LISTS = ("referral_ids", "overridden_ids")


def figures_and_ids(data: dict) -> tuple[dict, dict]:
    """A report split in two: its figures, and per section the id lists of each row in order."""
    figures, ids = dict(data), {}
    for section in ID_SECTIONS:
        rows = data.get(section)
        if not rows:
            continue
        figures[section] = [
            {key: value for key, value in row.items() if key not in ID_LISTS} for row in rows
        ]
        ids[section] = [{key: row[key] for key in ID_LISTS if key in row} for row in rows]
    return figures, ids


def snapshot_report(snapshot: ReportSnapshot) -> dict:
    """The whole report a snapshot was made from: its figures with the id lists put back."""
    data = dict(snapshot.data)
    for section, id_rows in snapshot.referral_ids.items():
        data[section] = [{**row, **ids} for row, ids in zip(data[section], id_rows, strict=True)]
    return data


def report_compute(
    *, kind: str, system: System, date_from: date, date_to: date, place: Place | None = None
) -> dict:
    if kind not in REPORTS:
        raise ValidationError({"kind": f"Unknown report {kind!r}."})
    if date_to < date_from:
        raise ValidationError({"date_to": "The period ends before it starts."})
    if place is not None and place.system_id != system.pk:
        raise ValidationError({"place": f"{place.name} is not a place of {system.name}."})
    return REPORTS[kind](system=system, date_from=date_from, date_to=date_to, place=place)


def report_snapshot_refresh(
    *, kind: str, system_id: int, date_from: date, date_to: date
) -> ReportSnapshot:
    """Compute and store the report for the period, replacing any earlier snapshot of it.

    The run is recorded first and marked failed if anything goes wrong; the snapshot is only
    written, in one statement, once the whole report is computed, so none is ever half-written.
    """
    run = ReportRun.objects.create(
        system_id=system_id,
        kind=kind,
        date_from=date_from,
        date_to=date_to,
        started_at=timezone.now(),
    )
    return report_run_compute(run=run)


def report_run_compute(*, run: ReportRun) -> ReportSnapshot:
    """Compute the report a run stands for and store it as the snapshot of its period and place;
    the run says how it went."""
    try:
        report = report_compute(
            kind=run.kind,
            system=run.system,
            date_from=run.date_from,
            date_to=run.date_to,
            place=run.place,
        )
        data, ids = figures_and_ids(report)
        with transaction.atomic():
            snapshot, _ = ReportSnapshot.objects.update_or_create(
                system_id=run.system_id,
                kind=run.kind,
                date_from=run.date_from,
                date_to=run.date_to,
                place=run.place,
                defaults={"data": data, "referral_ids": ids, "generated_at": timezone.now()},
            )
    except Exception as error:
        run.outcome = ReportRun.Outcome.FAILED
        run.error = f"{type(error).__name__}: {error}"
        run.finished_at = timezone.now()
        run.save(update_fields=["outcome", "error", "finished_at"])
        raise
    run.outcome = ReportRun.Outcome.SUCCEEDED
    run.finished_at = timezone.now()
    run.save(update_fields=["outcome", "finished_at"])
    return snapshot


def report_runs_request(
    *, system: System, kinds: list[str], date_from: date, date_to: date, place: Place | None
) -> list[int]:
    """Ask for the reports of a period that has no snapshot, to be computed by a task and not
    by the web worker that asks. Returns the ids of the runs this call started, for the caller
    to queue once its transaction commits; a kind already being computed for the period (a
    "running" requested run) is joined, not started again.

    One INSERT: the partial unique constraint report_run_one_request_running lets only one
    requested run of a period and place be "running", so of two requests at the same moment
    one inserts and the other, finding the conflict, inserts nothing and joins it."""
    if not kinds:
        return []
    table = ReportRun._meta.db_table
    now = timezone.now()
    values = ", ".join(["(%s, %s, %s, %s, %s, true, %s, %s, '')"] * len(kinds))
    params: list[int | str | date | datetime | None] = []
    for kind in kinds:
        params += [
            system.pk, kind, date_from, date_to, place.pk if place else None,
            now, ReportRun.Outcome.RUNNING,
        ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table}
                (system_id, kind, date_from, date_to, place_id, requested, started_at, outcome,
                 error)
            VALUES {values}
            ON CONFLICT DO NOTHING
            RETURNING id
            """,
            params,
        )
        return [row[0] for row in cursor.fetchall()]


# A run still "running" this long after it started had its worker killed: Celery's hard time
# limit would have stopped it sooner, and a stopped run records its failure.
ABANDONED_GRACE = timedelta(minutes=5)
ABANDONED_ERROR = "The worker stopped before the report was finished; it is being run again."
# A period a page asked for is not run again unasked: the page shows this and offers to ask.
ABANDONED_REQUEST_ERROR = "The worker stopped before the report was finished."


def report_runs_abandoned_fail(*, now: datetime) -> list[tuple[int, str, date, date]]:
    """Mark failed every run left "running" past the task's time limit (its worker was killed,
    so nothing else will), for the dashboard to say so. Returns each such nightly period once,
    as (system id, kind, from, to), for the caller to run again; a period a page asked for
    shows its failure there, for whoever wants it to ask again. Safe to run twice or at once: a
    run is marked by one UPDATE, which only a run still "running" matches."""
    cutoff = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT) - ABANDONED_GRACE
    table = ReportRun._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table}
            SET outcome = %s, finished_at = %s,
                error = CASE WHEN requested THEN %s ELSE %s END
            WHERE outcome = %s AND started_at < %s
            RETURNING system_id, kind, date_from, date_to, requested
            """,
            [
                ReportRun.Outcome.FAILED, now, ABANDONED_REQUEST_ERROR, ABANDONED_ERROR,
                ReportRun.Outcome.RUNNING, cutoff,
            ],
        )  # fmt: skip
        return sorted({row[:4] for row in cursor.fetchall() if not row[4]})


def nightly_periods(*, kind: str, system_id: int, today: date) -> list[tuple[date, date]]:
    """The previous day, month to date and year to date, plus any previous days whose daily
    snapshot is missing because a night was missed."""
    yesterday = today - timedelta(days=1)
    periods = [
        (yesterday, yesterday),
        (yesterday.replace(day=1), yesterday),
        (yesterday.replace(month=1, day=1), yesterday),
    ]
    earliest = yesterday - timedelta(days=CATCH_UP_DAYS)
    have = set(
        ReportSnapshot.objects.filter(
            system_id=system_id,
            kind=kind,
            place__isnull=True,
            date_from__gte=earliest,
            date_to__lt=yesterday,
        ).values_list("date_from", "date_to")
    )
    last = (
        ReportSnapshot.objects.filter(
            system_id=system_id, kind=kind, place__isnull=True, date_to__lt=yesterday
        )
        .order_by("-date_to")
        .values_list("date_to", flat=True)
        .first()
    )
    # Only days after the last night that ran: a new installation does not back-fill a month.
    day = max(last + timedelta(days=1), earliest) if last else yesterday
    while day < yesterday:
        if (day, day) not in have:
            periods.append((day, day))
        day += timedelta(days=1)
    return periods
