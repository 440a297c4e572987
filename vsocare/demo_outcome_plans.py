"""How the demo's clients of wellbeing co-ordination are planned from Torbay's Table 1
(vsocare.demo_outcome_tables): each one's patient, referral, episode, goals, inputs, scores and
costs, as plain data. vsocare.demo_outcomes writes them to the database.

Everything comes from random.Random(SEED), and no draw depends on the date, so every run plans
the same 51 clients with the same scores; only their dates move, counted back from today. A
group's scores are drawn to add up to its Table 1 mean (rounded to what whole scores allow), over
the people with a follow-up and over the rest apart, so that whichever the report pairs, it
shows Torbay's figures.
"""

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from commissioning.codes import NeedGroup
from commissioning.instruments import (
    ITEM_HIGHEST,
    ITEM_LOWEST,
    ROCKWOOD_HIGHEST,
    ROCKWOOD_LOWEST,
    STAR_HIGHEST,
    STAR_LOWEST,
    STAR_VERSIONS,
    WEMWBS_ITEMS,
    Measure,
    pam_level,
)
from core.nhs import synthetic_nhs_number
from referrals.models import GoalOutcome, Timepoint
from vsocare.demo_outcome_tables import (
    ENDED_OVERRUN,
    ENDED_WEEKS,
    EXTERNAL_ID_PREFIX,
    GROUPS,
    INPUT_NEEDS,
    INPUT_WORK,
    MEN,
    MISSING_FOLLOW_UP,
    NHS_INDEX_BASE,
    RUNNING,
    RUNNING_OVERRUN,
    SEED,
    SOURCES,
    STAR_VERSION,
    SURNAMES,
    URGENCIES,
    WINDOW_DAYS,
    WOMEN,
    GroupTable,
)
from vsocare.demo_referral_plans import pick, weighted
from vsocare.demo_referral_tables import INWARD_LETTERS, POSTCODE_AREAS

STAR_DOMAINS = len(STAR_VERSIONS[STAR_VERSION].domains)
PLACES = [("Northbridge", 50), ("Eastmoor", 25), ("Saltmarsh Coast", 25)]


@dataclass(frozen=True)
class Scale:
    """A measure's whole-number scale as drawn: PAM in tenths of a point."""

    low: int
    high: int
    spread: float  # how far people scatter about the group's mean
    per_point: int = 1


SCALES = {
    Measure.WEMWBS: Scale(WEMWBS_ITEMS * ITEM_LOWEST, WEMWBS_ITEMS * ITEM_HIGHEST, 6),
    Measure.PAM: Scale(0, 1000, 80, per_point=10),
    Measure.OUTCOMES_STAR: Scale(STAR_DOMAINS * STAR_LOWEST, STAR_DOMAINS * STAR_HIGHEST, 6),
    Measure.ROCKWOOD: Scale(ROCKWOOD_LOWEST, ROCKWOOD_HIGHEST, 1),
}


@dataclass(frozen=True)
class PlannedPatient:
    index: int
    given_name: str
    family_name: str
    date_of_birth: date
    place: str
    postcode: str
    lives_alone: bool
    is_carer: bool
    is_cared_for: bool

    @property
    def nhs_number(self) -> str:
        return synthetic_nhs_number(NHS_INDEX_BASE + self.index)


@dataclass(frozen=True)
class PlannedScore:
    measure: str
    timepoint: str
    taken_on: date
    score: Decimal
    items: list[int] = field(default_factory=list)
    level: int | None = None
    star_version: str = ""


@dataclass(frozen=True)
class PlannedGoal:
    description: str
    set_on: date
    outcome: str  # "" while still being worked on
    reviewed_on: date | None


@dataclass(frozen=True)
class PlannedInput:
    given_on: date
    need: str
    minutes: int
    note: str


@dataclass
class PlannedEpisode:
    external_id: str
    patient: PlannedPatient
    subgroup: str
    source: str
    urgency: str
    needs: list[str]
    reason: str
    outcome: str  # what the referral closed with; unused while the episode runs
    referred_on: date
    referred_minute: int  # after 08:00
    decided_hours: float  # after the referral
    contact_minute: int  # after 08:00 on the first day of the episode
    closed_minute: int  # after 08:00 on its last day
    started_on: date
    ended_on: date | None
    # The first or second meeting: baseline scores taken, goals set.
    first_met_on: date
    goals: list[PlannedGoal] = field(default_factory=list)
    inputs: list[PlannedInput] = field(default_factory=list)
    scores: list[PlannedScore] = field(default_factory=list)
    cost: tuple[Decimal, Decimal] | None = None  # £ before, after; once the episode has ended


