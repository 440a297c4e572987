"""The dashboard's tables, laid out from a report's aggregated rows (tens of rows, never
referrals): remit breaches as one row per service with a column per rule, and open concerns
per organisation addressed. The CSV downloads keep the reports' own long shape."""

from dataclasses import dataclass, field
from urllib.parse import urlencode

from commissioning.remit import MARKED_AT_LIMIT, MARKED_AT_LIMIT_HEADING, REPORTED, REPORTED_CODES

BREACH_COLUMNS = (*REPORTED_CODES, MARKED_AT_LIMIT)
BREACH_HEADINGS = (*(rule.heading for rule in REPORTED), MARKED_AT_LIMIT_HEADING)


@dataclass
class BreachCell:
    count: int = 0
    url: str = ""


@dataclass
class BreachRow:
    organisation: str
    service: str
    cells: list[BreachCell] = field(default_factory=list)
    total: int = 0
    overridden: int = 0


def breach_table(report: dict, *, drill_down: str, query: str) -> list[BreachRow]:
    """One row per service, by organisation and service name as the report orders them (a
    service with only marks comes after the breaches in the report, hence the sort); each count
    links to the referrals behind it. `total` and `overridden` count breaches, not marks, as the
    report's `total` does."""
    rows: dict[tuple, BreachRow] = {}
    links: dict[tuple, str] = {}
    for line in (*report["by_service"], *report.get("marked_at_limit", [])):
        key = (line["organisation"], line["organisation_id"], line["service"], line["service_id"])
        if key not in rows:
            where = urlencode({"organisation": line["organisation"], "service": line["service"]})
            rows[key] = BreachRow(
                organisation=line["organisation"],
                service=line["service"],
                cells=[BreachCell() for _ in BREACH_COLUMNS],
            )
            links[key] = f"{drill_down}?{'&'.join(filter(None, (query, where)))}&rule="
        row = rows[key]
        row.cells[BREACH_COLUMNS.index(line["rule"])] = BreachCell(
            count=line["count"], url=links[key] + line["rule"]
        )
        if line["rule"] != MARKED_AT_LIMIT:
            row.total += line["count"]
            row.overridden += line["overridden"]
    return [rows[key] for key in sorted(rows)]


_CONCERN_COUNTS = ("open", "awaiting_acknowledgement", "past_deadline", "escalated", "serious")


def concerns_by_addressee(pairs: list[dict]) -> list[dict]:
    """The report's rows per (addressed to, raised by) summed per organisation addressed, the
    ones with concerns past their deadline first: who is not answering. Snapshots stored before
    escalation existed have no escalation figures: they count as none."""
    rows: dict[str, dict] = {}
    for pair in pairs:
        row = rows.setdefault(
            pair["addressed_to"],
            {"addressed_to": pair["addressed_to"], "raised_by": 0, "oldest_raised_on": None,
             "last_escalated_at": None, **dict.fromkeys(_CONCERN_COUNTS, 0)},
        )  # fmt: skip
        row["raised_by"] += 1
        for name in _CONCERN_COUNTS:
            row[name] += pair.get(name, 0)
        oldest = pair["oldest_raised_on"]
        if row["oldest_raised_on"] is None or oldest < row["oldest_raised_on"]:
            row["oldest_raised_on"] = oldest
        escalated = pair.get("last_escalated_at")
        if escalated and (row["last_escalated_at"] is None or escalated > row["last_escalated_at"]):
            row["last_escalated_at"] = escalated
    return sorted(
        rows.values(),
        key=lambda row: (
            -row["escalated"],
            -row["past_deadline"],
            -row["open"],
            row["addressed_to"],
        ),
    )


@dataclass
class Gaps:
    """The gaps between services in a split report: voluntary referrals made after a health or
    social care service declined or disputed the work, per organisation that declined first, and
    the statutory waits that passed their limit."""

    total: int
    by_statutory_organisation: list[dict]
    waits_past_limit: int


def gaps_between_services(split: dict) -> Gaps:
    """Snapshots stored before the report counted gaps have no such figures: they count as none."""
    gaps = split.get("gap_referrals") or {}
    return Gaps(
        total=gaps.get("total", 0),
        by_statutory_organisation=gaps.get("by_statutory_organisation", []),
        waits_past_limit=split.get("statutory_waits_past_limit", 0),
    )
