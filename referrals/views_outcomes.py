"""The VSO's episode pages: opening an episode, its goals, inputs and outcome scores.

Every form on an episode's page posts to its own address; one sent with a mistake comes back on
the episode's page, in place, with what was typed and its errors (episode_page)."""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.permissions import role_required
from commissioning.in_force import specification_in_force
from commissioning.instruments import Measure, StarVersion
from core.conflicts import EditConflict
from core.forms import add_service_errors
from referrals import selectors, selectors_outcomes, services_outcomes
from referrals.forms_outcomes import (
    EpisodeEditForm,
    EpisodeForm,
    GoalForm,
    GoalMarkForm,
    InputForm,
    ScoreForm,
)
from referrals.models import Episode, OutcomeScore, Timepoint


@role_required(Role.VSO_LEAD, Role.VSO_WORKER)
def episode_list(request):
    today = timezone.localdate()
    page = Paginator(selectors_outcomes.open_episodes(request.user, today=today), 50).get_page(
        request.GET.get("page")
    )
    shown = selectors_outcomes.FOLLOW_UPS_SHOWN
    # One more than is shown says whether there are more, without counting them all.
    follow_ups = list(
        selectors_outcomes.episodes_needing_follow_up(request.user, today=today)[: shown + 1]
    )
    return render(
        request,
        "referrals/episode_list.html",
        {
            "follow_ups": follow_ups[:shown],
            "more_follow_ups": len(follow_ups) > shown,
            "page": page,
            "measure_labels": selectors_outcomes.MEASURE_LABELS,
        },
    )


@login_required
def episode_open(request, pk):
    referral = selectors.get_referral_for_user(request.user, pk)
    on_referral = selectors_outcomes.episode_on_referral(request.user, referral)
    if on_referral is None:
        raise PermissionDenied
    if on_referral.episode is not None:
        messages.info(request, f"{referral.reference} already has an episode.")
        return redirect("episode_detail", pk=on_referral.episode.pk)
    if not on_referral.may_open:
        messages.error(
            request,
            f"{referral.reference} is {referral.get_status_display().lower()}: an episode opens "
            "once a referral is accepted, until it closes.",
        )
        return redirect("referral_detail", pk=referral.pk)
    today = timezone.localdate()
    first_day = (
        timezone.localdate(referral.first_contact_at) if referral.first_contact_at else today
    )
    form = EpisodeForm(
        request.POST if request.method == "POST" else None, initial={"started_on": first_day}
    )
    if request.method == "POST" and form.is_valid():
        try:
            episode = services_outcomes.episode_open(
                referral=referral, user=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"The episode on {referral.reference} is open.")
            return redirect("episode_detail", pk=episode.pk)
    specification = (
        specification_in_force(service=referral.service, on_date=today)
        if referral.service
        else None
    )
    return render(
        request,
        "referrals/episode_open.html",
        {
            "referral": referral,
            "form": form,
            "specification": specification,
            "measures": selectors_outcomes.measures_in(specification),
            "measure_labels": selectors_outcomes.MEASURE_LABELS,
        },
        status=400 if form.errors else 200,
    )


@login_required
def episode_detail(request, pk):
    return episode_page(request, selectors_outcomes.get_episode_for_user(request.user, pk))


# --- The page, with any form sent with a mistake in place ---------------------------------


@dataclass
class ScoreEntry:
    """One timepoint of a measure: what is recorded, and the form to record or correct it."""

    timepoint: str
    label: str
    recorded: OutcomeScore | None
    form: ScoreForm | None


def _score_form(
    row: selectors_outcomes.MeasureRow, timepoint: str, star: StarVersion | None, day
) -> ScoreForm | None:
    recorded = row.baseline if timepoint == Timepoint.BASELINE else row.follow_up
    if not row.required or (row.measure == Measure.OUTCOMES_STAR and star is None):
        return None
    if timepoint == Timepoint.FOLLOW_UP and row.baseline is None:
        return None
    initial: dict[str, Any] = {"taken_on": day}
    if recorded is not None:
        initial = {"taken_on": recorded.taken_on, "replacing": recorded.updated_at}
        initial |= {f"item_{n}": item for n, item in enumerate(recorded.items, start=1)}
        if not recorded.items:
            # As it was entered: 56.1 for PAM, a whole number for the frailty scale.
            places = Decimal("0.1") if row.measure == Measure.PAM else Decimal("1")
            initial["score"] = recorded.score.quantize(places)
    return ScoreForm(initial=initial, measure=row.measure, timepoint=timepoint, star=star)


def _score_entries(data: selectors_outcomes.EpisodePage, day, bound: ScoreForm | None) -> list:
    sections = []
    for row in data.rows:
        entries = []
        for timepoint, label in Timepoint.choices:
            is_bound = bound is not None and (bound.measure, bound.timepoint) == (
                row.measure,
                timepoint,
            )
            entries.append(
                ScoreEntry(
                    timepoint=timepoint,
                    label=label,
                    recorded=row.baseline if timepoint == Timepoint.BASELINE else row.follow_up,
                    form=bound if is_bound else _score_form(row, timepoint, data.star, day),
                )
            )
        sections.append((row, entries))
    return sections


def _edit_form(episode: Episode) -> EpisodeEditForm:
    fields = ("subgroup", "started_on", "ended_on", "version")
    return EpisodeEditForm(
        initial={name: getattr(episode, name) for name in fields}, auto_id="episode-%s"
    )


