"""The import as a whole: who it is recorded as, then the file read, checked and written.

All or nothing, in one transaction: each row is read, checked against lookups loaded once and
copied into a temporary table as it comes, so that the file is never held whole; the checks
across rows and against the database then read that table, and only a file with no error is
written. A file with one bad row changes nothing.
"""

import csv
from collections.abc import Iterable

import pghistory
from django.db import connection, transaction

from accounts.models import Role, User
from commissioning.models import Organisation, Sector
from core.csv_import import RowErrors
from referrals.importing import staging
from referrals.importing.checks import (
    check_across_rows,
    check_existing_patients,
    check_existing_referrals,
)
from referrals.importing.columns import ImportResult, ReferralImportError
from referrals.importing.progress import Progress
from referrals.importing.reading import header_positions, load_lookups, read_rows
from referrals.importing.writing import write
from referrals.remit_cache import remit_page_changed


def referrer_for_import(*, email: str) -> User:
    """The person an import records as the referrer: an active ICC with a team."""
    user = (
        User.objects.select_related("organisation")
        .filter(email__iexact=email.strip(), is_active=True)
        .first()
    )
    if user is None:
        raise ReferralImportError([f"--referrer {email}: No active user has this email address."])
    if user.role != Role.ICC:
        raise ReferralImportError(
            [f"--referrer {email}: {user.full_name} is a {user.get_role_display()}, not an ICC."]
        )
    if user.organisation is None:
        # Reports count referrals by the referrer's team, so the database requires one.
        raise ReferralImportError(
            [f"--referrer {email}: {user.full_name} belongs to no organisation."]
        )
    return user


def referrals_import(
    *, lines: Iterable[str], referrer: User, progress: Progress | None = None
) -> ImportResult:
    """Create or update a referral for every row of a CSV file, or change nothing and raise
    ReferralImportError listing every problem as `row N, column C: message`.

    `lines` are read once, as they come (an open file streams). The referrer comes from
    referrer_for_import; `progress` hears how far the import is."""
    progress = progress or Progress()
    reader = csv.reader(lines)
    header = next(reader, None)
    positions = header_positions(header)
    errors = RowErrors(positions, error=ReferralImportError)
    team = referrer.organisation
    assert team is not None, "referrer_for_import refuses a referrer with no organisation"
    lookups = load_lookups(system_id=team.system_id)
    try:
        with (
            pghistory.context(user=referrer.pk, command="import_referrals"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            rows = staging.stage(
                cursor,
                read_rows(reader, positions=positions, lookups=lookups, errors=errors),
                progress=progress,
            )
            check_across_rows(cursor, errors=errors)
            check_existing_patients(cursor, errors=errors)
            held = check_existing_referrals(cursor, errors=errors, system_id=team.system_id)
            # Rolls back the temporary table with the rest.
            errors.raise_if_any()
            result = write(
                cursor, rows=rows, held=held, referrer=referrer, team=team, progress=progress
            )
            staging.drop(cursor)
            # Written in SQL, which sends no post_save: every remit page of the system, all the
            # file could reach, is computed afresh (referrals/remit_cache.py).
            remit_page_changed(
                organisation_ids=Organisation.objects.filter(
                    system_id=team.system_id, sector=Sector.VOLUNTARY
                ).values_list("pk", flat=True)
            )
            return result
    finally:
        progress.done()
