import io
from pathlib import Path

import pghistory
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from core.plausible import read_bytes
from referrals.services_costs import (
    MAX_FILE_BYTES,
    CostImportError,
    cost_import_system,
    costs_import,
)


class Command(BaseCommand):
    help = (
        "Add or replace patients' health and social care costs in the 12 months before and "
        "after their wellbeing co-ordination, from a CSV file (nhs_number, cost_12m_before, "
        "cost_12m_after). All or nothing: any error in any row and nothing is changed. "
        "See docs/cost-import.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="The CSV file to load (UTF-8).")
        parser.add_argument(
            "--system",
            metavar="NAME",
            help="The integrated care system the costs are for, by name; needed when there "
            "are several.",
        )

    def handle(self, *args, file: Path, system: str | None, **options):
        try:
            data = read_bytes(file, max_bytes=MAX_FILE_BYTES)
            # utf-8-sig, because spreadsheet programs often start a CSV file with a byte order
            # mark; line ends of any kind become "\n".
            text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig").read()
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from error
        except ValidationError as error:
            raise CommandError(f"Nothing was imported from {file}: {error.messages[0]}") from error
        except UnicodeDecodeError as error:
            raise CommandError(f"{file} is not a UTF-8 file: {error}.") from error

        try:
            system_obj = cost_import_system(name=system)
            with pghistory.context(file=file.name):
                result = costs_import(lines=io.StringIO(text, newline=""), system=system_obj)
        except CostImportError as error:
            for line in error.errors:
                self.stderr.write(line)
            raise CommandError(
                f"Nothing was imported: {len(error.errors)} error(s) in {file}."
            ) from error

        self.stdout.write(
            f"Imported {result.rows} row(s) from {file} for {system_obj.name}: costs of "
            f"{result.added} patient(s) added, {result.replaced} replaced, "
            f"{result.unchanged} unchanged."
        )
