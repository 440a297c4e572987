"""Writing checked rows: new patients, then referrals updated and created, all set-based.

One ORM save per row would take the best part of an hour for 100,000 rows. Here the rows are
copied with COPY into temporary tables and written by INSERT ... SELECT and UPDATE ... FROM, which
takes seconds (bench/RESULTS.md). The caller holds the transaction and the history context.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from accounts.models import User
from commissioning.models import Organisation
from referrals.importing.checks import HeldReferral
from referrals.importing.columns import IMPORTED_DECLINE_REASON, ImportResult, Row
from referrals.models import Consent, Patient, Referral

# Created and updated at, created and updated by.
Audit = tuple[datetime, datetime, int, int]


@dataclass(slots=True)
class NewPatient:
    nhs_number: str
    given_name: str
    family_name: str
    date_of_birth: date | None
    postcode: str
    # Of the patient's latest row so far, whose postcode is kept.
    referred_at: datetime


def write(
    rows: list[Row],
    *,
    existing_patients: dict[str, int],
    existing_referrals: dict[str, HeldReferral],
    referrer: User,
    team: Organisation,
) -> ImportResult:
    """Write rows that have passed every check. Call it inside a transaction: it opens none, and
    the trigger setting and temporary tables it makes last until that transaction ends."""
    now = timezone.now()
    new_patients = _new_patients(rows, existing_patients=existing_patients)
    audit: Audit = (now, now, referrer.pk, referrer.pk)
    with connection.cursor() as cursor:
        _keep_history_triggers_fast(cursor)
        patients_created = _insert_patients(cursor, new_patients.values(), audit=audit)
        _copy_referrals(
            cursor, rows, existing_referrals=existing_referrals, team_place_id=team.place_id
        )
        referrals_updated = _update_referrals(cursor, now=now, referrer=referrer)
        referrals_created = _insert_referrals(cursor, referrer=referrer, team=team, audit=audit)
        consents_recorded = _insert_consents(cursor, referrer=referrer, team=team, now=now)
        # Gone at commit anyway; dropped now so a second import in one transaction can run.
        cursor.execute("DROP TABLE import_patient, import_referral")

    return ImportResult(
        rows=len(rows),
        patients_created=patients_created,
        referrals_created=referrals_created,
        referrals_updated=referrals_updated,
        referrals_unchanged=len(existing_referrals) - referrals_updated,
        consents_recorded=consents_recorded,
    )


def _new_patients(rows: list[Row], *, existing_patients: dict[str, int]) -> dict[str, NewPatient]:
    """NHS number -> the patient to create for it, for each one VSO Care does not hold."""
    new_patients: dict[str, NewPatient] = {}
    for row in rows:
        number, referred_at = row.nhs_number, row.referred_at
        # Checked rows: a row without either was refused before anything is written.
        assert number is not None and referred_at is not None
        if number in existing_patients:
            continue
        patient = new_patients.get(number)
        if patient is None:
            new_patients[number] = NewPatient(
                nhs_number=number,
                given_name=row.given_name,
                family_name=row.family_name,
                date_of_birth=row.date_of_birth,
                postcode=row.postcode,
                referred_at=referred_at,
            )
        elif referred_at > patient.referred_at:
            # People move; the postcode on their latest referral is the one to keep.
            patient.postcode, patient.referred_at = row.postcode, referred_at
    return new_patients


def _keep_history_triggers_fast(cursor: CursorWrapper) -> None:
    # The history triggers read this setting inside a plpgsql EXCEPTION block, which raises
    # when it was never set; PostgreSQL then walks the statement's whole queue of AFTER
    # trigger events per row, so 100,000 rows took nine minutes instead of seconds. An empty
    # list ignores no trigger; a list someone set around us is left as it is.
    cursor.execute(
        "SELECT set_config('pgtrigger.ignore', '{}', true) "
        "WHERE coalesce(current_setting('pgtrigger.ignore', true), '') = ''"
    )


def _insert_patients(
    cursor: CursorWrapper, new_patients: Iterable[NewPatient], *, audit: Audit
) -> int:
    """The number of patients created."""
    cursor.execute(
        "CREATE TEMP TABLE import_patient (nhs_number varchar(10), given_name varchar(100), "
        "family_name varchar(100), date_of_birth date, postcode varchar(8)) ON COMMIT DROP"
    )
    with cursor.cursor.copy("COPY import_patient FROM STDIN") as copy:
        for patient in new_patients:
            copy.write_row(
                (
                    patient.nhs_number,
                    patient.given_name,
                    patient.family_name,
                    patient.date_of_birth,
                    patient.postcode,
                )
            )
    cursor.execute(
        f"INSERT INTO {Patient._meta.db_table} (nhs_number, given_name, family_name, "
        "date_of_birth, postcode, lives_alone, is_carer, is_cared_for, "
        "created_at, updated_at, created_by_id, updated_by_id) "
        "SELECT nhs_number, given_name, family_name, date_of_birth, postcode, false, false, "
        "false, %s, %s, %s, %s FROM import_patient ORDER BY nhs_number "
        "ON CONFLICT (nhs_number) DO NOTHING",
        audit,
    )
    return cursor.rowcount


def _copy_referrals(
    cursor: CursorWrapper,
    rows: list[Row],
    *,
    existing_referrals: dict[str, HeldReferral],
    team_place_id: int | None,
) -> None:
    """Every row into the temporary table import_referral, which the next two steps read."""
    cursor.execute(
        "CREATE TEMP TABLE import_referral (line integer, external_id varchar(100), "
        "nhs_number varchar(10), source varchar(20), destination_sector varchar(20), "
        "organisation_id bigint, service_id bigint, place_id bigint, "
        "needs varchar(50)[], activities varchar(50)[], urgency varchar(10), "
        "status varchar(12), referred_at timestamptz, closed_at timestamptz, "
        "decline_reason text, lawful_basis varchar(16), lawful_basis_reason text, "
        "consent_given_on date, consent_method varchar(16)) ON COMMIT DROP"
    )
    with cursor.cursor.copy("COPY import_referral FROM STDIN") as copy:
        for row in rows:
            held = existing_referrals.get(row.external_id)
            # A destination with no place leaves the referral at its referring team's place, and
            # an update keeps the team that first referred it.
            row_team_place_id = held.team_place_id if held else team_place_id
            copy.write_row(
                (
                    row.line,
                    row.external_id,
                    row.nhs_number,
                    row.source,
                    row.destination_sector,
                    row.organisation_id,
                    row.service_id,
                    row.place_id or row_team_place_id,
                    row.needs,
                    row.activities,
                    row.urgency,
                    row.status,
                    row.referred_at,
                    row.closed_at,
                    row.decline_reason,
                    row.lawful_basis,
                    row.lawful_basis_reason,
                    row.consent_given_on,
                    row.consent_method,
                )
            )
    # Temporary tables are never analysed by autovacuum; without this the planner guesses
    # a handful of rows and may pick nested loops over 100,000.
    cursor.execute("ANALYZE import_referral")


def _update_referrals(cursor: CursorWrapper, *, now: datetime, referrer: User) -> int:
    """The number of referrals updated.

    The file's columns win; what happened in VSO Care since (decisions, contact, outcome)
    stays. Only rows that differ are touched, so an unchanged re-import records no history
    and bumps no version.
    """
    referral_table, patient_table = Referral._meta.db_table, Patient._meta.db_table
    # A declined referral keeps the reason it has unless the file gives one.
    decline_reason = (
        "CASE WHEN t.status = 'declined' THEN COALESCE(t.decline_reason, "
        "NULLIF(r.decline_reason, ''), %(declined)s) ELSE r.decline_reason END"
    )
    cursor.execute(
        f"UPDATE {referral_table} AS r SET patient_id = p.id, source = t.source, "
        "destination_sector = t.destination_sector, organisation_id = t.organisation_id, "
        "service_id = t.service_id, place_id = t.place_id, needs = t.needs, "
        "activities = t.activities, urgency = t.urgency, status = t.status, "
        "referred_at = t.referred_at, closed_at = t.closed_at, "
        "lawful_basis = t.lawful_basis, lawful_basis_reason = t.lawful_basis_reason, "
        f"decline_reason = {decline_reason}, version = r.version + 1, "
        "updated_at = %(now)s, updated_by_id = %(user)s "
        f"FROM import_referral t JOIN {patient_table} p ON p.nhs_number = t.nhs_number "
        "WHERE r.external_id = t.external_id AND "
        "(r.patient_id, r.source, r.destination_sector, r.organisation_id, r.service_id, "
        "r.place_id, r.needs, r.activities, r.urgency, r.status, r.referred_at, r.closed_at, "
        "r.lawful_basis, r.lawful_basis_reason, r.decline_reason) IS DISTINCT FROM "
        "(p.id, t.source, t.destination_sector, t.organisation_id, t.service_id, t.place_id, "
        f"t.needs, t.activities, t.urgency, t.status, t.referred_at, t.closed_at, "
        f"t.lawful_basis, t.lawful_basis_reason, {decline_reason})",
        {"now": now, "user": referrer.pk, "declined": IMPORTED_DECLINE_REASON},
    )
    return cursor.rowcount


def _insert_referrals(
    cursor: CursorWrapper, *, referrer: User, team: Organisation, audit: Audit
) -> int:
    """The number of referrals created: those in the file that VSO Care does not hold."""
    referral_table, patient_table = Referral._meta.db_table, Patient._meta.db_table
    # Historic records: not remit-checked (see docs/referral-import.md), so out_of_remit is
    # false with no reasons; the nightly report judges them against the specifications.
    cursor.execute(
        f"INSERT INTO {referral_table} (external_id, patient_id, referrer_id, "
        "referrer_organisation_id, place_id, source, destination_sector, organisation_id, "
        "service_id, needs, activities, urgency, reason, status, referred_at, closed_at, "
        "decline_reason, outcome, withdrawal_reason, statutory_decline_reason, out_of_remit, "
        "remit_reasons, override_reason, lawful_basis, lawful_basis_reason, version, "
        "created_at, updated_at, created_by_id, updated_by_id) "
        "SELECT t.external_id, p.id, %s, %s, t.place_id, t.source, t.destination_sector, "
        "t.organisation_id, t.service_id, t.needs, t.activities, t.urgency, '', t.status, "
        "t.referred_at, t.closed_at, "
        "CASE WHEN t.status = 'declined' THEN COALESCE(t.decline_reason, %s) ELSE '' END, "
        "'', '', '', false, '[]'::jsonb, '', t.lawful_basis, t.lawful_basis_reason, 1, "
        "%s, %s, %s, %s "
        f"FROM import_referral t JOIN {patient_table} p ON p.nhs_number = t.nhs_number "
        f"WHERE NOT EXISTS (SELECT 1 FROM {referral_table} r "
        "WHERE r.external_id = t.external_id) "
        # Ids, and so references, follow the order of the file.
        "ORDER BY t.line",
        [referrer.pk, team.pk, IMPORTED_DECLINE_REASON, *audit],
    )
    return cursor.rowcount


def _insert_consents(
    cursor: CursorWrapper, *, referrer: User, team: Organisation, now: datetime
) -> int:
    """The number of consent decisions recorded: each (patient, day, method) the file gives as
    the basis of a referral, unless VSO Care already holds that decision, so a second import of
    the same file records none. An older consent never overrides a later withdrawal: the
    latest decision by date is the one in force."""
    consent_table, patient_table = Consent._meta.db_table, Patient._meta.db_table
    cursor.execute(
        f"INSERT INTO {consent_table} (patient_id, decision, method, decided_on, note, "
        "recorded_by_id, recorded_by_organisation_id, recorded_at) "
        "SELECT DISTINCT p.id, 'given', t.consent_method, t.consent_given_on, "
        "'Imported with the referrals', %s::bigint, %s::bigint, %s::timestamptz "
        f"FROM import_referral t JOIN {patient_table} p ON p.nhs_number = t.nhs_number "
        "WHERE t.lawful_basis = 'consent' AND NOT EXISTS (SELECT 1 FROM "
        f"{consent_table} c WHERE c.patient_id = p.id AND c.decision = 'given' "
        "AND c.decided_on = t.consent_given_on AND c.method = t.consent_method)",
        [referrer.pk, team.pk, now],
    )
    return cursor.rowcount
