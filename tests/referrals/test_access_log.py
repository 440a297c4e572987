"""The access log: every look at a patient's referral, lookup and export is recorded, an
administrator finds who looked at a patient (and downloads it for a subject access request), a
second system's administrator sees none of it, the rows never change and go only by age."""

import csv
import datetime
import io

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from referrals import referral_page
from referrals.models import AccessKind, AccessRecord
from referrals.selectors_access import lookups_by_user_since
from referrals.services_access import access_record, access_records_bulk
from referrals.tasks import prune_access_log
from tests.factories import ReferralFactory

pytestmark = pytest.mark.django_db

ACCESS_TABLE = AccessRecord._meta.db_table


@pytest.fixture
def referral(icc, patient, home_from_hospital):
    return ReferralFactory(
        patient=patient,
        referrer=icc,
        service=home_from_hospital,
        reason="Home from hospital after a fall; lives alone.",
    )


@pytest.fixture
def looked_at(client, referral, icc, red_cross_worker, commissioner):
    """Three people opened Edna's referral, a day apart: the worker, then the ICC, then the
    commissioner."""
    for day, person in enumerate((red_cross_worker, icc, commissioner), start=1):
        with time_machine.travel(datetime.datetime(2026, 11, day, 9, 30, tzinfo=datetime.UTC)):
            client.force_login(person)
            assert client.get(reverse("referral_detail", args=[referral.pk])).status_code == 200
    client.logout()
    return referral


def search(client, nhs_number, **extra):
    return client.post(reverse("access_log"), {"nhs_number": nhs_number, **extra})


def download(client, nhs_number):
    return client.post(reverse("access_log_csv"), {"nhs_number": nhs_number})


def csv_rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


# --- The referral page


def test_opening_a_referral_writes_one_access_record(client, referral, red_cross_worker):
    client.force_login(red_cross_worker)

    response = client.get(reverse("referral_detail", args=[referral.pk]))

    assert response.status_code == 200
    record = AccessRecord.objects.get()
    assert record.kind == AccessKind.REFERRAL_VIEW
    assert record.user == red_cross_worker
    assert record.organisation == red_cross_worker.organisation
    assert record.system == red_cross_worker.organisation.system
    assert record.referral == referral
    assert record.patient == referral.patient
    assert timezone.now() - record.at < datetime.timedelta(minutes=1)


def test_a_commissioners_look_is_recorded_too(client, referral, commissioner):
    client.force_login(commissioner)

    client.get(reverse("referral_detail", args=[referral.pk]))

    assert AccessRecord.objects.filter(user=commissioner, referral=referral).count() == 1


def test_a_referral_page_refused_records_nothing(client, referral, other_lead):
    client.force_login(other_lead)

    response = client.get(reverse("referral_detail", args=[referral.pk]))

    assert response.status_code == 404
    assert not AccessRecord.objects.exists()


def test_the_referral_page_costs_exactly_one_query_more_the_insert(
    client, referral, red_cross_worker, monkeypatch
):
    client.force_login(red_cross_worker)
    url = reverse("referral_detail", args=[referral.pk])
    client.get(url)  # the session and anything cached settle first

    with CaptureQueriesContext(connection) as logged:
        client.get(url)
    monkeypatch.setattr(referral_page, "access_record", lambda **kwargs: None)
    with CaptureQueriesContext(connection) as unlogged:
        client.get(url)

    touching_the_log = [q["sql"] for q in logged if ACCESS_TABLE in q["sql"]]
    assert len(touching_the_log) == 1
    # pghistory's request context rides on the same statement, not a query of its own.
    assert f'INSERT INTO "{ACCESS_TABLE}"' in touching_the_log[0]
    assert len(logged) == len(unlogged) + 1


# --- The services the other views and exports use


def test_a_bulk_export_writes_a_row_per_referral_in_one_insert(
    referral, icc, home_from_hospital, django_assert_num_queries
):
    second = ReferralFactory(referrer=icc, service=home_from_hospital)

    with django_assert_num_queries(1):
        written = access_records_bulk(
            user=icc, kind=AccessKind.EXPORT, referrals=[referral, second], detail="a list"
        )

    assert written == 2
    assert set(AccessRecord.objects.values_list("referral", "patient", "system", "kind")) == {
        (referral.pk, referral.patient_id, icc.organisation.system_id, AccessKind.EXPORT),
        (second.pk, second.patient_id, icc.organisation.system_id, AccessKind.EXPORT),
    }


