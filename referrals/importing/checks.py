"""Checks that no single row can make: rows that disagree with each other, and rows that disagree
with the patients and referrals the database already holds.

Each reads the rows from the temporary table they were copied into (staging.py), one query for
the whole file, so these take the same time for 3 rows as for 100,000 and hold no row in memory
but those found wrong.
"""

from django.db.backends.utils import CursorWrapper

from commissioning.models import Organisation, Sector
from core.csv_import import RowErrors
from referrals.importing.staging import TABLE
from referrals.models import Patient, Referral


def check_across_rows(cursor: CursorWrapper, *, errors: RowErrors) -> None:
    cursor.execute(
        "SELECT line, first_line FROM (SELECT line, "
        "min(line) OVER (PARTITION BY external_id) AS first_line "
        f"FROM {TABLE} WHERE external_id <> '') AS numbered WHERE line <> first_line"
    )
    for line, first in cursor.fetchall():
        errors.add(line, "external_id", f"Also on row {first}; one row per referral.")

    # Each row against the first with its NHS number. The database only finds the rows that
    # differ at all; whether names differ beyond their case is Python's casefold, as everywhere.
    cursor.execute(
        "SELECT line, date_of_birth, given_name, family_name, first_line, first_born, "
        "first_given, first_family FROM (SELECT line, date_of_birth, given_name, family_name, "
        "first_value(line) OVER patient AS first_line, "
        "first_value(date_of_birth) OVER patient AS first_born, "
        "first_value(given_name) OVER patient AS first_given, "
        "first_value(family_name) OVER patient AS first_family "
        f"FROM {TABLE} WHERE nhs_number IS NOT NULL "
        "WINDOW patient AS (PARTITION BY nhs_number ORDER BY line)) AS firsts "
        "WHERE line <> first_line AND (date_of_birth IS DISTINCT FROM first_born "
        "OR given_name <> first_given OR family_name <> first_family)"
    )
    for (
        line,
        born,
        given,
        family,
        first_line,
        first_born,
        first_given,
        first_family,
    ) in cursor.fetchall():
        # One patient is created from the file; rows that disagree about who they are mean a
        # mistyped NHS number or a mistyped name, and we cannot tell which.
        if born and first_born not in (None, born):
            errors.add(
                line,
                "date_of_birth",
                f"Row {first_line} gives another date of birth for this NHS number.",
            )
        for column, name, first_name in (
            ("given_name", given, first_given),
            ("family_name", family, first_family),
        ):
            if name.casefold() != first_name.casefold():
                errors.add(
                    line, column, f"Row {first_line} gives another name for this NHS number."
                )


def check_existing_patients(cursor: CursorWrapper, *, errors: RowErrors) -> None:
    # Names and postcode are never taken from a bulk file for a patient we hold, but another
    # date of birth most likely means the NHS number is wrong: refuse rather than guess.
    cursor.execute(
        f"SELECT t.line FROM {TABLE} t JOIN {Patient._meta.db_table} p "
        "ON p.nhs_number = t.nhs_number WHERE p.date_of_birth <> t.date_of_birth"
    )
    for (line,) in cursor.fetchall():
        errors.add(
            line,
            "date_of_birth",
            "Not the date of birth VSO Care holds for this NHS number; check both.",
        )


def check_existing_referrals(cursor: CursorWrapper, *, errors: RowErrors, system_id: int) -> int:
    """The number of rows naming a referral VSO Care already holds."""
    cursor.execute(
        f"SELECT count(*) FROM {TABLE} t JOIN {Referral._meta.db_table} r "
        "ON r.external_id = t.external_id"
    )
    (held,) = cursor.fetchone()
    cursor.execute(
        "SELECT line, other_system IS TRUE, after_contact IS TRUE, after_escalation IS TRUE, "
        "moved_cover IS TRUE FROM (SELECT t.line, team.system_id <> %s AS other_system, "
        "t.referred_at > r.first_contact_at AS after_contact, "
        "t.referred_at >= r.wait_escalated_at AS after_escalation, "
        "r.interim_cover_for_id IS NOT NULL AND t.destination_sector <> %s AS moved_cover "
        f"FROM {TABLE} t JOIN {Referral._meta.db_table} r ON r.external_id = t.external_id "
        f"JOIN {Organisation._meta.db_table} team ON team.id = r.referrer_organisation_id) AS held "
        "WHERE other_system OR after_contact OR after_escalation OR moved_cover",
        [system_id, Sector.VOLUNTARY],
    )
    for line, other_system, after_contact, after_escalation, moved_cover in cursor.fetchall():
        if other_system:
            # External ids come from other systems' records and may repeat across ICSs; one
            # system's file must never rewrite another's referral.
            errors.add(
                line, "external_id", "Taken by a referral of another integrated care system."
            )
        # The database's own rules, checked here so that they come back as row errors.
        if after_contact:
            errors.add(
                line, "referred_at", "After the first contact VSO Care records for this referral."
            )
        if after_escalation:
            errors.add(
                line,
                "referred_at",
                "Not before the escalation of the wait VSO Care records for this referral.",
            )
        if moved_cover:
            errors.add(
                line,
                "destination_sector",
                "This referral is interim cover in VSO Care, which only a voluntary one can be.",
            )
    return int(held)
