"""Small-number suppression of the outcomes report: counts of 1 to 4 shown as "<5", figures from
fewer than 5 people withheld, and no hidden cell left alone where the others and the total
would give it away."""

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from referrals.models import Subgroup
from referrals.reports.outcomes import MEASURES, NEED_GROUPS
from referrals.reports.suppression import GROUP_COUNTS, SMALL, WITHHELD, suppressed


def group(people=10, issues=(5, 5, 5, 5), inputs=(6, 6, 6, 6), goals=(20, 18), measured=10,
          costed=10) -> dict:  # fmt: skip
    """A GROUP of the outcomes report with these counts and made-up figures beside them."""

    def mix(counts):
        total = sum(counts)
        return {
            g: round(100 * n / total, 1) if total else None
            for g, n in zip(NEED_GROUPS, counts, strict=True)
        }

    per = (lambda n: round(n / people, 1)) if people else (lambda n: None)
    return {
        "people": people, "issues": sum(issues), "issues_per_person": per(sum(issues)),
        "issues_by_group": dict(zip(NEED_GROUPS, issues, strict=True)), "issues_mix": mix(issues),
        "statutory_issues": 0, "inputs": sum(inputs), "inputs_per_person": per(sum(inputs)),
        "inputs_by_group": dict(zip(NEED_GROUPS, inputs, strict=True)), "inputs_mix": mix(inputs),
        "statutory_inputs": 0, "minutes_per_person": per(60 * sum(inputs)),
        "goals_set": goals[0], "goals_met": goals[1],
        "goals_met_percent": round(100 * goals[1] / goals[0], 1) if goals[0] else None,
        "goals_per_person": per(goals[0]),
        "measures": {
            m: {"people": measured, "before": 40.0 if measured else None,
                "after": 50.0 if measured else None,
                "change_percent": 25.0 if measured else None}
            for m in MEASURES
        },
        "cost": {"people": costed, "before": 1000.0 if costed else None,
                 "after": 1500.0 if costed else None, "change": 500.0 * costed if costed else None,
                 "change_per_person": 500.0 if costed else None},
    }  # fmt: skip


def report(*groups: dict, parity=None) -> dict:
    """The groups in Subgroup order (the rest empty) and "everyone" as their sum."""
    groups = [*groups, *(group(0, (0,) * 4, (0,) * 4, (0, 0), 0, 0)
                         for _ in range(len(Subgroup.values) - len(groups)))]  # fmt: skip
    total = group(
        sum(g["people"] for g in groups),
        tuple(sum(g["issues_by_group"][n] for g in groups) for n in NEED_GROUPS),
        tuple(sum(g["inputs_by_group"][n] for g in groups) for n in NEED_GROUPS),
        (sum(g["goals_set"] for g in groups), sum(g["goals_met"] for g in groups)),
        sum(g["measures"]["wemwbs"]["people"] for g in groups),
        sum(g["cost"]["people"] for g in groups),
    )
    return {
        "period": {"from": "2026-06-01", "to": "2026-06-30"},
        "overall": total,
        "by_group": [
            {"group": code, "label": label, **g}
            for (code, label), g in zip(Subgroup.choices, groups, strict=True)
        ],
        "parity": parity or {"by_service": [], "by_place": [], "totals": {}},
    }


def test_a_group_of_fewer_than_five_shows_its_counts_as_small_and_its_figures_withheld():
    shown = suppressed(report(group(), group(3, (1, 2, 0, 1), (2, 2, 1, 0), (4, 3), 3, 2)))
    small = shown["by_group"][1]

    assert (small["people"], small["issues"], small["goals_set"]) == (SMALL, SMALL, SMALL)
    assert small["issues_per_person"] == small["goals_met_percent"] == WITHHELD
    assert set(small["issues_mix"].values()) == {WITHHELD}
    assert small["measures"]["wemwbs"] == {
        "people": SMALL, "before": WITHHELD, "after": WITHHELD, "change_percent": WITHHELD,
    }  # fmt: skip
    assert small["cost"] == {
        "people": SMALL, "before": WITHHELD, "after": WITHHELD, "change": WITHHELD,
        "change_per_person": WITHHELD,
    }  # fmt: skip
    # Everyone less the other group would give the small one away: the other is withheld too.
    assert shown["by_group"][0]["people"] == WITHHELD
    assert shown["by_group"][0]["measures"]["wemwbs"]["before"] == WITHHELD
    assert shown["overall"]["people"] == 13
    assert shown["overall"]["measures"]["wemwbs"]["before"] == 40.0