def plan_demo_outcomes(*, today: date, max_weeks: int) -> list[PlannedEpisode]:
    """The demo's clients for the given day, Torbay's six sub-groups in Table 1's order."""
    rng = random.Random(SEED)
    given = [*WOMEN, *MEN]
    rng.shuffle(given)
    sources = [source for source, count in SOURCES for _ in range(count)]
    rng.shuffle(sources)
    episodes: list[PlannedEpisode] = []
    for table in GROUPS:
        first = len(episodes)
        for j in range(table.people):
            index = first + j
            patient = _patient(rng, table, j, index, given[index], SURNAMES[index], today)
            episodes.append(_episode(rng, table, j, patient, sources[index], today, max_weeks))
        group = episodes[first:]
        _plan_scores(rng, table, group)
        _plan_goals(rng, table, group, today)
        _plan_inputs(rng, table, group, today)
        _plan_costs(rng, table, group)
    return episodes


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _patient(
    rng: random.Random, table: GroupTable, j: int, index: int, given: str, family: str, today: date
) -> PlannedPatient:
    u = [rng.random() for _ in range(7)]
    youngest, oldest = table.ages
    # The group's youngest and oldest first, then ages skewed old, as Torbay's were.
    age = {0: youngest, 1: oldest}.get(j, youngest + round((oldest - youngest) * u[0] ** 0.8))
    place = weighted(PLACES, u[1])
    postcode = (
        f"{POSTCODE_AREAS[place]}{1 + int(u[2] * 9)} "
        f"{int(u[3] * 10)}{pick(INWARD_LETTERS, u[4])}{pick(INWARD_LETTERS, u[5])}"
    )
    is_carer = j < table.carers
    is_cared_for = table.carers <= j < table.carers + table.cared_for
    return PlannedPatient(
        index=index,
        given_name=given,
        family_name=family,
        # 1 to 361 days before the birthday that made them this age: this age today.
        date_of_birth=_years_before(today, age) - timedelta(days=1 + int(u[6] * 361)),
        place=place,
        postcode=postcode,
        # Torbay: most lived alone; carers and the cared-for did not (no overlap).
        lives_alone=not (is_carer or is_cared_for),
        is_carer=is_carer,
        is_cared_for=is_cared_for,
    )


def _kind(table: GroupTable, j: int) -> str:
    """Whether the group's j-th episode ends in time, runs over, or is still going: the
    special ones last in the group."""
    kinds = ["running_overrun"] * RUNNING_OVERRUN.get(table.subgroup, 0)
    kinds += ["running"] * RUNNING.get(table.subgroup, 0)
    kinds += ["ended_overrun"] * ENDED_OVERRUN.get(table.subgroup, 0)
    from_end = table.people - 1 - j
    return kinds[from_end] if from_end < len(kinds) else "ended"


def _episode(
    rng: random.Random,
    table: GroupTable,
    j: int,
    patient: PlannedPatient,
    source: str,
    today: date,
    max_weeks: int,
) -> PlannedEpisode:
    u = [rng.random() for _ in range(11)]
    kind = _kind(table, j)
    shortest, longest = (7 * weeks for weeks in ENDED_WEEKS)
    if kind == "running":
        start_ago, length = 14 + int(u[0] * 42), None
    elif kind == "running_overrun":
        start_ago, length = 7 * max_weeks + 3 + int(u[0] * 10), None
    else:
        length = (
            7 * max_weeks + 7 + int(u[1] * 8)
            if kind == "ended_overrun"
            else shortest + int(u[1] * (longest - shortest + 1))
        )
        start_ago = length + 1 + int(u[0] * (WINDOW_DAYS - length - 1))
    started_on = today - timedelta(days=start_ago)
    return PlannedEpisode(
        external_id=f"{EXTERNAL_ID_PREFIX}{patient.index + 1:02d}",
        patient=patient,
        subgroup=table.subgroup,
        source=source,
        urgency=weighted(URGENCIES, u[2]),
        needs=list(pick(table.needs, u[3])),
        reason=pick(table.reasons, u[4]),
        outcome=pick(table.outcomes, u[5]),
        referred_on=started_on - timedelta(days=3 + int(u[6] * 8)),
        referred_minute=int(u[7] * 600),
        # At most 40 hours: decided before the first visit, three days on at the soonest.
        decided_hours=3 + u[8] * 37,
        contact_minute=120 + int(u[9] * 360),
        closed_minute=420 + int(u[9] * 120),
        started_on=started_on,
        ended_on=None if length is None else started_on + timedelta(days=length),
        first_met_on=started_on + timedelta(days=int(u[10] * 8)),
    )


