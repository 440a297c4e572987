"""Writing checked rows: new patients, then referrals updated and created, and their history, all
set-based.

One ORM save per row would take the best part of an hour for 100,000 rows. Here the rows, already
copied into a temporary table as they were read (staging.py), are written by INSERT ... SELECT
and UPDATE ... FROM, which takes seconds (bench/RESULTS.md). The caller holds the transaction and
the history context.

History is written the same way. django-pghistory's row triggers would insert one event per row,
calling a PL/pgSQL function for each; for a bulk import that was most of its time. So the import
sets the triggers of the tables it writes aside for its own statements, as pgtrigger.ignore()
does, and each statement writes its rows' events itself, in the same statement: the rows it
returns, with the label, object, time and context the trigger would have given them
(tests/referrals/test_import_referrals.py compares the two). Every change is still recorded.
"""

from datetime import datetime

import pghistory.config
import pgtrigger
from django.db import models
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from accounts.models import User
from commissioning.models import Organisation
from referrals.importing.columns import IMPORTED_DECLINE_REASON, ImportResult
from referrals.importing.progress import Progress
from referrals.importing.staging import TABLE
from referrals.models import Consent, Patient, Referral

# The moment and the people every statement records: now, the referrer, their team and its place.
Audit = dict[str, datetime | int | None]

# The history triggers of the tables the import writes, each of which it writes for itself.
HISTORY_TRIGGERS = (
    "referrals.Patient:insert_insert",
    "referrals.Referral:insert_insert",
    "referrals.Referral:update_update",
)


def write(
    cursor: CursorWrapper,
    *,
    rows: int,
    held: int,
    referrer: User,
    team: Organisation,
    progress: Progress,
) -> ImportResult:
    """Write the rows of the temporary table, which have passed every check. Call it inside a
    transaction: it opens none, and the trigger setting it makes lasts until that transaction
    ends or it is done."""
    now = timezone.now()
    audit: Audit = {"now": now, "user": referrer.pk, "team": team.pk, "team_place": team.place_id}
    previous = _set_history_triggers_aside(cursor)
    patients_created = _insert_patients(cursor, audit=audit)
    referrals_updated = _update_referrals(cursor, audit=audit)
    progress.written(referrals_updated)
    referrals_created = _insert_referrals(cursor, audit=audit)
    progress.written(referrals_created)
    consents_recorded = _insert_consents(cursor, audit=audit)
    # Whatever the caller does next in this transaction is recorded by the triggers again.
    cursor.execute("SELECT set_config('pgtrigger.ignore', %s, true)", [previous])
    return ImportResult(
        rows=rows,
        patients_created=patients_created,
        referrals_created=referrals_created,
        referrals_updated=referrals_updated,
        referrals_unchanged=held - referrals_updated,
        consents_recorded=consents_recorded,
    )


def _set_history_triggers_aside(cursor: CursorWrapper) -> str:
    """Add the import's history triggers to those pgtrigger ignores in this transaction; the
    setting as it was.

    Set even when a caller set nothing: the triggers' ignore check reads the setting inside a
    PL/pgSQL EXCEPTION block, which raises when it was never set, and PostgreSQL then walks the
    statement's whole queue of AFTER trigger events per row (100,000 rows took nine minutes)."""
    names = []
    for model, trigger in pgtrigger.registered(*HISTORY_TRIGGERS):
        pgid = trigger.get_pgid(model)
        # Both spellings, as pgtrigger.ignore() sets them, for older installed ignore functions.
        names += [pgid, f"{model._meta.db_table}:{pgid}"]
    cursor.execute(
        "SELECT coalesce(current_setting('pgtrigger.ignore', true), ''), "
        "set_config('pgtrigger.ignore', array(SELECT unnest(coalesce(nullif("
        "current_setting('pgtrigger.ignore', true), ''), '{}')::text[]) UNION "
        "SELECT unnest(%s::text[]))::text, true)",
        [names],
    )
    (previous, _) = cursor.fetchone()
    return str(previous) or "{}"


