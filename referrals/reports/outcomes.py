"""Outcomes ("added value"): what wellbeing co-ordination achieved for the people whose episodes
started in a period, overall and per sub-group, as Table 1 of the Torbay evaluation lays it out
(docs/reports.md#the-outcomes-report), with the parity of esteem of the voluntary services
beside it (referrals/reports/parity.py).

The cohort is the episodes that started in the period, on referrals to the system's
organisations, narrowed to one organisation, service or place of the referral when asked. Its
figures come from one statement: each part is counted per episode or per person first, then
over GROUPING SETS ((), (sub-group)), so that "everyone" counts a person once however many
sub-groups their episodes fall in. Python only adds the labels and the sub-groups with nobody.

The report holds exact figures, small ones included: whatever leaves the app goes through
referrals.reports.suppression first.
"""

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection

from commissioning.codes import NeedGroup
from commissioning.instruments import REPORTED_MEASURES, Measure
from commissioning.models import Need, Organisation, Place, Service, System
from referrals.models import (
    Episode,
    EpisodeInput,
    Goal,
    GoalOutcome,
    OutcomeScore,
    PatientCost,
    Referral,
    Subgroup,
    Timepoint,
)
from referrals.reports.parity import parity_of_esteem
from referrals.reports.scope import IN_SYSTEM

# The four kinds of input the Torbay co-ordinators gave. Statutory needs and inputs are left
# out of issues, inputs and their mix (a VSO asked for them is replacing a statutory service,
# which the remit breaches count) and counted apart, in `statutory_issues` and
# `statutory_inputs`.
NEED_GROUPS = tuple(group.value for group in NeedGroup if group != NeedGroup.STATUTORY)
MEASURES = tuple(measure.value for measure in REPORTED_MEASURES)
OVERALL = ""

