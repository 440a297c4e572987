"""Checks that no single row can make: rows that disagree with each other, and rows that disagree
with the patients and referrals the database already holds.

Each look at the database is one query for the whole file, so these take the same time for 3 rows
as for 100,000.
"""

from dataclasses import dataclass
from datetime import date, datetime

from django.db import connection

from commissioning.models import Organisation, Sector
from core.csv_import import RowErrors
from referrals.importing.columns import Row
from referrals.models import Patient, Referral


@dataclass(frozen=True, slots=True)
class HeldPatient:
    pk: int
    date_of_birth: date


@dataclass(frozen=True, slots=True)
class HeldReferral:
    """A referral the file names that VSO Care already holds."""

    pk: int
    # The place of the team that referred it: an update keeps the referring team.
    team_place_id: int | None
    first_contact_at: datetime | None
    wait_escalated_at: datetime | None
    is_interim_cover: bool
    system_id: int


def check_across_rows(rows: list[Row], *, errors: RowErrors) -> None:
    first_with_id: dict[str, int] = {}
    first_with_number: dict[str, Row] = {}
    for row in rows:
        if row.external_id:
            first = first_with_id.setdefault(row.external_id, row.line)
            if first != row.line:
                errors.add(row.line, "external_id", f"Also on row {first}; one row per referral.")
        if row.nhs_number is None:
            continue
        first_row = first_with_number.setdefault(row.nhs_number, row)
        if first_row is row:
            continue
        # One patient is created from the file; rows that disagree about who they are mean a
        # mistyped NHS number or a mistyped name, and we cannot tell which.
        if row.date_of_birth and first_row.date_of_birth not in (None, row.date_of_birth):
            errors.add(
                row.line,
                "date_of_birth",
                f"Row {first_row.line} gives another date of birth for this NHS number.",
            )
        for column in ("given_name", "family_name"):
            if getattr(row, column).casefold() != getattr(first_row, column).casefold():
                errors.add(
                    row.line,
                    column,
                    f"Row {first_row.line} gives another name for this NHS number.",
                )


def check_existing_patients(rows: list[Row], *, errors: RowErrors) -> dict[str, int]:
    """NHS number -> id of the patients VSO Care already holds."""
    numbers = list({row.nhs_number for row in rows if row.nhs_number})
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT nhs_number, id, date_of_birth FROM {Patient._meta.db_table} "
            "WHERE nhs_number = ANY(%s)",
            [numbers],
        )
        found = {
            number: HeldPatient(pk=pk, date_of_birth=born) for number, pk, born in cursor.fetchall()
        }
    for row in rows:
        if row.nhs_number is None:
            continue
        held = found.get(row.nhs_number)
        # Names and postcode are never taken from a bulk file for a patient we hold, but another
        # date of birth most likely means the NHS number is wrong: refuse rather than guess.
        if held and row.date_of_birth and held.date_of_birth != row.date_of_birth:
            errors.add(
                row.line,
                "date_of_birth",
                "Not the date of birth VSO Care holds for this NHS number; check both.",
            )
    return {number: held.pk for number, held in found.items()}


def check_existing_referrals(
    rows: list[Row], *, errors: RowErrors, system_id: int
) -> dict[str, HeldReferral]:
    """external_id -> the referral already imported with it."""
    ids = [row.external_id for row in rows if row.external_id]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.external_id, r.id, team.place_id, r.first_contact_at, "
            "r.wait_escalated_at, r.interim_cover_for_id IS NOT NULL, team.system_id "
            f"FROM {Referral._meta.db_table} r "
            f"JOIN {Organisation._meta.db_table} team ON team.id = r.referrer_organisation_id "
            "WHERE r.external_id = ANY(%s)",
            [ids],
        )
        # HeldReferral's fields are the SELECT's columns after the first, in order.
        found = {external_id: HeldReferral(*held) for external_id, *held in cursor.fetchall()}
    for row in rows:
        held = found.get(row.external_id)
        if not held:
            continue
        if held.system_id != system_id:
            # External ids come from other systems' records and may repeat across ICSs; one
            # system's file must never rewrite another's referral.
            errors.add(
                row.line, "external_id", "Taken by a referral of another integrated care system."
            )
        # The database's own rules, checked here so that they come back as row errors.
        if held.first_contact_at and row.referred_at and row.referred_at > held.first_contact_at:
            errors.add(
                row.line,
                "referred_at",
                "After the first contact VSO Care records for this referral.",
            )
        if held.wait_escalated_at and row.referred_at and row.referred_at >= held.wait_escalated_at:
            errors.add(
                row.line,
                "referred_at",
                "Not before the escalation of the wait VSO Care records for this referral.",
            )
        if held.is_interim_cover and row.destination_sector != Sector.VOLUNTARY:
            errors.add(
                row.line,
                "destination_sector",
                "This referral is interim cover in VSO Care, which only a voluntary one can be.",
            )
    return found
