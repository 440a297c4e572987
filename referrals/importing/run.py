"""The import as a whole: who it is recorded as, then the file read, checked and written.

All or nothing: every row is checked against lookups loaded once, and only then is anything
written, in one transaction, so a file with one bad row changes nothing.
"""

import csv
from collections.abc import Iterable

import pghistory
from django.db import transaction

from accounts.models import Role, User
from core.csv_import import RowErrors
from referrals.importing.checks import (
    check_across_rows,
    check_existing_patients,
    check_existing_referrals,
)
from referrals.importing.columns import ImportResult, ReferralImportError
from referrals.importing.reading import header_positions, load_lookups, read_rows
from referrals.importing.writing import write


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


def referrals_import(*, lines: Iterable[str], referrer: User) -> ImportResult:
    """Create or update a referral for every row of a CSV file, or change nothing and raise
    ReferralImportError listing every problem as `row N, column C: message`.

    The referrer comes from referrer_for_import."""
    reader = csv.reader(lines)
    header = next(reader, None)
    positions = header_positions(header)
    errors = RowErrors(positions, error=ReferralImportError)
    team = referrer.organisation
    assert team is not None, "referrer_for_import refuses a referrer with no organisation"
    lookups = load_lookups(system_id=team.system_id)
    rows = read_rows(reader, positions=positions, lookups=lookups, errors=errors)
    check_across_rows(rows, errors=errors)
    existing_patients = check_existing_patients(rows, errors=errors)
    existing_referrals = check_existing_referrals(rows, errors=errors, system_id=team.system_id)
    errors.raise_if_any()
    with pghistory.context(user=referrer.pk, command="import_referrals"), transaction.atomic():
        return write(
            rows,
            existing_patients=existing_patients,
            existing_referrals=existing_referrals,
            referrer=referrer,
            team=team,
        )
