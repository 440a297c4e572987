"""Recording episodes of wellbeing co-ordination: opening and editing an episode, its goals,
the inputs given and the outcome scores before and after (docs/outcomes.md).

Every write is the receiving voluntary organisation's (episode_editable_by) and locks the
episode's row first, so that a date checked against the episode's dates stays checked.
Everything recorded in an episode is dated within it: from its start to its end (or today).
"""

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Min
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import User
from commissioning.codes import NeedGroup
from commissioning.instruments import Measure
from commissioning.models import Need, Sector
from core.conflicts import EditConflict
from core.plausible import IN_THE_FUTURE, check_text
from referrals.models import (
    Episode,
    EpisodeInput,
    Goal,
    GoalOutcome,
    OutcomeScore,
    Referral,
    Subgroup,
    Timepoint,
)
from referrals.remit_cache import remit_page_changed
from referrals.scoring import MEASURE_LABELS, Figures, score_figures
from referrals.selectors_outcomes import (
    EPISODE_STATUSES,
    episode_editable_by,
    measures_in,
    specification_for,
    star_of,
)

# How a message names each timepoint mid-sentence.
TIMEPOINT_WORDS: dict[str, str] = {Timepoint.BASELINE: "baseline", Timepoint.FOLLOW_UP: "follow-up"}
TEXT_LENGTH = 200  # a goal's description and an input's note, as the models hold them
MOST_MINUTES = 24 * 60


def _day(value: date) -> str:
    return date_format(value, "j M Y")


def _name(user: User | None) -> str:
    return user.full_name if user else "someone else"


def _require(user: User, referral: Referral) -> None:
    if not episode_editable_by(user, referral):
        raise PermissionDenied


def _locked(episode: Episode) -> Episode:
    """The episode as it stands now, its row held until the transaction ends."""
    return (
        Episode.objects.select_for_update(of=("self",))
        .select_related("referral", "updated_by")
        .get(pk=episode.pk)
    )


def _not_in_future(value: date, what: str) -> str:
    return f"{what} {IN_THE_FUTURE[:1].lower()}{IN_THE_FUTURE[1:]}" if value > _today() else ""


def _today() -> date:
    return timezone.localdate()


def _within(episode: Episode, value: date, what: str) -> str:
    """What is wrong with a date of something recorded in the episode, or ''."""
    if value > _today():
        return _not_in_future(value, what)
    if value < episode.started_on:
        return f"{what} cannot be before the episode started, on {_day(episode.started_on)}."
    if episode.ended_on is not None and value > episode.ended_on:
        return f"{what} cannot be after the episode ended, on {_day(episode.ended_on)}."
    return ""


def _text(value: str, field: str, *, required: str, errors: dict[str, str]) -> str:
    value = value.strip()
    if not value and required:
        errors[field] = required
        return value
    try:
        check_text(value, max_length=TEXT_LENGTH)
    except ValidationError as error:
        errors[field] = " ".join(error.messages)
    return value


# --- Episodes --------------------------------------------------------------------------------


def _start_problem(referral: Referral, started_on: date) -> str:
    referred_on = timezone.localdate(referral.referred_at)
    if started_on > _today():
        return _not_in_future(started_on, "The start")
    if started_on < referred_on:
        return f"The start cannot be before the referral was made, on {_day(referred_on)}."
    return ""


def _already_open(referral: Referral, episode: Episode) -> ValidationError:
    return ValidationError(
        {
            "referral": (
                f"{referral.reference} already has an episode, started on "
                f"{_day(episode.started_on)} by {_name(episode.created_by)}: open that one."
            )
        }
    )