def test_one_small_need_group_takes_the_next_smallest_with_it():
    shown = suppressed(report(group(20, (2, 10, 0, 7)), group(), group()))
    mixed = shown["by_group"][0]

    assert mixed["issues_by_group"] == {
        "practical": SMALL, "social": 10, "care_coordination": 0, "mental_health": WITHHELD,
    }  # fmt: skip
    assert mixed["issues_mix"]["practical"] == mixed["issues_mix"]["mental_health"] == WITHHELD
    assert mixed["issues_mix"]["social"] == 52.6
    assert mixed["issues_per_person"] == 0.9


def test_nothing_is_hidden_when_every_count_is_zero_or_five_and_over():
    whole = report(group(), group(5, (5, 0, 5, 0), (5, 5, 5, 5), (5, 5), 5, 5))
    assert suppressed(whole) == whole


def test_the_report_given_is_left_as_it_was():
    whole = report(group(2, (1, 1, 1, 1), (1, 1, 1, 1), (1, 1), 1, 1))
    before = copy.deepcopy(whole)
    suppressed(whole)
    assert whole == before


def test_parity_hides_small_referral_counts_and_what_they_would_show():
    services = [
        {"service": name, "place": "Northbridge", "referrals": referrals, "accepted": accepted,
         "referral_share_percent": 1.0, "cost_per_accepted": 10.0, "funding": 100.0}
        for name, referrals, accepted in (("A", 3, 3), ("B", 20, 12), ("C", 40, 30))
    ]  # fmt: skip
    places = [{"place": "Northbridge", "referrals": 63, "accepted": 45,
               "referral_share_percent": 100.0, "cost_per_accepted": 10.0}]  # fmt: skip
    totals = {"referrals": 63, "funding": 300.0}
    shown = suppressed(report(parity={"by_service": services, "by_place": places,
                                      "totals": totals}))["parity"]  # fmt: skip
    a, b, c = shown["by_service"]

    assert (a["referrals"], a["accepted"], a["cost_per_accepted"]) == (SMALL, SMALL, WITHHELD)
    assert (b["referrals"], b["referral_share_percent"], b["accepted"]) == (
        WITHHELD, WITHHELD, WITHHELD,
    )  # fmt: skip
    assert (c["referrals"], c["funding"]) == (40, 100.0)
    assert shown["by_place"][0]["referrals"] == 63


counts = st.integers(min_value=0, max_value=12)
groups = st.builds(
    group,
    people=counts,
    issues=st.tuples(counts, counts, counts, counts),
    inputs=st.tuples(counts, counts, counts, counts),
    goals=st.tuples(counts, counts).map(lambda g: (max(g), min(g))),
    measured=counts,
    costed=counts,
)


def cell(row, path):
    for key in path:
        row = row[key]
    return row


@settings(max_examples=200, deadline=None)
@given(st.lists(groups, min_size=1, max_size=len(Subgroup.values)))
def test_no_small_count_shows_and_no_hidden_cell_stands_alone(made):
    shown = suppressed(report(*made))
    everyone = (shown["overall"], *shown["by_group"])

    for path in GROUP_COUNTS:
        values = [cell(g, path) for g in everyone]
        assert not [v for v in values if isinstance(v, int) and 0 < v < 5], path
        hidden = [v for v in values[1:] if isinstance(v, str)]
        others = [v for v in values[1:] if isinstance(v, int) and v > 0]
        if isinstance(values[0], int):
            assert len(hidden) != 1 or not others, path
    for g in everyone:
        for kind in ("issues", "inputs"):
            parts = list(g[f"{kind}_by_group"].values())
            if isinstance(g[kind], int):
                hidden = [v for v in parts if isinstance(v, str)]
                assert len(hidden) != 1 or not [v for v in parts if isinstance(v, int) and v > 0]
        if not isinstance(g["people"], int) or g["people"] < 5:
            assert g["issues_per_person"] in (None, WITHHELD)
            assert g["goals_met_percent"] in (None, WITHHELD)
        for figures in g["measures"].values():
            if not isinstance(figures["people"], int) or figures["people"] < 5:
                assert figures["before"] in (None, WITHHELD)
        if not isinstance(g["cost"]["people"], int) or g["cost"]["people"] < 5:
            assert g["cost"]["change"] in (None, WITHHELD)
