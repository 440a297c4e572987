"""Importing a file's records: each read, resolved and checked, then all written or none."""

from collections.abc import Sequence

from django.db import transaction

from commissioning.specification_files.checking import check_statuses
from commissioning.specification_files.format import ImportResult, SpecificationFileError
from commissioning.specification_files.reading import read_records
from commissioning.specification_files.resolving import resolve_names
from commissioning.specification_files.writing import write_records


def specifications_import(*, records: Sequence[object], dry_run: bool) -> ImportResult:
    """Create or update every record, or change nothing and raise SpecificationFileError."""
    with transaction.atomic():
        records_read = read_records(records)
        in_force = resolve_names(records_read)
        retiring = check_statuses(records_read, in_force)
        errors = [
            f"{record.label}: {name}: {message}"
            for record in records_read
            for name, messages in record.errors.items()
            for message in messages
        ]
        if errors:
            raise SpecificationFileError(errors)
        result = write_records(records_read, retiring, dry_run=dry_run)
        if dry_run:
            # The writes ran, so the database's own constraints have had their say too.
            transaction.set_rollback(True)
    return result
