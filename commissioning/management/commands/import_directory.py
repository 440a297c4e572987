from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from commissioning.hsds.importing import directory_import
from commissioning.hsds.reading import (
    MAX_FILE_BYTES,
    DirectoryImportError,
    document_from_json,
    records_from_document,
)
from commissioning.models import Sector, System, VsoKind
from core.plausible import read_bytes


class Command(BaseCommand):
    help = (
        "Create or update organisations and services from an Open Referral UK / HSDS 3.0 JSON "
        "file (a page of services, a list of services or one service). All or nothing: any "
        "error in any record and nothing is changed. See docs/directory-open-data.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="The JSON file to load.")
        parser.add_argument(
            "--sector",
            required=True,
            choices=Sector.values,
            help="The sector of every organisation in the file.",
        )
        parser.add_argument(
            "--kind",
            choices=VsoKind.values,
            help=(
                "Voluntary sector only: the kind given to new organisations whose legal_status "
                f"is not one of ours (default {VsoKind.REGISTERED_CHARITY})."
            ),
        )
        parser.add_argument(
            "--system",
            help="The name of the integrated care system; needed when there is more than one.",
        )

    def handle(self, *args, file: Path, sector: str, kind: str | None, system: str | None, **opts):
        kind = self._kind(sector, kind)
        target = self._system(system)
        try:
            text = read_bytes(file, max_bytes=MAX_FILE_BYTES).decode("utf-8")
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from error
        except ValidationError as error:
            raise CommandError(f"Nothing was imported from {file}: {error.messages[0]}") from error
        except UnicodeDecodeError as error:
            raise CommandError(f"{file} is not a UTF-8 file: {error}.") from error

        try:
            document = document_from_json(text)
            records = records_from_document(document)
            result = directory_import(records=records, sector=sector, kind=kind, system=target)
        except DirectoryImportError as error:
            for line in error.errors:
                self.stderr.write(line)
            raise CommandError(
                f"Nothing was imported: {len(error.errors)} error(s) in {file}."
            ) from error

        self.stdout.write(
            f"Imported {len(records)} service record(s) from {file} into {target.name}: "
            f"organisations {result.organisations_created} created, "
            f"{result.organisations_updated} updated; "
            f"services {result.services_created} created, {result.services_updated} updated."
        )
        if isinstance(document, dict) and document.get("last_page") is False:
            # A page saved from a paginated feed is only part of it; say so rather than let
            # someone believe the whole feed is in.
            self.stdout.write(
                f"Note: this file is page {_number(document.get('page_number'))} of "
                f"{_number(document.get('total_pages'))} of its feed; import the other pages too."
            )

    def _kind(self, sector: str, kind: str | None) -> str:
        if sector != Sector.VOLUNTARY:
            if kind:
                raise CommandError("--kind describes voluntary organisations only.")
            return ""
        kind = kind or VsoKind.REGISTERED_CHARITY
        if kind not in VsoKind.values:
            raise CommandError(f"--kind must be one of {', '.join(VsoKind.values)}.")
        return kind

    def _system(self, name: str | None) -> System:
        if name:
            system = System.objects.filter(name=name).first()
            if system is None:
                known = ", ".join(System.objects.values_list("name", flat=True)) or "none"
                raise CommandError(f"There is no system called {name!r} (there are: {known}).")
            return system
        systems = list(System.objects.all()[:2])
        if not systems:
            raise CommandError("There is no system yet; create one before importing.")
        if len(systems) > 1:
            raise CommandError("There is more than one system; name one with --system.")
        return systems[0]


def _number(value: object) -> str:
    # Only a number is printed as it is: text from the file could carry control characters.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else "?"