def _with_history(statement: str, *, model: type[models.Model], label: str) -> str:
    """`statement`, an INSERT or UPDATE ending in RETURNING *, made to record each row it writes
    as the model's history trigger for `label` would: the same columns, the row as written,
    pghistory's context (created, or its metadata updated, as the trigger does) and time."""
    event_model: type[models.Model] = getattr(model, "pgh_event_model")  # noqa: B009
    tracked = {field.name for field in model._meta.fields}
    columns = [
        field.column
        for field in event_model._meta.fields
        if field.name in tracked
        and field.concrete
        and not isinstance(field, models.AutoField | models.GeneratedField)
    ]
    obj = event_model._meta.get_field("pgh_obj").target_field.column  # type: ignore[union-attr]
    names = ", ".join(f'"{column}"' for column in columns)
    values = ", ".join(f'written."{column}"' for column in columns)
    # MATERIALIZED: the context is attached once for the statement, not once a row.
    return (
        f"WITH written AS ({statement}), "
        "context AS MATERIALIZED (SELECT _pgh_attach_context() AS id) "
        f'INSERT INTO "{event_model._meta.db_table}" ({names}, "pgh_context_id", '
        '"pgh_created_at", "pgh_label", "pgh_obj_id") '
        f"SELECT {values}, context.id, {pghistory.config.created_at_function()}, "
        f"'{label}', written.\"{obj}\" FROM written CROSS JOIN context "
        # In the order the rows were written, as the trigger would have recorded them.
        f'ORDER BY written."{obj}"'
    )


def _insert_patients(cursor: CursorWrapper, *, audit: Audit) -> int:
    """The number of patients created: one for each NHS number VSO Care does not hold, with the
    names and date of birth of its first row and the postcode of its latest (people move)."""
    patient_table = Patient._meta.db_table
    insert = (
        f"INSERT INTO {patient_table} (nhs_number, given_name, family_name, date_of_birth, "
        "postcode, lives_alone, is_carer, is_cared_for, created_at, updated_at, created_by_id, "
        "updated_by_id) "
        "SELECT earliest.nhs_number, earliest.given_name, earliest.family_name, "
        "earliest.date_of_birth, "
        "latest.postcode, false, false, false, %(now)s, %(now)s, %(user)s, %(user)s "
        f"FROM (SELECT DISTINCT ON (nhs_number) * FROM {TABLE} ORDER BY nhs_number, line) earliest "
        f"JOIN (SELECT DISTINCT ON (nhs_number) nhs_number, postcode FROM {TABLE} "
        # Of two rows on the same moment, the first in the file.
        "ORDER BY nhs_number, referred_at DESC, line) latest USING (nhs_number) "
        f"WHERE NOT EXISTS (SELECT 1 FROM {patient_table} p "
        "WHERE p.nhs_number = earliest.nhs_number) "
        "ORDER BY earliest.nhs_number ON CONFLICT (nhs_number) DO NOTHING RETURNING *"
    )
    cursor.execute(_with_history(insert, model=Patient, label="insert"), audit)
    return int(cursor.rowcount)


def _update_referrals(cursor: CursorWrapper, *, audit: Audit) -> int:
    """The number of referrals updated.

    The file's columns win; what happened in VSO Care since (decisions, contact, outcome)
    stays. Only rows that differ are touched, so an unchanged re-import records no history
    and bumps no version. A row updated always changes its version, so the trigger, which
    records an update only when the row changed, would have recorded every one.
    """
    referral_table, patient_table = Referral._meta.db_table, Patient._meta.db_table
    # A declined referral keeps the reason it has unless the file gives one.
    decline_reason = (
        "CASE WHEN t.status = 'declined' THEN COALESCE(t.decline_reason, "
        "NULLIF(r.decline_reason, ''), %(declined)s) ELSE r.decline_reason END"
    )
    # A destination with no place leaves the referral at its referring team's place, and an
    # update keeps the team that first referred it.
    place = "COALESCE(t.place_id, team.place_id)"
    update = (
        f"UPDATE {referral_table} AS r SET patient_id = p.id, source = t.source, "
        "destination_sector = t.destination_sector, organisation_id = t.organisation_id, "
        f"service_id = t.service_id, place_id = {place}, needs = t.needs, "
        "activities = t.activities, urgency = t.urgency, status = t.status, "
        "referred_at = t.referred_at, closed_at = t.closed_at, "
        "lawful_basis = t.lawful_basis, lawful_basis_reason = t.lawful_basis_reason, "
        f"decline_reason = {decline_reason}, version = r.version + 1, "
        "updated_at = %(now)s, updated_by_id = %(user)s "
        f"FROM {TABLE} t, {patient_table} p, {Organisation._meta.db_table} team "
        "WHERE r.external_id = t.external_id AND p.nhs_number = t.nhs_number "
        "AND team.id = r.referrer_organisation_id AND "
        "(r.patient_id, r.source, r.destination_sector, r.organisation_id, r.service_id, "
        "r.place_id, r.needs, r.activities, r.urgency, r.status, r.referred_at, r.closed_at, "
        "r.lawful_basis, r.lawful_basis_reason, r.decline_reason) IS DISTINCT FROM "
        "(p.id, t.source, t.destination_sector, t.organisation_id, t.service_id, "
        f"{place}, t.needs::varchar[], t.activities::varchar[], t.urgency, t.status, "
        "t.referred_at, t.closed_at, t.lawful_basis, t.lawful_basis_reason, "
        f"{decline_reason}) RETURNING r.*"
    )
    cursor.execute(
        _with_history(update, model=Referral, label="update"),
        {**audit, "declined": IMPORTED_DECLINE_REASON},
    )
    return int(cursor.rowcount)