_SQL = """
WITH cohort AS (
    SELECT e.id AS episode_id, e.subgroup, r.patient_id, r.needs
    FROM {episode} e
    JOIN {referral} r ON r.id = e.referral_id
    WHERE e.started_on BETWEEN %(first_day)s AND %(last_day)s
      AND {in_system}
      {scope}
),
people AS (
    -- subgroup is never null, so null marks the overall row of the grouping sets.
    SELECT coalesce(c.subgroup, '') AS key, count(DISTINCT c.patient_id) AS people
    FROM cohort c
    GROUP BY GROUPING SETS ((), (c.subgroup))
),
needs AS (
    -- A person's issues are the needs on their referrals, each once however many name it.
    SELECT DISTINCT c.subgroup, c.patient_id, n.code, n."group" AS need_group
    FROM cohort c
    CROSS JOIN LATERAL unnest(c.needs) AS asked (code)
    JOIN {need} n ON n.code = asked.code
),
issues AS (
    SELECT coalesce(x.subgroup, '') AS key,
           count(DISTINCT (x.patient_id, x.code)) FILTER (WHERE x.need_group <> %(statutory)s)
               AS issues,
           count(DISTINCT (x.patient_id, x.code)) FILTER (WHERE x.need_group = %(statutory)s)
               AS statutory_issues,
           {issue_counts}
    FROM needs x
    GROUP BY GROUPING SETS ((), (x.subgroup))
),
inputs AS (
    SELECT coalesce(c.subgroup, '') AS key,
           count(*) FILTER (WHERE n."group" <> %(statutory)s) AS inputs,
           count(*) FILTER (WHERE n."group" = %(statutory)s) AS statutory_inputs,
           sum(i.minutes) FILTER (WHERE n."group" <> %(statutory)s) AS minutes,
           {input_counts}
    FROM cohort c
    JOIN {input} i ON i.episode_id = c.episode_id
    JOIN {need} n ON n.code = i.need_id
    GROUP BY GROUPING SETS ((), (c.subgroup))
),
goals AS (
    SELECT coalesce(c.subgroup, '') AS key,
           count(*) AS goals_set,
           count(*) FILTER (WHERE g.outcome = %(met)s) AS goals_met
    FROM cohort c
    JOIN {goal} g ON g.episode_id = c.episode_id
    GROUP BY GROUPING SETS ((), (c.subgroup))
),
pairs AS (
    -- A measure counts an episode scored at both timepoints, and an Outcomes Star only on the
    -- same chart twice: the versions' totals are on different scales.
    SELECT c.subgroup, c.patient_id, b.measure,
           b.score AS before, f.score AS after, b.level AS level_before, f.level AS level_after
    FROM cohort c
    JOIN {score} b ON b.episode_id = c.episode_id AND b.timepoint = %(baseline)s
    JOIN {score} f ON f.episode_id = c.episode_id AND f.measure = b.measure
                  AND f.timepoint = %(follow_up)s AND f.star_version = b.star_version
),
measure_means AS (
    SELECT coalesce(p.subgroup, '') AS key, p.measure,
           count(DISTINCT p.patient_id) AS people,
           avg(p.before) AS before, avg(p.after) AS after,
           avg(p.level_before) AS level_before, avg(p.level_after) AS level_after
    FROM pairs p
    GROUP BY GROUPING SETS ((p.measure), (p.measure, p.subgroup))
),
measures AS (
    SELECT m.key, json_object_agg(m.measure, json_build_object(
               'people', m.people,
               'before', round(m.before, 1),
               'after', round(m.after, 1),
               'change_percent', round((m.after - m.before) * 100 / nullif(m.before, 0), 1),
               'level_before', round(m.level_before, 1),
               'level_after', round(m.level_after, 1)
           )) AS measures
    FROM measure_means m
    GROUP BY m.key
),
costed AS (
    SELECT DISTINCT c.subgroup, c.patient_id, pc.cost_12m_before, pc.cost_12m_after
    FROM cohort c
    JOIN {cost} pc ON pc.patient_id = c.patient_id AND pc.system_id = %(system_id)s
),
cost_sums AS (
    -- A sum over GROUPING SETS would count twice, in "everyone", a person in two sub-groups.
    SELECT x.subgroup AS key, count(*) AS people,
           sum(x.cost_12m_before) AS before, sum(x.cost_12m_after) AS after
    FROM costed x
    GROUP BY x.subgroup
    UNION ALL
    SELECT '', count(*), sum(x.cost_12m_before), sum(x.cost_12m_after)
    FROM (SELECT DISTINCT patient_id, cost_12m_before, cost_12m_after FROM costed) x
),
keys AS (
    SELECT key, ord FROM unnest(%(keys)s::text[]) WITH ORDINALITY AS k (key, ord)
)
SELECT coalesce(json_agg(json_build_object(
    'key', k.key,
    'people', coalesce(p.people, 0),
    'issues', coalesce(i.issues, 0),
    'issues_per_person', round(coalesce(i.issues, 0)::numeric / nullif(p.people, 0), 1),
    'issues_by_group', json_build_object({issue_groups}),
    'issues_mix', json_build_object({issue_mix}),
    'statutory_issues', coalesce(i.statutory_issues, 0),
    'inputs', coalesce(n.inputs, 0),
    'inputs_per_person', round(coalesce(n.inputs, 0)::numeric / nullif(p.people, 0), 1),
    'inputs_by_group', json_build_object({input_groups}),
    'inputs_mix', json_build_object({input_mix}),
    'statutory_inputs', coalesce(n.statutory_inputs, 0),
    'minutes_per_person', round(coalesce(n.minutes, 0)::numeric / nullif(p.people, 0), 1),
    'goals_set', coalesce(g.goals_set, 0),
    'goals_met', coalesce(g.goals_met, 0),
    'goals_met_percent', round(g.goals_met * 100.0 / nullif(g.goals_set, 0), 1),
    'goals_per_person', round(coalesce(g.goals_set, 0)::numeric / nullif(p.people, 0), 1),
    'measures', coalesce(m.measures, '{{}}'::json),
    'cost', json_build_object(
        'people', coalesce(s.people, 0),
        'before', round(s.before / nullif(s.people, 0), 2),
        'after', round(s.after / nullif(s.people, 0), 2),
        'change', round(s.after - s.before, 2),
        'change_per_person', round((s.after - s.before) / nullif(s.people, 0), 2)
    )
) ORDER BY k.ord), '[]'::json)
FROM keys k
LEFT JOIN people p ON p.key = k.key
LEFT JOIN issues i ON i.key = k.key
LEFT JOIN inputs n ON n.key = k.key
LEFT JOIN goals g ON g.key = k.key
LEFT JOIN measures m ON m.key = k.key
LEFT JOIN cost_sums s ON s.key = k.key
"""


