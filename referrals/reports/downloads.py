"""Every table on the commissioner's dashboard as a CSV download: which report each comes from,
its rows and the columns written. The downloads keep the reports' own long shape."""

from collections.abc import Callable
from typing import Any

from referrals.models import ReportKind
from referrals.reports.split import SECTORS

Rows = Callable[[dict[str, Any]], list[dict[str, Any]]]


def _split_rows(section: str, key: str) -> tuple[str, Rows, tuple[str, ...]]:
    def rows(report: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {key: row[key], **row, **{f"percent_{s}": row["percent"][s] for s in SECTORS}}
            for row in report[section]
        ]

    columns = (key, "total", *SECTORS, *(f"percent_{s}" for s in SECTORS))
    return ReportKind.REFERRAL_SPLIT, rows, columns


def _activity_rows(
    section: str,
    columns: tuple[str, ...],
    keep: Callable[[dict[str, Any]], Any] | None = None,
) -> tuple[str, Rows, tuple[str, ...]]:
    def rows(report: dict[str, Any]) -> list[dict[str, Any]]:
        return [row for row in report[section] if keep is None or keep(row)]

    return ReportKind.SERVICE_ACTIVITY, rows, columns


def _breach_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {**row, "referral_ids": " ".join(map(str, row["referral_ids"])),
         "overridden": len(row["overridden_ids"])}
        for row in report["by_service"]
    ]  # fmt: skip


def _gap_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per statutory organisation and reason; none from a snapshot older than the gaps."""
    return [
        {"organisation": line["organisation"], **reason}
        for line in (report.get("gap_referrals") or {}).get("by_statutory_organisation", [])
        for reason in line["reasons"]
    ]


SERVICE_COLUMNS = (
    "organisation", "service", "received", "accepted", "declined", "withdrawn", "contacted",
    "median_hours_to_contact", "response_target_hours", "contacted_within_target",
    "overrides", "marked_at_limit",
)  # fmt: skip
# Every table on the dashboard, downloadable: (report, its rows, the columns written).
CSV_SECTIONS: dict[str, tuple[str, Rows, tuple[str, ...]]] = {
    "by_month": _split_rows("by_month", "month"),
    "by_place": _split_rows("by_place", "place"),
    "by_team": _split_rows("by_team", "team"),
    "by_source": _split_rows("by_source", "source"),
    "gaps": (ReportKind.REFERRAL_SPLIT, _gap_rows, ("organisation", "reason", "count")),
    "services": _activity_rows("services", SERVICE_COLUMNS),
    "capacity": _activity_rows(
        "services",
        (
            "organisation",
            "service",
            "capacity_used",
            "capacity_commissioned",
            "months_over_capacity",
            "capacity_used_without_limit",
        ),
        keep=lambda row: row["capacity_commissioned"],
    ),
    "overrides": _activity_rows(
        "services",
        ("organisation", "service", "received", "overrides"),
        keep=lambda row: row["overrides"],
    ),
    "teams": _activity_rows(
        "teams",
        (
            "team",
            "referrals",
            "voluntary_referrals",
            "voluntary_services",
            "voluntary_organisations",
        ),
    ),
    "off_the_radar": _activity_rows(
        "off_the_radar", ("organisation", "service", "kind", "last_verified_on")
    ),
    "concerns": _activity_rows(
        "concerns",
        (
            "addressed_to",
            "raised_by",
            "open",
            "awaiting_acknowledgement",
            "past_deadline",
            "escalated",
            "last_escalated_at",
            "serious",
            "oldest_raised_on",
        ),
    ),
    "breaches": (
        ReportKind.REMIT_BREACHES,
        _breach_rows,
        ("organisation", "service", "rule", "count", "overridden", "referral_ids"),
    ),
}
