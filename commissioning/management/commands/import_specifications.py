from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from commissioning.specification_files.format import SpecificationFileError
from commissioning.specification_files.importing import specifications_import
from commissioning.specification_files.reading import MAX_FILE_BYTES, records_from_json
from core.plausible import read_bytes


class Command(BaseCommand):
    help = (
        "Create or update service specifications from a file written by export_specifications "
        "(or a JSON list of specifications). All or nothing: any error in any record and "
        "nothing is changed. See docs/specification-files.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="The JSON file to load.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check the file and say what would change, but save nothing.",
        )

    def handle(self, *args, file: Path, dry_run: bool, **options):
        try:
            text = read_bytes(file, max_bytes=MAX_FILE_BYTES).decode("utf-8")
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from error
        except ValidationError as error:
            raise CommandError(f"Nothing was imported from {file}: {error.messages[0]}") from error
        except UnicodeDecodeError as error:
            raise CommandError(f"{file} is not a UTF-8 file: {error}.") from error

        try:
            result = specifications_import(records=records_from_json(text), dry_run=dry_run)
        except SpecificationFileError as error:
            for line in error.errors:
                self.stderr.write(line)
            raise CommandError(
                f"Nothing was imported: {len(error.errors)} error(s) in {file}."
            ) from error

        counts = (
            f"{len(result.created)} created, {len(result.updated)} updated, "
            f"{len(result.unchanged)} unchanged"
        )
        if dry_run:
            self.stdout.write(f"Dry run, nothing saved. {file} would give: {counts}.")
        else:
            self.stdout.write(f"Imported {file}: {counts}.")
        retired = "Would retire" if dry_run else "Retired"
        for label in result.retired:
            self.stdout.write(f"{retired}, replaced by an active version in the file: {label}")
        if options["verbosity"] >= 2:
            for kind in ("created", "updated", "unchanged"):
                for label in getattr(result, kind):
                    self.stdout.write(f"  {kind}: {label}")