def test_lookups_by_user_since_counts_only_that_persons_lookups(icc, commissioner, referral):
    for kind in (AccessKind.LOOKUP, AccessKind.LOOKUP_CONFIRMED, AccessKind.LOOKUP_NOT_MATCHED):
        access_record(user=icc, kind=kind, nhs_number="9990000018")
    access_record(user=icc, kind=AccessKind.REFERRAL_VIEW, referral=referral)
    access_record(user=commissioner, kind=AccessKind.LOOKUP, nhs_number="9990000018")
    an_hour_ago = timezone.now() - datetime.timedelta(hours=1)

    assert lookups_by_user_since(user=icc, since=an_hour_ago) == 3
    assert lookups_by_user_since(user=icc, since=timezone.now()) == 0


# --- The administrator's page


def test_an_administrator_finds_who_looked_at_the_patient_newest_first(
    client, looked_at, administrator
):
    client.force_login(administrator)

    response = search(client, looked_at.patient.nhs_number_display)

    assert response.status_code == 200
    records = list(response.context["page"])
    # The administrator's own search first, then the three looks, newest first.
    assert [r.user.full_name for r in records] == [
        "Ada Nwosu", "Colin Mensah", "Ivy Carter", "Wes Patel",
    ]  # fmt: skip
    page = response.content.decode()
    assert "wes.patel@example.org" in page
    assert "Eastern Red Cross Home from Hospital" in page
    assert f"Opened the referral ({looked_at.reference})" in page
    assert "1 Nov 2026 09:30" in page  # UK time (GMT in November)
    # Administrators see who looked, never the referral's content.
    assert looked_at.reason not in page


def test_the_administrators_search_is_itself_recorded(client, looked_at, administrator):
    client.force_login(administrator)

    search(client, looked_at.patient.nhs_number)

    record = AccessRecord.objects.get(user=administrator)
    assert (record.kind, record.patient, record.nhs_number) == (
        AccessKind.LOOKUP,
        looked_at.patient,
        "",
    )


def test_the_page_is_paged_by_fifty(client, referral, red_cross_worker, administrator):
    access_records_bulk(
        user=red_cross_worker, kind=AccessKind.REFERRAL_VIEW, referrals=[referral] * 60
    )
    client.force_login(administrator)

    first, second = (
        search(client, referral.patient.nhs_number),
        search(client, referral.patient.nhs_number, page=2),
    )

    assert len(first.context["page"]) == 50
    assert len(second.context["page"]) == 12  # 60 looks and the two searches


def test_the_csv_holds_the_accesses_and_records_the_export(client, looked_at, administrator):
    client.force_login(administrator)

    with time_machine.travel(datetime.datetime(2026, 11, 20, 12, 0, tzinfo=datetime.UTC)):
        response = download(client, looked_at.patient.nhs_number)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    # Named by the day, never by the patient.
    assert response["Content-Disposition"] == 'attachment; filename="access-log-2026-11-20.csv"'
    rows = csv_rows(response)
    assert [(row["Who"], row["What"]) for row in rows] == [
        ("Ada Nwosu", "Exported"),
        ("Colin Mensah", "Opened the referral"),
        ("Ivy Carter", "Opened the referral"),
        ("Wes Patel", "Opened the referral"),
    ]
    assert rows[3]["When (UK time)"] == "2026-11-01 09:30:00"
    assert rows[3]["Email"] == "wes.patel@example.org"
    assert rows[3]["Organisation"] == "Eastern Red Cross Home from Hospital"
    assert rows[3]["Referral"] == looked_at.reference
    export = AccessRecord.objects.get(kind=AccessKind.EXPORT)
    assert (export.user, export.patient, export.detail) == (
        administrator,
        looked_at.patient,
        "subject access request",
    )


def test_a_number_nobody_holds_looks_the_same_and_finds_its_unmatched_lookups(
    client, icc, administrator
):
    access_record(user=icc, kind=AccessKind.LOOKUP_NOT_MATCHED, nhs_number="9990000026")
    client.force_login(administrator)

    response = search(client, "999 000 0026")

    assert response.status_code == 200
    assert [r.kind for r in response.context["page"]] == [
        AccessKind.LOOKUP,  # the search, holding the number typed
        AccessKind.LOOKUP_NOT_MATCHED,
    ]
    assert AccessRecord.objects.get(user=administrator).nhs_number == "9990000026"


def test_another_systems_administrator_sees_none_of_ours(client, looked_at, western_people):
    western_admin = western_people[Role.ADMINISTRATOR]
    client.force_login(western_admin)

    page = search(client, looked_at.patient.nhs_number)
    rows = csv_rows(download(client, looked_at.patient.nhs_number))

    # Only their own search and download, which are Western's accesses, not Eastern's.
    assert {r.user for r in page.context["page"]} == {western_admin}
    assert {row["Who"] for row in rows} == {western_admin.full_name}
    for eastern_marker in ("Wes Patel", "Ivy Carter", "Eastern Red Cross", looked_at.reference):
        assert eastern_marker not in page.content.decode()
        assert eastern_marker not in str(rows)


