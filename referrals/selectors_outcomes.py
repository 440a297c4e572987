"""Who sees episodes of wellbeing co-ordination, and the reads their pages are built from
(docs/outcomes.md).

An episode is the receiving voluntary organisation's own record of its work with a patient, so
only that organisation's leads and workers see it: not the referrer's team, not commissioners
(who will read outcomes as counts, in the reports), not administrators.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.postgres.aggregates import ArrayAgg
from django.core.exceptions import PermissionDenied
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from accounts.models import VSO_ROLES, User
from commissioning.codes import NeedGroup
from commissioning.in_force import specification_in_force, specification_in_force_subquery
from commissioning.instruments import (
    REPORTED_MEASURES,
    STAR_HIGHEST,
    STAR_VERSIONS,
    Measure,
    StarVersion,
)
from commissioning.models import Sector, ServiceSpecification
from referrals.models import (
    Episode,
    EpisodeInput,
    Goal,
    GoalOutcome,
    OutcomeScore,
    Referral,
    ReferralStatus,
    Timepoint,
)
from referrals.scoring import MEASURE_LABELS
from referrals.selectors import referrals_visible_to

# A referral the organisation has taken on and not yet closed: the only kind an episode opens on.
EPISODE_STATUSES = (ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS)
# Torbay took the follow-up "at 12 weeks or exit": one is due once either has come.
FOLLOW_UP_DUE = timedelta(weeks=12)


def episode_editable_by(user: User, referral: Referral) -> bool:
    """The leads and workers of the voluntary organisation the referral went to."""
    return (
        user.is_authenticated
        and user.is_active
        and user.role in VSO_ROLES
        and user.organisation_id is not None
        and user.organisation_id == referral.organisation_id
        and referral.destination_sector == Sector.VOLUNTARY
    )


def episodes_visible_to(user: User) -> QuerySet[Episode]:
    """Episodes on the referrals this person may see, for the receiving organisation's people
    only. Scoped through referrals_visible_to, so the system comes first."""
    episodes = Episode.objects.select_related(
        "referral__patient", "referral__organisation", "referral__service"
    )
    if not user.is_authenticated or user.role not in VSO_ROLES:
        return episodes.none()
    referrals = referrals_visible_to(user).filter(destination_sector=Sector.VOLUNTARY)
    return episodes.filter(referral__in=referrals.values("pk"))


def with_length(episodes: QuerySet[Episode], *, today: date) -> QuerySet[Episode]:
    """Adds `days_in` (to its end, or to today while open), `weeks_in` (whole weeks),
    `max_weeks` (the longest episode the specification in force on its start allows) and
    `overrun` (longer than that), in the same query."""
    in_force = specification_in_force_subquery(
        service=OuterRef("referral__service_id"), day=OuterRef("started_on")
    )
    # PostgreSQL subtracts one date from another as a whole number of days.
    days = Func(
        Coalesce(F("ended_on"), Value(today)),
        F("started_on"),
        template="(%(expressions)s)",
        arg_joiner=" - ",
        output_field=IntegerField(),
    )
    return episodes.annotate(
        days_in=days,
        max_weeks=Subquery(in_force.values("max_episode_weeks")[:1]),
    ).annotate(
        weeks_in=ExpressionWrapper(F("days_in") / 7, output_field=IntegerField()),
        overrun=ExpressionWrapper(
            Q(max_weeks__isnull=False, days_in__gt=F("max_weeks") * 7),
            output_field=BooleanField(),
        ),
    )


def with_follow_up_missing(episodes: QuerySet[Episode], *, today: date) -> QuerySet[Episode]:
    """Adds `follow_up_missing`, the measures with a baseline and no follow-up (None when there
    are none), and `follow_up_due`: the episode has ended or is 12 weeks past its start."""
    followed_up = OutcomeScore.objects.filter(
        episode=OuterRef("episode"), measure=OuterRef("measure"), timepoint=Timepoint.FOLLOW_UP
    )
    alone = (
        OutcomeScore.objects.filter(episode=OuterRef("pk"), timepoint=Timepoint.BASELINE)
        .exclude(Exists(followed_up))
        .order_by()
        .values("episode")
        .annotate(measures=ArrayAgg("measure", order_by="measure"))
        .values("measures")
    )
    return episodes.annotate(
        follow_up_missing=Subquery(alone),
        follow_up_due=ExpressionWrapper(
            Q(ended_on__isnull=False) | Q(started_on__lte=today - FOLLOW_UP_DUE),
            output_field=BooleanField(),
        ),
    )


def get_episode_for_user(user: User, pk: int, *, write: bool = False) -> Episode:
    """404 for an episode the person may not see; 403 for writing by anyone who may not write.
    The episode comes with its length (with_length)."""
    episode = (
        with_length(episodes_visible_to(user), today=timezone.localdate()).filter(pk=pk).first()
    )
    if episode is None:
        raise Http404("No such episode")
    if write and not episode_editable_by(user, episode.referral):
        raise PermissionDenied
    return episode


def episode_may_open(user: User, referral: Referral) -> bool:
    """Whether this person may open an episode on this referral now."""
    return (
        episode_editable_by(user, referral)
        and referral.status in EPISODE_STATUSES
        and not Episode.objects.filter(referral=referral).exists()
    )


@dataclass(frozen=True)
class EpisodeOnReferral:
    """What a referral's page says of its episode: a link to it, or the way to open one."""

    episode: Episode | None
    may_open: bool