@transaction.atomic
def episode_open(*, referral: Referral, user: User, subgroup: str, started_on: date) -> Episode:
    """Open the one episode of wellbeing co-ordination on an accepted voluntary referral."""
    _require(user, referral)
    if referral.destination_sector != Sector.VOLUNTARY or referral.status not in EPISODE_STATUSES:
        raise ValidationError(
            {
                "referral": (
                    f"{referral.reference} is {referral.get_status_display().lower()}: an "
                    "episode opens on a voluntary referral once it is accepted, until it closes."
                )
            }
        )
    existing = Episode.objects.filter(referral=referral).select_related("created_by").first()
    if existing is not None:
        raise _already_open(referral, existing)
    errors: dict[str, str] = {}
    if subgroup not in Subgroup.values:
        errors["subgroup"] = "Choose the sub-group that fits the person's main presentation."
    if problem := _start_problem(referral, started_on):
        errors["started_on"] = problem
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            return Episode.objects.create(
                referral=referral,
                subgroup=subgroup,
                started_on=started_on,
                created_by=user,
                updated_by=user,
            )
    except IntegrityError:
        # Opened by someone else between the check and the insert: one episode per referral.
        existing = Episode.objects.select_related("created_by").get(referral=referral)
        raise _already_open(referral, existing) from None


def _recorded_span(episode: Episode) -> tuple[date | None, date | None]:
    """The earliest and latest dates of anything recorded in the episode."""
    spans = [
        Goal.objects.filter(episode=episode).aggregate(
            first=Min("set_on"), last=Greatest(Max("set_on"), Max("reviewed_on"))
        ),
        EpisodeInput.objects.filter(episode=episode).aggregate(
            first=Min("given_on"), last=Max("given_on")
        ),
        OutcomeScore.objects.filter(episode=episode).aggregate(
            first=Min("taken_on"), last=Max("taken_on")
        ),
    ]
    firsts = [span["first"] for span in spans if span["first"]]
    lasts = [span["last"] for span in spans if span["last"]]
    return (min(firsts) if firsts else None, max(lasts) if lasts else None)


def episode_update(
    *,
    episode: Episode,
    user: User,
    expected_version: int,
    subgroup: str,
    started_on: date,
    ended_on: date | None,
) -> Episode:
    """Change an episode's sub-group or dates; ending it is giving it an end date. Refused when
    someone changed it since `expected_version`, or when goals, inputs or scores already
    recorded would fall outside the new dates."""
    _require(user, episode.referral)
    with transaction.atomic():
        current = _locked(episode)
        if current.version != expected_version:
            raise EditConflict(
                f"The episode was changed by {_name(current.updated_by)} at "
                f"{timezone.localtime(current.updated_at):%H:%M} on "
                f"{_day(timezone.localdate(current.updated_at))} while you had it open. Nothing "
                "you did was saved: look again."
            )
        errors: dict[str, str] = {}
        if subgroup not in Subgroup.values:
            errors["subgroup"] = "Choose the sub-group that fits the person's main presentation."
        if problem := _start_problem(current.referral, started_on):
            errors["started_on"] = problem
        if ended_on is not None:
            if ended_on > _today():
                errors["ended_on"] = _not_in_future(ended_on, "The end")
            elif ended_on < started_on:
                errors["ended_on"] = "The end cannot be before the start."
        first, last = _recorded_span(current)
        if "started_on" not in errors and first is not None and started_on > first:
            errors["started_on"] = (
                f"Goals, inputs or scores are recorded from {_day(first)}: the episode cannot "
                "start after them."
            )
        if "ended_on" not in errors and ended_on and last is not None and ended_on < last:
            errors["ended_on"] = (
                f"Goals, inputs or scores are recorded up to {_day(last)}: the episode cannot "
                "end before them."
            )
        if errors:
            raise ValidationError(errors)
        Episode.objects.filter(pk=current.pk).update(
            subgroup=subgroup,
            started_on=started_on,
            ended_on=ended_on,
            version=F("version") + 1,
            updated_at=timezone.now(),
            updated_by=user,
        )
        remit_page_changed(organisation_ids=[current.referral.organisation_id])
    return Episode.objects.select_related("referral").get(pk=current.pk)


