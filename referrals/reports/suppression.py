"""Small numbers, suppressed as published NHS statistics suppress them, in whatever leaves the app:
the CSVs, the e-mails, the report command's CSV, and the pages commissioners read (theirs is a
secondary use). See docs/reports.md#small-numbers.

- A count from 1 to 4 shows SMALL ("<5"). 0 shows as 0: nobody is there to recognise.
- A figure worked out from fewer than 5 people (a mean, a percentage, a per-person figure, a
  cost) shows WITHHELD, as does one worked out from a count that is not shown.
- Secondary suppression: where the hidden cell could be worked out from the shown ones (the
  sub-groups against "everyone", one need group against the group's other three and its total,
  one service against the others and the system's total), the smallest other non-zero cell of
  the same figure is withheld as well, and so on until no hidden cell stands alone. Two hidden
  cells give only their sum.

The reports themselves hold exact figures; `suppressed` returns a copy and leaves its argument
as it was.
"""

import copy
from collections.abc import Iterable
from typing import Any

from referrals.reports.outcomes import MEASURES, NEED_GROUPS

THRESHOLD = 5
SMALL = "<5"
WITHHELD = "withheld"

# A cell is a figure in its place: the dict that holds it and its key.
Cell = tuple[dict[str, Any], str]
# Cells of one figure whose total is shown (or can be worked out), and that total if it is a
# cell of the report; None when the total can be worked out from elsewhere.
Family = tuple[list[Cell], Cell | None]

# The counts of a group (outcomes_report's GROUP), each a path of keys.
GROUP_COUNTS: tuple[tuple[str, ...], ...] = (
    ("people",), ("issues",), ("statutory_issues",), ("inputs",), ("statutory_inputs",),
    ("goals_set",), ("goals_met",),
    *(("issues_by_group", g) for g in NEED_GROUPS),
    *(("inputs_by_group", g) for g in NEED_GROUPS),
    *(("measures", m, "people") for m in MEASURES),
    ("cost", "people"),
)  # fmt: skip


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _hidden(cell: Cell) -> bool:
    return isinstance(cell[0][cell[1]], str)


def _cell(row: dict[str, Any], path: tuple[str, ...]) -> Cell:
    for key in path[:-1]:
        row = row[key]
    return row, path[-1]


def _hide_small(cells: Iterable[Cell]) -> None:
    for row, key in cells:
        if _number(row[key]) and 0 < row[key] < THRESHOLD:
            row[key] = SMALL


def _hide_complements(families: list[Family]) -> None:
    """Until no family has a single hidden cell beside a shown total, withhold the smallest
    shown non-zero cell of each such family. A family has a handful of cells; hiding only ever
    grows, so this ends."""
    changed = True
    while changed:
        changed = False
        for cells, total in families:
            if total is not None and _hidden(total):
                continue
            if sum(_hidden(cell) for cell in cells) != 1:
                continue
            shown = [(row, key) for row, key in cells if _number(row[key]) and row[key] > 0]
            if shown:
                row, key = min(shown, key=lambda cell: cell[0][cell[1]])
                row[key] = WITHHELD
                changed = True


def _withhold(row: dict[str, Any], keys: Iterable[str]) -> None:
    """Withhold the figures there are (None stays None: there is nothing to show)."""
    for key in keys:
        if row.get(key) is not None:
            row[key] = WITHHELD


def _few(row: dict[str, Any], key: str) -> bool:
    """The figure's people (or count) is hidden, or fewer than THRESHOLD."""
    value = row[key]
    return not _number(value) or value < THRESHOLD


def _withhold_derived(group: dict[str, Any]) -> None:
    few_people = _few(group, "people")
    if few_people:
        _withhold(group, ("issues_per_person", "inputs_per_person", "minutes_per_person",
                          "goals_per_person", "goals_met_percent"))  # fmt: skip
    for kind in ("issues", "inputs"):
        if few_people or _hidden((group, kind)):
            _withhold(group, (f"{kind}_per_person",))
            _withhold(group[f"{kind}_mix"], NEED_GROUPS)
        _withhold(
            group[f"{kind}_mix"],
            (g for g in NEED_GROUPS if _hidden((group[f"{kind}_by_group"], g))),
        )
    if _hidden((group, "inputs")):
        _withhold(group, ("minutes_per_person",))
    if _hidden((group, "goals_set")):
        _withhold(group, ("goals_per_person", "goals_met_percent"))
    if _hidden((group, "goals_met")):
        _withhold(group, ("goals_met_percent",))
    for figures in group["measures"].values():
        if _few(figures, "people"):
            _withhold(figures, [key for key in figures if key != "people"])
    if _few(group["cost"], "people"):
        _withhold(group["cost"], ("before", "after", "change", "change_per_person"))


def _group_families(overall: dict[str, Any], groups: list[dict[str, Any]]) -> list[Family]:
    families: list[Family] = []
    for group in (overall, *groups):
        for kind in ("issues", "inputs"):
            parts = group[f"{kind}_by_group"]
            families.append(([(parts, g) for g in NEED_GROUPS], (group, kind)))
    for path in GROUP_COUNTS:
        families.append(([_cell(group, path) for group in groups], _cell(overall, path)))
    return families


def _parity(parity: dict[str, Any]) -> None:
    services, places = parity["by_service"], parity["by_place"]
    totals = parity.get("totals", {})
    _hide_small((row, key) for row in (*services, *places) for key in ("referrals", "accepted"))
    _hide_small([(totals, "referrals")] if "referrals" in totals else [])
    families: list[Family] = []
    for key in ("referrals", "accepted"):
        # The system's totals can be worked out from the places, whatever is listed.
        families.append(([(row, key) for row in services], None))
        families.append(([(row, key) for row in places], None))
        for place in places:
            inside = [(row, key) for row in services if row["place"] == place["place"]]
            families.append((inside, (place, key)))
    _hide_complements(families)
    for row in (*services, *places):
        if _hidden((row, "referrals")):
            _withhold(row, ("referral_share_percent",))
        if _hidden((row, "accepted")):
            _withhold(row, ("cost_per_accepted",))


def suppressed(report: dict[str, Any]) -> dict[str, Any]:
    """A copy of an outcomes report (referrals.reports.outcomes.outcomes_report) fit to leave
    the app: small counts shown as SMALL, what could give them away as WITHHELD."""
    shown = copy.deepcopy(report)
    overall, groups = shown["overall"], shown["by_group"]
    _hide_small(_cell(group, path) for group in (overall, *groups) for path in GROUP_COUNTS)
    _hide_complements(_group_families(overall, groups))
    for group in (overall, *groups):
        _withhold_derived(group)
    if "parity" in shown:
        _parity(shown["parity"])
    return shown