def episode_on_referral(user: User, referral: Referral) -> EpisodeOnReferral | None:
    """None for anyone who may not see episodes of this referral: the page says nothing."""
    if not episode_editable_by(user, referral):
        return None
    try:
        # Read with the referral by get_referral_for_user, else here.
        episode: Episode | None = referral.episode
    except Episode.DoesNotExist:
        episode = None
    return EpisodeOnReferral(
        episode=episode, may_open=episode is None and referral.status in EPISODE_STATUSES
    )


def specification_for(episode: Episode) -> ServiceSpecification | None:
    """The specification in force for the referral's service on the episode's first day."""
    service = episode.referral.service
    if service is None:
        return None
    return specification_in_force(service=service, on_date=episode.started_on)


def measures_in(specification: ServiceSpecification | None) -> list[str]:
    """The scored measures a specification asks for, in the order reports show them."""
    if specification is None:
        return []
    asked = set(specification.outcome_measures)
    return [str(measure) for measure in REPORTED_MEASURES if measure in asked]


def measures_required(episode: Episode) -> list[str]:
    return measures_in(specification_for(episode))


def star_of(specification: ServiceSpecification | None) -> StarVersion | None:
    """The version of the Outcomes Star the specification names, if any."""
    if specification is None:
        return None
    return STAR_VERSIONS.get(specification.outcomes_star_version)


# --- Lists -----------------------------------------------------------------------------------


# The episodes list shows the oldest follow-ups to chase, not every one: ended episodes left
# without a follow-up stay due for ever, and the list would grow with the organisation's history.
FOLLOW_UPS_SHOWN = 50


def episodes_needing_follow_up(user: User, *, today: date) -> QuerySet[Episode]:
    """Episodes with a baseline and no follow-up whose follow-up is due: the VSO lead's list of
    scores to chase, oldest first."""
    return (
        with_follow_up_missing(with_length(episodes_visible_to(user), today=today), today=today)
        # Annotations of with_follow_up_missing, which the type stubs cannot see.
        .filter(follow_up_missing__isnull=False, follow_up_due=True)  # type: ignore[misc]
        .order_by("started_on", "pk")
    )


def open_episodes(user: User, *, today: date) -> QuerySet[Episode]:
    """Episodes not yet ended, those past their longest allowed length first."""
    return (
        with_length(episodes_visible_to(user), today=today)
        .filter(ended_on__isnull=True)
        .order_by("-overrun", "started_on", "pk")  # type: ignore[misc]
    )


# --- One episode's page ----------------------------------------------------------------------


@dataclass(frozen=True)
class MeasureRow:
    """A measure's scores before and after, for the table every episode page shows."""

    measure: str
    label: str
    required: bool
    baseline: OutcomeScore | None
    follow_up: OutcomeScore | None

    @property
    def change(self) -> Decimal | None:
        if self.baseline is None or self.follow_up is None:
            return None
        return self.follow_up.score - self.baseline.score