def _by_need_group(alias: str, kind: str) -> dict[str, str]:
    """The SQL pieces that count, and share out, issues or inputs by need group."""
    total = f"{alias}.{kind}"
    return {
        f"{kind[:-1]}_counts": ",\n           ".join(
            f"count(DISTINCT (x.patient_id, x.code)) FILTER (WHERE x.need_group = '{g}') AS {g}"
            if kind == "issues"
            else f"count(*) FILTER (WHERE n.\"group\" = '{g}') AS {g}"
            for g in NEED_GROUPS
        ),
        f"{kind[:-1]}_groups": ", ".join(f"'{g}', coalesce({alias}.{g}, 0)" for g in NEED_GROUPS),
        f"{kind[:-1]}_mix": ", ".join(
            f"'{g}', round({alias}.{g} * 100.0 / nullif({total}, 0), 1)" for g in NEED_GROUPS
        ),
    }


def _scope_sql(
    organisation: Organisation | None, service: Service | None, place: Place | None
) -> str:
    conditions = [
        condition
        for chosen, condition in (
            (organisation, "AND r.organisation_id = %(organisation_id)s"),
            (service, "AND r.service_id = %(service_id)s"),
            (place, "AND r.place_id = %(place_id)s"),
        )
        if chosen is not None
    ]
    return "\n      ".join(conditions)


def _check_scope(
    *,
    system: System,
    date_from: date,
    date_to: date,
    organisation: Organisation | None,
    service: Service | None,
    place: Place | None,
) -> None:
    """Refuse a period that ends before it starts, and anything of another system: the report
    would otherwise answer for one system with another's records."""
    if date_to < date_from:
        raise ValidationError({"date_to": "The period ends before it starts."})
    if organisation is not None and organisation.system_id != system.pk:
        raise ValidationError(
            {"organisation": f"{organisation.name} is not an organisation of {system.name}."}
        )
    if service is not None and service.organisation.system_id != system.pk:
        raise ValidationError({"service": f"{service.name} is not a service of {system.name}."})
    if place is not None and place.system_id != system.pk:
        raise ValidationError({"place": f"{place.name} is not a place of {system.name}."})


