import io
from pathlib import Path

import pghistory
from django.core.management.base import BaseCommand, CommandError

from core.csv_import import CsvFileError, csv_file_text
from referrals.importing.columns import MAX_FILE_BYTES, ReferralImportError
from referrals.importing.run import referrals_import, referrer_for_import


class Command(BaseCommand):
    help = (
        "Create or update referrals from a CSV file of historic referrals, matched on "
        "external_id. All or nothing: any error in any row and nothing is changed. "
        "See docs/referral-import.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="The CSV file to load (UTF-8).")
        parser.add_argument(
            "--referrer",
            required=True,
            metavar="EMAIL",
            help=(
                "The active ICC recorded as the referrer of new referrals; their organisation "
                "is recorded as the referring team."
            ),
        )

    def handle(self, *args, file: Path, referrer: str, **options):
        try:
            text = csv_file_text(file, max_bytes=MAX_FILE_BYTES)
        except CsvFileError as error:
            raise CommandError(str(error)) from error

        try:
            user = referrer_for_import(email=referrer)
            with pghistory.context(file=file.name):
                result = referrals_import(lines=io.StringIO(text, newline=""), referrer=user)
        except ReferralImportError as error:
            for line in error.errors:
                self.stderr.write(line)
            raise CommandError(
                f"Nothing was imported: {len(error.errors)} error(s) in {file}."
            ) from error

        self.stdout.write(
            f"Imported {result.rows} row(s) from {file}: referrals {result.referrals_created} "
            f"created, {result.referrals_updated} updated, {result.referrals_unchanged} "
            f"unchanged; {result.patients_created} new patient(s); "
            f"{result.consents_recorded} consent decision(s) recorded."
        )