# --- Goals and inputs ------------------------------------------------------------------------


def goal_add(*, episode: Episode, user: User, description: str, set_on: date) -> Goal:
    _require(user, episode.referral)
    errors: dict[str, str] = {}
    description = _text(
        description,
        "description",
        required="Write the goal in a few words, as the person would say it.",
        errors=errors,
    )
    with transaction.atomic():
        current = _locked(episode)
        if problem := _within(current, set_on, "The day the goal was set"):
            errors["set_on"] = problem
        if errors:
            raise ValidationError(errors)
        return Goal.objects.create(
            episode=current, description=description, set_on=set_on, created_by=user,
            updated_by=user,
        )  # fmt: skip


def goal_mark(
    *,
    goal: Goal,
    user: User,
    outcome: str,
    reviewed_on: date,
    expected_updated_at: datetime,
) -> Goal:
    """Mark a goal met or not met on the day it was reviewed; marking it again corrects it.
    Refused when someone changed the goal since the person opened it."""
    _require(user, goal.episode.referral)
    errors: dict[str, str] = {}
    if outcome not in GoalOutcome.values:
        errors["outcome"] = "Choose whether the goal was met."
    with transaction.atomic():
        current = _locked(goal.episode)
        fresh = Goal.objects.select_related("updated_by").get(pk=goal.pk)
        if fresh.updated_at != expected_updated_at:
            now_is = fresh.get_outcome_display().lower() or "not yet marked"
            raise EditConflict(
                f"The goal “{fresh.description}” was changed by {_name(fresh.updated_by)} while "
                f"you had it open; it is now {now_is}. Nothing you did was saved: look again."
            )
        if problem := _within(current, reviewed_on, "The review"):
            errors["reviewed_on"] = problem
        elif reviewed_on < fresh.set_on:
            errors["reviewed_on"] = (
                f"The review cannot be before the goal was set, on {_day(fresh.set_on)}."
            )
        if errors:
            raise ValidationError(errors)
        fresh.outcome, fresh.reviewed_on, fresh.updated_by = outcome, reviewed_on, user
        fresh.save(update_fields=["outcome", "reviewed_on", "updated_by", "updated_at"])
    return fresh


def input_add(
    *,
    episode: Episode,
    user: User,
    given_on: date,
    need: str,
    minutes: int,
    note: str = "",
) -> EpisodeInput:
    """Record a contact or piece of work, coded with a need the voluntary sector is
    commissioned for (any group but the statutory one)."""
    _require(user, episode.referral)
    errors: dict[str, str] = {}
    coded = Need.objects.filter(code=need).exclude(group=NeedGroup.STATUTORY).first()
    if coded is None:
        errors["need"] = "Choose what the input was, from the needs listed."
    if (
        isinstance(minutes, bool)
        or not isinstance(minutes, int)
        or not 1 <= minutes <= MOST_MINUTES
    ):
        errors["minutes"] = f"Enter the minutes spent, from 1 to {MOST_MINUTES} (a whole day)."
    note = _text(note, "note", required="", errors=errors)
    with transaction.atomic():
        current = _locked(episode)
        if problem := _within(current, given_on, "The day of the input"):
            errors["given_on"] = problem
        if errors or coded is None:
            raise ValidationError(errors)
        return EpisodeInput.objects.create(
            episode=current, given_on=given_on, need=coded, minutes=minutes, note=note,
            created_by=user, updated_by=user,
        )  # fmt: skip


# --- Outcome scores --------------------------------------------------------------------------


def _shown(measure: str, score: Decimal) -> str:
    """A score as the episode's page shows it: SWEMWBS's metric to two places, PAM to one, the
    rest whole."""
    places = 2 if measure == Measure.SWEMWBS else 1 if measure == Measure.PAM else 0
    return f"{score:.{places}f}"