def test_our_administrator_does_not_see_another_systems_searches(
    client, looked_at, western_people, administrator
):
    client.force_login(western_people[Role.ADMINISTRATOR])
    search(client, looked_at.patient.nhs_number)
    client.force_login(administrator)

    response = search(client, looked_at.patient.nhs_number)

    assert "Western" not in response.content.decode()
    assert len(response.context["page"]) == 4


@pytest.mark.parametrize(
    "role", [Role.ICC, Role.COMMISSIONER, Role.VSO_LEAD, Role.VSO_WORKER], ids=str
)
@pytest.mark.parametrize("name", ["access_log", "access_log_csv"])
def test_only_administrators_reach_the_access_log(client, looked_at, user_for_role, role, name):
    client.force_login(user_for_role(role))

    got = client.get(reverse(name))
    posted = client.post(reverse(name), {"nhs_number": looked_at.patient.nhs_number})

    assert got.status_code == 403
    assert posted.status_code == 403
    assert not AccessRecord.objects.exclude(kind=AccessKind.REFERRAL_VIEW).exists()


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(reverse("access_log"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("typed", ["", "12345", "9990000019", "not a number"])
def test_a_bad_nhs_number_is_a_field_error(client, administrator, typed):
    client.force_login(administrator)

    page, csv_response = search(client, typed), download(client, typed)

    assert page.status_code == 200
    assert page.context["form"].errors["nhs_number"]
    assert "page" not in page.context
    assert csv_response.status_code == 400
    assert csv_response["Content-Type"].startswith("text/html")
    assert not AccessRecord.objects.exists()


def test_the_search_page_opens_empty(client, administrator):
    client.force_login(administrator)

    response = client.get(reverse("access_log"))

    assert response.status_code == 200
    assert not response.context["form"].is_bound
    assert not AccessRecord.objects.exists()


def test_the_page_takes_the_same_queries_for_one_access_or_sixty(
    client, referral, red_cross_worker, administrator
):
    client.force_login(administrator)
    access_record(user=red_cross_worker, kind=AccessKind.REFERRAL_VIEW, referral=referral)
    search(client, referral.patient.nhs_number)
    with CaptureQueriesContext(connection) as few:
        search(client, referral.patient.nhs_number)
    access_records_bulk(
        user=red_cross_worker, kind=AccessKind.REFERRAL_VIEW, referrals=[referral] * 60
    )

    with CaptureQueriesContext(connection) as many:
        search(client, referral.patient.nhs_number)

    assert len(many) == len(few)


# --- Append-only, and pruned by age


def test_the_database_refuses_to_change_an_access_record(referral, icc):
    record = access_record(user=icc, kind=AccessKind.REFERRAL_VIEW, referral=referral)

    with pytest.raises(ProgrammingError, match="Cannot update"), transaction.atomic():
        AccessRecord.objects.filter(pk=record.pk).update(kind=AccessKind.EXPORT)
    with pytest.raises(ProgrammingError, match="Cannot delete"), transaction.atomic():
        AccessRecord.objects.filter(pk=record.pk).delete()

    record.refresh_from_db()
    assert record.kind == AccessKind.REFERRAL_VIEW


def test_the_database_refuses_an_unknown_kind(icc):
    with pytest.raises(IntegrityError), transaction.atomic():
        access_record(user=icc, kind="peeked")


def test_the_prune_deletes_only_records_older_than_the_retention(referral, icc, settings):
    settings.ACCESS_LOG_RETENTION_DAYS = 365
    now = datetime.datetime(2026, 11, 20, 3, 0, tzinfo=datetime.UTC)
    for days_ago in (366, 365.01, 364.99, 10):
        with time_machine.travel(now - datetime.timedelta(days=days_ago)):
            access_record(user=icc, kind=AccessKind.REFERRAL_VIEW, referral=referral)

    with time_machine.travel(now):
        deleted = prune_access_log()

    assert deleted == 2
    ages = sorted((now - at).days for at in AccessRecord.objects.values_list("at", flat=True))
    assert ages == [10, 364]


def test_the_command_prunes_as_the_nightly_task_does(referral, icc, settings):
    settings.ACCESS_LOG_RETENTION_DAYS = 400
    with time_machine.travel(timezone.now() - datetime.timedelta(days=401)):
        access_record(user=icc, kind=AccessKind.REFERRAL_VIEW, referral=referral)
    access_record(user=icc, kind=AccessKind.REFERRAL_VIEW, referral=referral)
    out = io.StringIO()

    call_command("prune_access_log", stdout=out)

    assert out.getvalue().strip() == "Deleted 1 access record older than 400 days."
    assert AccessRecord.objects.count() == 1


def test_the_prune_runs_nightly_and_keeps_eight_years_by_default():
    entry = settings.CELERY_BEAT_SCHEDULE["prune-access-log"]
    assert entry["task"] == prune_access_log.name
    assert settings.ACCESS_LOG_RETENTION_DAYS == 2922
