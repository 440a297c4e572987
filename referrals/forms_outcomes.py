"""The episode forms. Each field refuses what is out of range or missing beside itself; the
services (referrals/services_outcomes.py) check everything again and have the last word."""

from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone

from commissioning.codes import NeedGroup
from commissioning.instruments import (
    ITEM_HIGHEST,
    ITEM_LOWEST,
    PAM_HIGHEST,
    PAM_LOWEST,
    ROCKWOOD_HIGHEST,
    ROCKWOOD_LOWEST,
    STAR_HIGHEST,
    STAR_LOWEST,
    Measure,
    StarVersion,
)
from commissioning.models import Need
from core.forms import PlainTextOnly, SaysWhatToDo
from core.plausible import check_referral_date
from core.widgets import DateInput
from referrals.models import GoalOutcome, Subgroup
from referrals.scoring import ITEM_COUNTS
from referrals.services_outcomes import MOST_MINUTES, TEXT_LENGTH


def _day(value: date | None, what: str) -> date | None:
    """Not in the future, nor before 2000 (a slip of the year)."""
    return check_referral_date(value, today=timezone.localdate(), what=what) if value else value


class EpisodeForm(SaysWhatToDo, forms.Form):
    subgroup = forms.ChoiceField(
        label="Sub-group",
        choices=Subgroup.choices,
        widget=forms.RadioSelect,
        help_text="The person's main presentation, as the Torbay evaluation grouped people.",
        error_messages={
            "required": "Choose the sub-group that fits the person's main presentation."
        },
    )
    started_on = forms.DateField(
        label="Started",
        widget=DateInput(),
        help_text="The day of the first contact in this episode.",
        error_messages={"required": "Enter the day the episode started."},
    )

    def clean_started_on(self) -> date | None:
        return _day(self.cleaned_data.get("started_on"), "The start")


class EpisodeEditForm(EpisodeForm):
    ended_on = forms.DateField(
        label="Ended",
        widget=DateInput(),
        required=False,
        help_text="Leave empty while the episode goes on.",
    )
    # The version the person opened, so a change made meanwhile is not overwritten.
    version = forms.IntegerField(widget=forms.HiddenInput)

    def clean_ended_on(self) -> date | None:
        return _day(self.cleaned_data.get("ended_on"), "The end")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        started, ended = cleaned.get("started_on"), cleaned.get("ended_on")
        if started and ended and ended < started:
            self.add_error("ended_on", "The end cannot be before the start.")
        return cleaned


class GoalForm(PlainTextOnly, forms.Form):
    description = forms.CharField(
        label="Goal",
        max_length=TEXT_LENGTH,
        help_text="A few words, as the person would say it: “Get to the lunch club each week”.",
        error_messages={
            "required": "Write the goal in a few words, as the person would say it.",
            "max_length": f"Keep the goal to {TEXT_LENGTH} characters.",
        },
    )
    set_on = forms.DateField(
        label="Set on",
        widget=DateInput(),
        error_messages={"required": "Enter the day the goal was set."},
    )

    def clean_set_on(self) -> date | None:
        return _day(self.cleaned_data.get("set_on"), "The day the goal was set")


class GoalMarkForm(SaysWhatToDo, forms.Form):
    outcome = forms.ChoiceField(
        label="Was the goal met?",
        choices=GoalOutcome.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose whether the goal was met."},
    )
    reviewed_on = forms.DateField(
        label="Reviewed on",
        widget=DateInput(),
        error_messages={"required": "Enter the day the goal was reviewed."},
    )
    updated_at = forms.DateTimeField(
        widget=forms.HiddenInput,
        error_messages={"required": "This page is out of date: reload it, then mark the goal."},
    )

    def clean_reviewed_on(self) -> date | None:
        return _day(self.cleaned_data.get("reviewed_on"), "The review")


def input_need_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The needs an input can be coded with, grouped: every group but the statutory one."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for need in Need.objects.exclude(group=NeedGroup.STATUTORY):
        groups.setdefault(need.get_group_display(), []).append((need.code, need.label))
    return list(groups.items())


