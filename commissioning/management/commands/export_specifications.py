import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from commissioning.codes import SpecificationStatus
from commissioning.specification_files.export import specifications_export
from commissioning.specification_files.format import SpecificationFileError


class Command(BaseCommand):
    help = (
        "Write service specifications as a JSON file another installation can import with "
        "import_specifications. See docs/specification-files.md."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output",
            type=Path,
            metavar="FILE",
            help="The file to write (default: standard output).",
        )
        parser.add_argument(
            "--status",
            dest="statuses",
            action="extend",
            nargs="+",
            choices=SpecificationStatus.values,
            metavar="STATUS",
            help=(
                f"Only versions with these statuses: {', '.join(SpecificationStatus.values)} "
                "(default: every status)."
            ),
        )
        parser.add_argument(
            "--organisation",
            metavar="NAME",
            help="Only this organisation's services (name, any case).",
        )

    def handle(self, *args, output: Path | None, statuses, organisation, **options):
        try:
            document = specifications_export(statuses=statuses, organisation=organisation)
        except SpecificationFileError as error:
            raise CommandError(str(error)) from error
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        if output is None:
            self.stdout.write(text, ending="")
            return
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as error:
            raise CommandError(f"Cannot write {output}: {error.strerror}.") from error
        if options["verbosity"] >= 1:
            count = len(document["specifications"])
            # stderr, so that the summary never mixes with a file someone pipes on.
            self.stderr.write(f"Wrote {count} specification(s) to {output}.")
