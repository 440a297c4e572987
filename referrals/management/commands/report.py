import json
from datetime import date

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from commissioning.models import Organisation, Place, Sector, Service, System
from core.plausible import check_period_day
from core.spreadsheets import SpreadsheetWriter
from referrals.models import ReportKind
from referrals.reports.outcomes import CSV_COLUMNS, csv_rows, outcomes_report
from referrals.reports.snapshots import report_compute
from referrals.reports.suppression import suppressed

KINDS = {
    "referral-split": ReportKind.REFERRAL_SPLIT,
    "remit-breaches": ReportKind.REMIT_BREACHES,
    "service-activity": ReportKind.SERVICE_ACTIVITY,
}
ACTIVITY_COLUMNS = (
    "organisation", "service", "active", "received", "accepted", "declined", "withdrawn",
    "contacted", "median_hours_to_contact", "response_target_hours", "contacted_within_target",
    "overrides", "marked_at_limit", "capacity_used", "capacity_commissioned",
    "months_over_capacity",
)  # fmt: skip
SPLIT_SECTIONS = (
    ("by_place", "place"),
    ("by_team", "team"),
    ("by_source", "source"),
    ("by_month", "month"),
)


def _date(option: str, raw: str) -> date:
    try:
        return check_period_day(date.fromisoformat(raw), today=timezone.localdate())
    except ValueError:
        raise CommandError(f"{option} must be a date written YYYY-MM-DD, not {raw!r}.") from None
    except ValidationError as error:
        raise CommandError(f"{option} {raw}: {' '.join(error.messages)}") from None


def _system(name: str | None) -> System:
    if name:
        found = System.objects.filter(name__iexact=name.strip()).first()
        if found is None:
            known = ", ".join(System.objects.order_by("name").values_list("name", flat=True))
            raise CommandError(f"No system called {name!r}. Systems: {known or 'none'}.")
        return found
    systems = list(System.objects.order_by("pk")[:2])
    if len(systems) != 1:
        raise CommandError(
            "There is no system yet." if not systems else "Name the system with --system."
        )
    return systems[0]


def _named(kind: str, choices, name: str, *, several: str = ""):
    """The one record of `choices` with this name (any capitals), or a message listing them."""
    found = list(choices.filter(name__iexact=name.strip())[:2])
    if len(found) == 1:
        return found[0]
    known = ", ".join(sorted(set(choices.values_list("name", flat=True)), key=str.lower))
    if found:
        raise CommandError(f"Several {kind}s are called {name!r}.{several}")
    raise CommandError(f"No {kind} called {name!r}. {kind.capitalize()}s: {known or 'none'}.")


class Command(BaseCommand):
    help = (
        "Print a report for a period, computed as the nightly task computes it: "
        "referral-split, remit-breaches or service-activity, as JSON or CSV; or the outcomes "
        "of wellbeing co-ordination (outcomes), whose CSV suppresses small numbers. "
        "See docs/reports.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("report", choices=[*KINDS, "outcomes"])
        parser.add_argument("--from", dest="date_from", required=True, metavar="YYYY-MM-DD")
        parser.add_argument("--to", dest="date_to", required=True, metavar="YYYY-MM-DD")
        parser.add_argument(
            "--system", help="The integrated care system, by name; needed when there are several."
        )
        parser.add_argument("--place", help="Only referrals belonging to this place.")
        parser.add_argument(
            "--organisation", help="outcomes only: the voluntary organisation referred to."
        )
        parser.add_argument("--service", help="outcomes only: the voluntary service referred to.")
        parser.add_argument("--format", choices=["json", "csv"], default="json")

    def handle(self, *args, report, date_from, date_to, system, place, format, **options):
        if report != "outcomes" and (options["organisation"] or options["service"]):
            raise CommandError("--organisation and --service are for the outcomes report only.")
        system_obj = _system(system)
        place_obj = None
        if place:
            places = Place.objects.filter(system=system_obj)
            place_obj = places.filter(name__iexact=place.strip()).first()
            if place_obj is None:
                known = ", ".join(places.order_by("name").values_list("name", flat=True))
                raise CommandError(f"No place called {place!r}. Places: {known}.")
        if report == "outcomes":
            self._outcomes(
                system_obj, _date("--from", date_from), _date("--to", date_to), place_obj,
                organisation=options["organisation"], service=options["service"], format=format,
            )  # fmt: skip
            return
        try:
            data = report_compute(
                kind=KINDS[report],
                system=system_obj,
                date_from=_date("--from", date_from),
                date_to=_date("--to", date_to),
                place=place_obj,
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        if format == "json":
            self.stdout.write(json.dumps(data, indent=2))
        elif report == "referral-split":
            self._split_csv(data)
        elif report == "remit-breaches":
            self._breaches_csv(data)
        else:
            self._activity_csv(data)

    def _outcomes(self, system, date_from, date_to, place, *, organisation, service, format):
        organisations = Organisation.objects.filter(system=system, sector=Sector.VOLUNTARY)
        organisation_obj = (
            _named("organisation", organisations, organisation) if organisation else None
        )
        services = Service.objects.filter(organisation__in=organisations).select_related(
            "organisation"
        )
        if organisation_obj is not None:
            services = services.filter(organisation=organisation_obj)
        service_obj = (
            _named("service", services, service, several=" Name its --organisation too.")
            if service
            else None
        )
        try:
            data = outcomes_report(
                system=system, date_from=date_from, date_to=date_to,
                organisation=organisation_obj, service=service_obj, place=place,
            )  # fmt: skip
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        if format == "json":
            self.stdout.write(json.dumps(data, indent=2))
            return
        writer = self._writer()
        writer.writerow(CSV_COLUMNS)
        writer.writerows(csv_rows(suppressed(data)))

    def _writer(self):
        return SpreadsheetWriter(self.stdout, lineterminator="\n")

    def _split_csv(self, data: dict) -> None:
        writer = self._writer()
        writer.writerow(
            ["dimension", "key", "total", "health", "social_care", "voluntary",
             "percent_health", "percent_social_care", "percent_voluntary"]
        )  # fmt: skip
        overall = {"total": data["total"], **data["by_sector"], "percent": data["percent"]}
        rows = [("overall", "all", overall)]
        for section, key in SPLIT_SECTIONS:
            rows += [(key, row[key], row) for row in data[section]]
        for dimension, key, row in rows:
            percent = row["percent"]
            writer.writerow(
                [dimension, key, row["total"], row["health"], row["social_care"], row["voluntary"],
                 percent["health"], percent["social_care"], percent["voluntary"]]
            )  # fmt: skip

    def _breaches_csv(self, data: dict) -> None:
        writer = self._writer()
        writer.writerow(
            ["organisation", "service", "rule", "count", "referral_ids", "overridden_ids"]
        )
        for row in data["by_service"]:
            writer.writerow(
                [row["organisation"], row["service"], row["rule"], row["count"],
                 " ".join(map(str, row["referral_ids"])),
                 " ".join(map(str, row.get("overridden_ids", [])))]
            )  # fmt: skip

    def _activity_csv(self, data: dict) -> None:
        writer = self._writer()
        writer.writerow(ACTIVITY_COLUMNS)
        for row in data["services"]:
            writer.writerow([row[column] for column in ACTIVITY_COLUMNS])