def _timepoint_problems(
    existing: dict[str, OutcomeScore], timepoint: str, taken_on: date, figures: Figures
) -> dict[str, str]:
    """A follow-up needs its baseline, on or before it, on the same chart."""
    if timepoint == Timepoint.FOLLOW_UP:
        baseline = existing.get(Timepoint.BASELINE)
        if baseline is None:
            return {"timepoint": "Record the baseline first: the follow-up is compared with it."}
        if taken_on < baseline.taken_on:
            return {
                "taken_on": (
                    "The follow-up cannot be before the baseline, taken on "
                    f"{_day(baseline.taken_on)}."
                )
            }
        if baseline.star_version != figures.star_version:
            return {"measure": "The baseline was taken on another version of the Outcomes Star."}
    follow_up = existing.get(Timepoint.FOLLOW_UP)
    if timepoint == Timepoint.BASELINE and follow_up and taken_on > follow_up.taken_on:
        return {
            "taken_on": (
                f"The baseline cannot be after the follow-up, taken on {_day(follow_up.taken_on)}."
            )
        }
    return {}


def score_record(
    *,
    episode: Episode,
    user: User,
    measure: str,
    timepoint: str,
    taken_on: date,
    items: Sequence[int] | None = None,
    score: Decimal | int | None = None,
    expected_updated_at: datetime | None = None,
) -> OutcomeScore:
    """Record a measure at baseline or at 12 weeks or exit. Only the measures the
    specification in force on the episode's start asks for.

    A measure is recorded once per timepoint. Recording it again corrects it, and only with the
    `updated_at` of the score the person opened to correct: without it the second is refused
    (someone recorded it first, or the form was sent twice), and with an older one it is an
    EditConflict. The history keeps what it said before."""
    _require(user, episode.referral)
    specification = specification_for(episode)
    if measure not in measures_in(specification):
        raise ValidationError(
            {"measure": "The specification for this episode does not ask for that measure."}
        )
    if timepoint not in Timepoint.values:
        raise ValidationError({"timepoint": "Choose the baseline or the follow-up."})
    figures = score_figures(measure=measure, items=items, score=score, star=star_of(specification))
    label = MEASURE_LABELS[measure]
    with transaction.atomic():
        current = _locked(episode)
        existing = {
            found.timepoint: found
            for found in OutcomeScore.objects.filter(episode=current, measure=measure)
            .select_related("updated_by")
        }  # fmt: skip
        errors: dict[str, str] = {}
        if problem := _within(current, taken_on, "The day it was taken"):
            errors["taken_on"] = problem
        else:
            errors.update(_timepoint_problems(existing, timepoint, taken_on, figures))
        recorded = existing.get(timepoint)
        if recorded is not None and expected_updated_at is None:
            errors["timepoint"] = (
                f"The {TIMEPOINT_WORDS[timepoint]} {label} is already recorded "
                f"({_shown(measure, recorded.score)}, taken on {_day(recorded.taken_on)} by "
                f"{_name(recorded.updated_by)}): correct that one instead."
            )
        if errors:
            raise ValidationError(errors)
        fields = {
            "taken_on": taken_on, "items": figures.items, "item_count": len(figures.items),
            "score": figures.score, "level": figures.level, "star_version": figures.star_version,
            "updated_by": user,
        }  # fmt: skip
        if recorded is None:
            if expected_updated_at is not None:
                raise EditConflict(f"There is no {label} here to correct: look again.")
            return OutcomeScore.objects.create(
                episode=current, measure=measure, timepoint=timepoint, created_by=user, **fields
            )
        if recorded.updated_at != expected_updated_at:
            raise EditConflict(
                f"The {TIMEPOINT_WORDS[timepoint]} {label} was changed by "
                f"{_name(recorded.updated_by)} while you had it open; it is now "
                f"{_shown(measure, recorded.score)}. Nothing you did was saved: look again."
            )
        for name, value in fields.items():
            setattr(recorded, name, value)
        recorded.save()
        return recorded