def measure_rows(scores: list[OutcomeScore], *, required: list[str]) -> list[MeasureRow]:
    """Each measure required or recorded (a score stays shown after the specification stops
    asking for it), in report order."""
    found = {(score.measure, score.timepoint): score for score in scores}
    recorded = {score.measure for score in scores}
    return [
        MeasureRow(
            measure=str(measure),
            label=MEASURE_LABELS[measure],
            required=measure in required,
            baseline=found.get((measure, Timepoint.BASELINE)),
            follow_up=found.get((measure, Timepoint.FOLLOW_UP)),
        )
        for measure in REPORTED_MEASURES
        if measure in required or measure in recorded
    ]


def star_chart(rows: list[MeasureRow]) -> dict[str, Any] | None:
    """The Outcomes Star's area scores before and after, for the radar chart: {"version",
    "labels", "baseline", "follow_up", "highest"}; None until a star is recorded."""
    row = next((row for row in rows if row.measure == Measure.OUTCOMES_STAR), None)
    if row is None or (row.baseline is None and row.follow_up is None):
        return None
    first = row.baseline or row.follow_up
    assert first is not None
    star = STAR_VERSIONS.get(first.star_version)
    labels = list(star.domains) if star else [f"Area {n}" for n in range(1, first.item_count + 1)]
    return {
        "version": star.name if star else first.star_version,
        "labels": labels,
        "baseline": list(row.baseline.items) if row.baseline else None,
        "follow_up": list(row.follow_up.items) if row.follow_up else None,
        "highest": STAR_HIGHEST,
    }


def chart_table(chart: dict[str, Any] | None) -> list[tuple[str, int | None, int | None]]:
    if chart is None:
        return []
    before, after = chart["baseline"] or [], chart["follow_up"] or []
    return [
        (
            label,
            before[n] if n < len(before) else None,
            after[n] if n < len(after) else None,
        )
        for n, label in enumerate(chart["labels"])
    ]


@dataclass(frozen=True)
class InputTotal:
    group: str
    label: str
    inputs: int
    minutes: int


def input_totals(episode: Episode) -> list[InputTotal]:
    """Inputs and minutes per need group, in the groups' order."""
    found = {
        row["need__group"]: row
        for row in EpisodeInput.objects.filter(episode=episode)
        .order_by()
        .values("need__group")
        .annotate(inputs=Count("pk"), minutes=Sum("minutes"))
    }
    return [
        InputTotal(group, label, found[group]["inputs"], found[group]["minutes"])
        for group, label in NeedGroup.choices
        if group in found
    ]


@dataclass(frozen=True)
class EpisodePage:
    specification: ServiceSpecification | None
    required: list[str]
    star: StarVersion | None
    rows: list[MeasureRow]
    chart: dict[str, Any] | None
    # The chart's figures as the table beside it shows them: (area, baseline, follow-up).
    chart_rows: list[tuple[str, int | None, int | None]]
    goals: list[Goal]
    goals_met: int
    inputs: list[EpisodeInput]
    totals: list[InputTotal]


def episode_page_for(episode: Episode) -> EpisodePage:
    """Everything an episode's page shows, in a fixed number of queries however much the
    episode holds."""
    specification = specification_for(episode)
    required = measures_in(specification)
    rows = measure_rows(list(episode.scores.select_related("updated_by")), required=required)
    goals = list(episode.goals.select_related("updated_by"))
    chart = star_chart(rows)
    return EpisodePage(
        specification=specification,
        required=required,
        star=star_of(specification),
        rows=rows,
        chart=chart,
        chart_rows=chart_table(chart),
        goals=goals,
        goals_met=sum(1 for goal in goals if goal.outcome == GoalOutcome.MET),
        inputs=list(episode.inputs.select_related("need", "created_by")),
        totals=input_totals(episode),
    )


def get_goal_for_user(user: User, pk: int) -> Goal:
    """A goal of an episode this person may write to; 404 for anyone else's, as its episode."""
    goal = (
        Goal.objects.filter(episode__in=episodes_visible_to(user).values("pk"))
        .select_related("episode__referral")
        .filter(pk=pk)
        .first()
    )
    if goal is None:
        raise Http404("No such goal")
    if not episode_editable_by(user, goal.episode.referral):
        raise PermissionDenied
    return goal