def _insert_referrals(cursor: CursorWrapper, *, audit: Audit) -> int:
    """The number of referrals created: those in the file that VSO Care does not hold."""
    referral_table, patient_table = Referral._meta.db_table, Patient._meta.db_table
    # Historic records: not remit-checked (see docs/referral-import.md), so out_of_remit is
    # false with no reasons; the nightly report judges them against the specifications.
    insert = (
        f"INSERT INTO {referral_table} (external_id, patient_id, referrer_id, "
        "referrer_organisation_id, place_id, source, destination_sector, organisation_id, "
        "service_id, needs, activities, urgency, reason, status, referred_at, closed_at, "
        "decline_reason, outcome, withdrawal_reason, statutory_decline_reason, out_of_remit, "
        "remit_reasons, override_reason, lawful_basis, lawful_basis_reason, version, "
        "created_at, updated_at, created_by_id, updated_by_id) "
        "SELECT t.external_id, p.id, %(user)s, %(team)s, "
        # A destination with no place leaves the referral at the referring team's place.
        "COALESCE(t.place_id, %(team_place)s), t.source, t.destination_sector, "
        "t.organisation_id, t.service_id, t.needs, t.activities, t.urgency, '', t.status, "
        "t.referred_at, t.closed_at, "
        "CASE WHEN t.status = 'declined' THEN COALESCE(t.decline_reason, %(declined)s) "
        "ELSE '' END, '', '', '', false, '[]'::jsonb, '', t.lawful_basis, "
        "t.lawful_basis_reason, 1, %(now)s, %(now)s, %(user)s, %(user)s "
        f"FROM {TABLE} t JOIN {patient_table} p ON p.nhs_number = t.nhs_number "
        f"WHERE NOT EXISTS (SELECT 1 FROM {referral_table} r "
        "WHERE r.external_id = t.external_id) "
        # Ids, and so references, follow the order of the file.
        "ORDER BY t.line RETURNING *"
    )
    cursor.execute(
        _with_history(insert, model=Referral, label="insert"),
        {**audit, "declined": IMPORTED_DECLINE_REASON},
    )
    return int(cursor.rowcount)


def _insert_consents(cursor: CursorWrapper, *, audit: Audit) -> int:
    """The number of consent decisions recorded: each (patient, day, method) the file gives as
    the basis of a referral, unless VSO Care already holds that decision, so a second import of
    the same file records none. An older consent never overrides a later withdrawal: the
    latest decision by date is the one in force."""
    consent_table, patient_table = Consent._meta.db_table, Patient._meta.db_table
    cursor.execute(
        f"INSERT INTO {consent_table} (patient_id, decision, method, decided_on, note, "
        "recorded_by_id, recorded_by_organisation_id, recorded_at) "
        "SELECT DISTINCT p.id, 'given', t.consent_method, t.consent_given_on, "
        "'Imported with the referrals', %(user)s::bigint, %(team)s::bigint, "
        "%(now)s::timestamptz "
        f"FROM {TABLE} t JOIN {patient_table} p ON p.nhs_number = t.nhs_number "
        "WHERE t.lawful_basis = 'consent' AND NOT EXISTS (SELECT 1 FROM "
        f"{consent_table} c WHERE c.patient_id = p.id AND c.decision = 'given' "
        "AND c.decided_on = t.consent_given_on AND c.method = t.consent_method)",
        audit,
    )
    return int(cursor.rowcount)
