from pathlib import Path

import pghistory
from django.core.management.base import BaseCommand, CommandError

from core.csv_import import CsvFileError
from referrals.importing.columns import MAX_FILE_BYTES, ReferralImportError
from referrals.importing.progress import Progress, ProgressLine
from referrals.importing.reading import open_csv_file
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
        shown = parser.add_mutually_exclusive_group()
        shown.add_argument(
            "--progress",
            action="store_true",
            default=None,
            help=(
                "Print rows checked, rows written and the rate on stderr as the import goes, "
                "even when stderr is not a terminal (the default is to print it only to one)."
            ),
        )
        shown.add_argument(
            "--no-progress",
            "--quiet",
            dest="progress",
            action="store_false",
            help="Print no progress line, even on a terminal (for cron).",
        )

    def handle(self, *args, file: Path, referrer: str, progress: bool | None, **options):
        in_place = self.stderr.isatty()
        shown = in_place if progress is None else progress
        line = ProgressLine(self._progress, in_place=in_place) if shown else Progress()
        try:
            with open_csv_file(file, max_bytes=MAX_FILE_BYTES) as lines:
                user = referrer_for_import(email=referrer)
                with pghistory.context(file=file.name):
                    result = referrals_import(lines=lines, referrer=user, progress=line)
        except CsvFileError as error:
            raise CommandError(str(error)) from error
        except ReferralImportError as error:
            for message in error.errors:
                self.stderr.write(message)
            raise CommandError(
                f"Nothing was imported: {len(error.errors)} error(s) in {file}."
            ) from error

        self.stdout.write(
            f"Imported {result.rows} row(s) from {file}: referrals {result.referrals_created} "
            f"created, {result.referrals_updated} updated, {result.referrals_unchanged} "
            f"unchanged; {result.patients_created} new patient(s); "
            f"{result.consents_recorded} consent decision(s) recorded."
        )

    def _progress(self, text: str) -> None:
        # Uncoloured and without the line end stderr adds: the progress line writes its own.
        self.stderr.write(text, style_func=str, ending="")
