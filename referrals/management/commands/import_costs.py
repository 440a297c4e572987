import io
from pathlib import Path

import pghistory
from django.core.management.base import BaseCommand, CommandError

from core.csv_import import CsvFileError, csv_file_text
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
            text = csv_file_text(file, max_bytes=MAX_FILE_BYTES)
        except CsvFileError as error:
            raise CommandError(str(error)) from error

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