def integers_near(
    rng: random.Random, count: int, mean: float, spread: float, low: int, high: int
) -> list[int]:
    """count whole numbers from low to high, scattered about mean, adding up to mean * count
    rounded: a group's scores with the group's mean."""
    if count == 0:
        return []
    values = [min(high, max(low, round(rng.gauss(mean, spread)))) for _ in range(count)]
    target = min(high * count, max(low * count, round(mean * count)))
    while gap := target - sum(values):
        step = 1 if gap > 0 else -1
        movable = [i for i, value in enumerate(values) if low <= value + step <= high]
        values[rng.choice(movable)] += step
    return values


def _matched(rng: random.Random, before: list[int], after: list[int], spread: float) -> list[int]:
    """after, dealt so that who started higher tends to end higher, though not always."""
    order = sorted(range(len(before)), key=lambda i: before[i] + rng.gauss(0, spread))
    dealt = [0] * len(before)
    for value, i in zip(sorted(after), order, strict=True):
        dealt[i] = value
    return dealt


def _items(rng: random.Random, total: int, count: int, low: int, high: int) -> list[int]:
    """Item or domain scores from low to high adding up to total, not all alike."""
    base, extra = divmod(total, count)
    items = [base + (i < extra) for i in range(count)]
    for _ in range(count):
        up, down = rng.randrange(count), rng.randrange(count)
        if up != down and items[up] < high and items[down] > low:
            items[up] += 1
            items[down] -= 1
    rng.shuffle(items)
    return items


def _score(
    rng: random.Random, measure: str, timepoint: str, taken_on: date, value: int
) -> PlannedScore:
    """A score as commissioning/instruments.py makes it: WEMWBS and the Star from their items,
    the PAM level from its score."""
    if measure == Measure.WEMWBS:
        items = _items(rng, value, WEMWBS_ITEMS, ITEM_LOWEST, ITEM_HIGHEST)
        return PlannedScore(measure, timepoint, taken_on, Decimal(sum(items)), items)
    if measure == Measure.OUTCOMES_STAR:
        items = _items(rng, value, STAR_DOMAINS, STAR_LOWEST, STAR_HIGHEST)
        return PlannedScore(
            measure, timepoint, taken_on, Decimal(sum(items)), items, star_version=STAR_VERSION
        )
    if measure == Measure.PAM:
        score = Decimal(value).scaleb(-1)
        return PlannedScore(measure, timepoint, taken_on, score, level=pam_level(score))
    return PlannedScore(measure, timepoint, taken_on, Decimal(value))


def _plan_scores(rng: random.Random, table: GroupTable, group: list[PlannedEpisode]) -> None:
    """Each measure at the start (at the first or second meeting) and, once the episode has
    ended, at its end: but for the follow-ups Table 1 counts as missing."""
    means = {
        Measure.WEMWBS: table.wemwbs,
        Measure.PAM: table.pam,
        Measure.OUTCOMES_STAR: table.star,
        Measure.ROCKWOOD: table.rockwood,
    }
    for measure, (mean_before, mean_after) in means.items():
        scale = SCALES[measure]
        ended = [i for i, e in enumerate(group) if e.ended_on is not None]
        missing = rng.sample(ended, MISSING_FOLLOW_UP.get(measure, {}).get(table.subgroup, 0))
        followed = [i for i in ended if i not in missing]
        alone = [i for i in range(len(group)) if i not in followed]
        before: dict[int, int] = {}
        for who in (followed, alone):
            values = integers_near(
                rng, len(who), mean_before * scale.per_point, scale.spread, scale.low, scale.high
            )
            before.update(zip(who, values, strict=True))
        after = _matched(
            rng,
            [before[i] for i in followed],
            integers_near(
                rng,
                len(followed),
                mean_after * scale.per_point,
                scale.spread,
                scale.low,
                scale.high,
            ),
            scale.spread,
        )
        for i, episode in enumerate(group):
            episode.scores.append(
                _score(rng, measure, Timepoint.BASELINE, episode.first_met_on, before[i])
            )
        for i, value in zip(followed, after, strict=True):
            ended_on = group[i].ended_on
            assert ended_on is not None
            group[i].scores.append(_score(rng, measure, Timepoint.FOLLOW_UP, ended_on, value))