class InputForm(PlainTextOnly, forms.Form):
    given_on = forms.DateField(
        label="Given on",
        widget=DateInput(),
        error_messages={"required": "Enter the day of the contact or input."},
    )
    need = forms.ChoiceField(
        label="What it was",
        error_messages={
            "required": "Choose what the input was.",
            "invalid_choice": "Choose what the input was, from the needs listed.",
        },
    )
    minutes = forms.IntegerField(
        label="Minutes spent",
        min_value=1,
        max_value=MOST_MINUTES,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={
            "required": "Enter the minutes spent.",
            "invalid": "Enter the minutes spent as a whole number, such as 45.",
            "min_value": "Enter at least 1 minute.",
            "max_value": f"Enter at most {MOST_MINUTES} minutes (a whole day).",
        },
    )
    note = forms.CharField(
        label="Note (optional)",
        required=False,
        max_length=TEXT_LENGTH,
        error_messages={"max_length": f"Keep the note to {TEXT_LENGTH} characters."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["need"].choices = [("", "Choose…"), *input_need_choices()]  # type: ignore[attr-defined]

    def clean_given_on(self) -> date | None:
        return _day(self.cleaned_data.get("given_on"), "The day of the input")


def _item_field(label: str, *, low: int, high: int, noun: str) -> forms.IntegerField:
    range_words = (
        f"The score for {label.lower() if noun == 'statement' else label} is from {low} to {high}."
    )
    return forms.IntegerField(
        label=label,
        min_value=low,
        max_value=high,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={
            "required": f"Enter the score for {label}: every {noun} needs one.",
            "invalid": range_words,
            "min_value": range_words,
            "max_value": range_words,
        },
    )


class ScoreForm(SaysWhatToDo, forms.Form):
    """One measure at one timepoint: its item scores (WEMWBS, SWEMWBS, the Outcomes Star's
    domains) or its one score (PAM, Clinical Frailty Scale). Never the licensed questions."""

    taken_on = forms.DateField(
        label="Taken on",
        widget=DateInput(),
        error_messages={"required": "Enter the day the measure was taken."},
    )
    # When correcting a recorded score: when it was last saved, as the person saw it.
    replacing = forms.DateTimeField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        *args: Any,
        measure: str,
        timepoint: str,
        star: StarVersion | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("auto_id", f"{measure}-{timepoint}-%s")
        super().__init__(*args, **kwargs)
        self.measure, self.timepoint = measure, timepoint
        self.item_names: list[str] = []
        if measure in ITEM_COUNTS:
            labels = [f"Statement {n}" for n in range(1, ITEM_COUNTS[measure] + 1)]
            self._add_items(labels, low=ITEM_LOWEST, high=ITEM_HIGHEST, noun="statement")
        elif measure == Measure.OUTCOMES_STAR and star is not None:
            self._add_items(list(star.domains), low=STAR_LOWEST, high=STAR_HIGHEST, noun="area")
        elif measure == Measure.PAM:
            between = f"The PAM score is from {PAM_LOWEST} to {PAM_HIGHEST}."
            self.fields["score"] = forms.DecimalField(
                label="PAM score",
                help_text="From 0 to 100, to one decimal place, as the licensed tool gives it.",
                min_value=PAM_LOWEST,
                max_value=PAM_HIGHEST,
                # One decimal place is the service's rule (55.20 is 55.2), beside this field too.
                widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.1"}),
                error_messages={
                    "required": "Enter the PAM score.",
                    "invalid": "Enter the PAM score as a number, such as 55.2.",
                    "min_value": between,
                    "max_value": between,
                },
            )
        elif measure == Measure.ROCKWOOD:
            between = f"The scale is a whole number from {ROCKWOOD_LOWEST} to {ROCKWOOD_HIGHEST}."
            self.fields["score"] = forms.IntegerField(
                label="Clinical Frailty Scale",
                help_text="1 (very fit) to 9 (terminally ill).",
                min_value=ROCKWOOD_LOWEST,
                max_value=ROCKWOOD_HIGHEST,
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
                error_messages={
                    "required": "Enter the Clinical Frailty Scale score.",
                    "invalid": between,
                    "min_value": between,
                    "max_value": between,
                },
            )

    def _add_items(self, labels: list[str], *, low: int, high: int, noun: str) -> None:
        for number, label in enumerate(labels, start=1):
            name = f"item_{number}"
            self.fields[name] = _item_field(label, low=low, high=high, noun=noun)
            self.item_names.append(name)

    def clean_taken_on(self) -> date | None:
        return _day(self.cleaned_data.get("taken_on"), "The day it was taken")

    @property
    def item_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.item_names]

    def answers(self) -> dict[str, Any]:
        """The service's `items` or `score`, from what was entered."""
        if self.item_names:
            return {"items": [self.cleaned_data[name] for name in self.item_names]}
        score = self.cleaned_data.get("score")
        return {"score": Decimal(score) if score is not None else None}