def episode_page(
    request: HttpRequest, episode: Episode, *, status: int = 200, **bound: Any
) -> HttpResponse:
    """Render the page. `bound` holds a form sent with errors under its context name
    (edit_form, goal_form, input_form, score_form, or mark_form with goal_id)."""
    data = selectors_outcomes.episode_page_for(episode)
    # Within the episode: its end once it has one.
    day = min(episode.ended_on or timezone.localdate(), timezone.localdate())
    for goal in data.goals:
        # Read by the template beside each goal.
        goal.mark_form = (  # type: ignore[attr-defined]
            bound["mark_form"]
            if bound.get("goal_id") == goal.pk
            else GoalMarkForm(
                initial={
                    "updated_at": goal.updated_at,
                    "outcome": goal.outcome or None,
                    "reviewed_on": goal.reviewed_on or day,
                },
                auto_id=f"goal-{goal.pk}-%s",
            )
        )
    context = {
        "episode": episode,
        "referral": episode.referral,
        "page": data,
        "scores": _score_entries(data, day, bound.get("score_form")),
        "measure_labels": selectors_outcomes.MEASURE_LABELS,
        "edit_form": bound.get("edit_form") or _edit_form(episode),
        "goal_form": bound.get("goal_form") or GoalForm(initial={"set_on": day}, auto_id="goal-%s"),
        "input_form": bound.get("input_form")
        or InputForm(initial={"given_on": day}, auto_id="input-%s"),
        # The form sent with a mistake, also by its own name, for the page's error summary.
        **bound,
    }
    return render(request, "referrals/episode_detail.html", context, status=status)


def _submit(
    request: HttpRequest,
    episode: Episode,
    form: forms.Form,
    write: Callable[[dict[str, Any]], object],
    *,
    done: str,
    anchor: str,
    **bound: Any,
) -> HttpResponse:
    """Call the service with the form's data; back to the page, the form in place, if it or the
    service finds a mistake; to the page's section once saved, or when someone else's change
    stopped it (with what happened)."""
    if form.is_valid():
        try:
            write(form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        except EditConflict as error:
            messages.error(request, str(error))
            return redirect(reverse("episode_detail", args=[episode.pk]) + f"#{anchor}")
        else:
            messages.success(request, done)
            return redirect(reverse("episode_detail", args=[episode.pk]) + f"#{anchor}")
    return episode_page(request, episode, status=400, **bound)


@require_POST
@login_required
def episode_edit(request, pk):
    episode = selectors_outcomes.get_episode_for_user(request.user, pk, write=True)
    form = EpisodeEditForm(request.POST, auto_id="episode-%s")
    return _submit(
        request, episode, form,
        lambda data: services_outcomes.episode_update(
            episode=episode, user=request.user, expected_version=data["version"],
            subgroup=data["subgroup"], started_on=data["started_on"], ended_on=data["ended_on"],
        ),
        done="The episode is saved.", anchor="episode", edit_form=form,
    )  # fmt: skip


@require_POST
@login_required
def episode_goal_add(request, pk):
    episode = selectors_outcomes.get_episode_for_user(request.user, pk, write=True)
    form = GoalForm(request.POST, auto_id="goal-%s")
    return _submit(
        request, episode, form,
        lambda data: services_outcomes.goal_add(episode=episode, user=request.user, **data),
        done="The goal is added.", anchor="goals", goal_form=form,
    )  # fmt: skip


@require_POST
@login_required
def goal_mark(request, pk):
    goal = selectors_outcomes.get_goal_for_user(request.user, pk)
    episode = selectors_outcomes.get_episode_for_user(request.user, goal.episode_id, write=True)
    form = GoalMarkForm(request.POST, auto_id=f"goal-{goal.pk}-%s")
    return _submit(
        request, episode, form,
        lambda data: services_outcomes.goal_mark(
            goal=goal, user=request.user, outcome=data["outcome"],
            reviewed_on=data["reviewed_on"], expected_updated_at=data["updated_at"],
        ),
        done=f"The goal “{goal.description}” is marked.", anchor="goals",
        mark_form=form, goal_id=goal.pk,
    )  # fmt: skip


@require_POST
@login_required
def episode_input_add(request, pk):
    episode = selectors_outcomes.get_episode_for_user(request.user, pk, write=True)
    form = InputForm(request.POST, auto_id="input-%s")
    return _submit(
        request, episode, form,
        lambda data: services_outcomes.input_add(episode=episode, user=request.user, **data),
        done="The input is recorded.", anchor="inputs", input_form=form,
    )  # fmt: skip


@require_POST
@login_required
def episode_score_record(request, pk):
    episode = selectors_outcomes.get_episode_for_user(request.user, pk, write=True)
    specification = selectors_outcomes.specification_for(episode)
    star = selectors_outcomes.star_of(specification)
    measure, timepoint = request.POST.get("measure", ""), request.POST.get("timepoint", "")
    if (
        measure not in selectors_outcomes.measures_in(specification)
        or timepoint not in Timepoint.values
        or (measure == Measure.OUTCOMES_STAR and star is None)
    ):
        messages.error(request, "That form is out of date: the episode no longer asks for it.")
        return redirect(reverse("episode_detail", args=[episode.pk]) + "#scores")
    form = ScoreForm(request.POST, measure=measure, timepoint=timepoint, star=star)
    return _submit(
        request, episode, form,
        lambda data: services_outcomes.score_record(
            episode=episode, user=request.user, measure=measure, timepoint=timepoint,
            taken_on=data["taken_on"], expected_updated_at=data["replacing"], **form.answers(),
        ),
        done=f"The {services_outcomes.TIMEPOINT_WORDS[timepoint]} "
        f"{selectors_outcomes.MEASURE_LABELS[measure]} is recorded.",
        anchor="scores", score_form=form,
    )  # fmt: skip