def _plan_goals(
    rng: random.Random, table: GroupTable, group: list[PlannedEpisode], today: date
) -> None:
    """About three goals each, set at the start. Of the group's goals, Table 1's share is met;
    the rest are open in the episodes still running, or were not met."""
    yesterday = today - timedelta(days=1)
    counts = integers_near(rng, len(group), table.goals_per_person, 0.8, 1, len(table.goals) - 1)
    slots = [(e, description) for e, n in zip(group, counts, strict=True)
             for description in rng.sample(table.goals, n)]  # fmt: skip
    unmet = len(slots) - round(len(slots) * table.goals_met)
    running = [i for i, (e, _) in enumerate(slots) if e.ended_on is None]
    ended = [i for i, (e, _) in enumerate(slots) if e.ended_on is not None]
    still_open = set(running[:unmet])
    not_met = set(rng.sample(ended, max(0, unmet - len(still_open))))
    for i, (episode, description) in enumerate(slots):
        set_on = episode.first_met_on
        u = rng.random()
        if i in still_open:
            outcome, reviewed_on = "", None
        else:
            outcome = GoalOutcome.NOT_MET if i in not_met else GoalOutcome.MET
            # Met along the way in an episode still running, else reviewed at its end.
            reviewed_on = episode.ended_on or set_on + timedelta(
                days=int(u * (yesterday - set_on).days)
            )
        episode.goals.append(PlannedGoal(description, set_on, outcome, reviewed_on))


def _plan_inputs(
    rng: random.Random, table: GroupTable, group: list[PlannedEpisode], today: date
) -> None:
    """The group's inputs of each kind (Box 2's needs within it), dealt out about evenly, each
    on a day of the episode so far."""
    kinds = [kind for kind in NeedGroup if kind in table.inputs]
    dealt = [kind for kind in kinds for _ in range(table.inputs[kind])]
    rng.shuffle(dealt)
    counts = integers_near(rng, len(group), len(dealt) / len(group), 1.0, 2, 8)
    yesterday = today - timedelta(days=1)
    for episode, count in zip(group, counts, strict=True):
        span = ((episode.ended_on or yesterday) - episode.started_on).days
        for kind in dealt[:count]:
            u = [rng.random() for _ in range(3)]
            need = weighted(INPUT_NEEDS[kind], u[0])
            shortest, longest, note = INPUT_WORK[need]
            minutes = 5 * round((shortest + u[1] * (longest - shortest)) / 5)
            given_on = episode.started_on + timedelta(days=int(u[2] * (span + 1)))
            episode.inputs.append(PlannedInput(given_on, need, minutes, note))
        del dealt[:count]


def _pounds(rng: random.Random, count: int, mean: float) -> list[int]:
    """count costs averaging mean to the pound, spread as care costs are: a few people cost
    much more than most."""
    weights = [rng.lognormvariate(0, 0.6) for _ in range(count)]
    total = round(mean * count)
    values = [round(total * weight / sum(weights)) for weight in weights]
    values[values.index(max(values))] += total - sum(values)
    return values


def _plan_costs(rng: random.Random, table: GroupTable, group: list[PlannedEpisode]) -> None:
    """The 12 months before and after, for the episodes that have ended."""
    ended = [e for e in group if e.ended_on is not None]
    mean_before, mean_after = table.cost
    before = _pounds(rng, len(ended), mean_before)
    after = _matched(rng, before, _pounds(rng, len(ended), mean_after), mean_before / 2)
    for episode, pounds_before, pounds_after in zip(ended, before, after, strict=True):
        episode.cost = (Decimal(pounds_before), Decimal(pounds_after))