def outcomes_report(
    *,
    system: System,
    date_from: date,
    date_to: date,
    organisation: Organisation | None = None,
    service: Service | None = None,
    place: Place | None = None,
) -> dict[str, Any]:
    """The outcomes of the episodes that started from date_from to date_to inclusive, and the
    parity of esteem of the voluntary services over the same days. Two queries, and one more
    to check a named service's system when its organisation is not loaded with it."""
    _check_scope(
        system=system, date_from=date_from, date_to=date_to,
        organisation=organisation, service=service, place=place,
    )  # fmt: skip
    sql = _SQL.format(
        episode=Episode._meta.db_table,
        referral=Referral._meta.db_table,
        need=Need._meta.db_table,
        input=EpisodeInput._meta.db_table,
        goal=Goal._meta.db_table,
        score=OutcomeScore._meta.db_table,
        cost=PatientCost._meta.db_table,
        in_system=IN_SYSTEM,
        scope=_scope_sql(organisation, service, place),
        **_by_need_group("i", "issues"),
        **_by_need_group("n", "inputs"),
    )
    params: dict[str, Any] = {
        "first_day": date_from,
        "last_day": date_to,
        "system_id": system.pk,
        "organisation_id": organisation.pk if organisation else None,
        "service_id": service.pk if service else None,
        "place_id": place.pk if place else None,
        "statutory": NeedGroup.STATUTORY.value,
        "met": GoalOutcome.MET.value,
        "baseline": Timepoint.BASELINE.value,
        "follow_up": Timepoint.FOLLOW_UP.value,
        "keys": [OVERALL, *Subgroup.values],
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        (rows,) = cursor.fetchone()

    groups = [_group(row) for row in rows]
    labels = dict(Subgroup.choices)
    return {
        "period": {"from": date_from.isoformat(), "to": date_to.isoformat()},
        "scope": {
            "organisation": organisation.name if organisation else None,
            "service": service.name if service else None,
            "place": place.name if place else None,
        },
        "overall": groups[0],
        "by_group": [
            {"group": row["key"], "label": labels[row["key"]], **group}
            for row, group in zip(rows[1:], groups[1:], strict=True)
        ],
        "parity": parity_of_esteem(
            system=system,
            date_from=date_from,
            date_to=date_to,
            organisation=organisation,
            service=service,
            place=place,
        ),
    }


_NO_PAIRS = {"people": 0, "before": None, "after": None, "change_percent": None}


def _group(row: dict[str, Any]) -> dict[str, Any]:
    """A group's figures as the report holds them: every measure present, PAM with its levels."""
    group = {key: value for key, value in row.items() if key != "key"}
    found = row["measures"]
    group["measures"] = {}
    for measure in MEASURES:
        figures = dict(found.get(measure, _NO_PAIRS))
        if measure == Measure.PAM:
            figures.setdefault("level_before", None)
            figures.setdefault("level_after", None)
        else:
            figures.pop("level_before", None)
            figures.pop("level_after", None)
        group["measures"][measure] = figures
    return group


MEASURE_FIGURES = ("people", "before", "after", "change_percent")
# The CSV: one row per group, "overall" first, every figure a column of its own.
CSV_COLUMNS = (
    "group", "label", "people", "issues", "issues_per_person",
    *(f"issues_{g}_percent" for g in NEED_GROUPS),
    "inputs", "inputs_per_person", *(f"inputs_{g}_percent" for g in NEED_GROUPS),
    "minutes_per_person", "goals_set", "goals_met", "goals_met_percent",
    *(f"{m}_{figure}" for m in MEASURES for figure in MEASURE_FIGURES),
    "pam_level_before", "pam_level_after",
    "cost_people", "cost_before", "cost_after", "cost_change", "cost_change_per_person",
)  # fmt: skip


def csv_rows(report: dict[str, Any]) -> list[list[Any]]:
    """The report's groups as CSV rows in CSV_COLUMNS' order. Pass the suppressed report:
    a CSV leaves the app."""
    rows = []
    for key, label, group in (
        ("overall", "Everyone", report["overall"]),
        *((g["group"], g["label"], g) for g in report["by_group"]),
    ):
        measures = group["measures"]
        cost = group["cost"]
        rows.append([
            key, label, group["people"], group["issues"], group["issues_per_person"],
            *(group["issues_mix"][g] for g in NEED_GROUPS),
            group["inputs"], group["inputs_per_person"],
            *(group["inputs_mix"][g] for g in NEED_GROUPS),
            group["minutes_per_person"], group["goals_set"], group["goals_met"],
            group["goals_met_percent"],
            *(measures[m][figure] for m in MEASURES
              for figure in MEASURE_FIGURES),
            measures[Measure.PAM]["level_before"], measures[Measure.PAM]["level_after"],
            cost["people"], cost["before"], cost["after"], cost["change"],
            cost["change_per_person"],
        ])  # fmt: skip
    return rows
