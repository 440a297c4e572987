"""Episodes of wellbeing co-ordination and what they achieved: goals, inputs given, outcome
scores before and after, and the health and social care costs around them (docs/outcomes.md).

Imported by referrals/models.py, so Django registers them with the referrals app.
"""

import pghistory
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q

from commissioning.instruments import (
    ITEM_HIGHEST,
    PAM_HIGHEST,
    PAM_LOWEST,
    ROCKWOOD_HIGHEST,
    ROCKWOOD_LOWEST,
    STAR_HIGHEST,
    STAR_LOWEST,
    SWEMWBS_ITEMS,
    WEMWBS_ITEMS,
    Measure,
)
from commissioning.models import Need, System
from core.models import AuditedModel


class Subgroup(models.TextChoices):
    """The six sub-groups of the Torbay evaluation, by the person's main presentation."""

    MENTAL_HEALTH = "mental_health", "Maintaining mental health"
    CAREGIVER = "caregiver", "Caregiver or bereavement support"
    SOCIAL = "social", "Social support"
    MOBILISING = "mobilising", "Mobilising"
    DECLINING = "declining", "Declining"
    END_OF_LIFE = "end_of_life", "End of life"


@pghistory.track()
class Episode(AuditedModel):
    """The time a voluntary service works with a patient on one accepted referral."""

    referral = models.OneToOneField(
        "referrals.Referral", on_delete=models.PROTECT, related_name="episode"
    )
    subgroup = models.CharField("sub-group", max_length=20, choices=Subgroup.choices)
    started_on = models.DateField("started")
    ended_on = models.DateField("ended", null=True, blank=True)
    # Bumped on every change; an edit that names an older version is refused.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-started_on", "-pk"]
        indexes = [
            models.Index(fields=["started_on"], name="episode_started_on"),
            # The episodes list's open episodes, without reading the history of ended ones.
            models.Index(
                fields=["started_on", "id"],
                condition=Q(ended_on__isnull=True),
                name="episode_open",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(subgroup__in=Subgroup.values), name="episode_subgroup_valid"
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=F("started_on")),
                name="episode_ends_after_it_starts",
            ),
        ]

    def __str__(self) -> str:
        return f"Episode for {self.referral}"


class GoalOutcome(models.TextChoices):
    MET = "met", "Met"
    NOT_MET = "not_met", "Not met"


@pghistory.track()
class Goal(AuditedModel):
    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="goals")
    description = models.CharField(max_length=200)
    set_on = models.DateField("set")
    # Empty while the goal is still being worked on.
    outcome = models.CharField(max_length=10, choices=GoalOutcome.choices, blank=True)
    reviewed_on = models.DateField("reviewed", null=True, blank=True)

    class Meta:
        ordering = ["set_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome="") | Q(outcome__in=GoalOutcome.values),
                name="goal_outcome_valid",
            ),
            models.CheckConstraint(
                condition=Q(outcome="", reviewed_on__isnull=True)
                | (~Q(outcome="") & Q(reviewed_on__gte=F("set_on"))),
                name="goal_reviewed_when_marked",
            ),
        ]

    def __str__(self) -> str:
        return self.description


@pghistory.track()
class EpisodeInput(AuditedModel):
    """One contact or piece of work given in an episode, coded from the app's needs."""

    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="inputs")
    given_on = models.DateField("given")
    need = models.ForeignKey(Need, on_delete=models.PROTECT, related_name="+")
    minutes = models.PositiveSmallIntegerField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["given_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(minutes__gte=1, minutes__lte=24 * 60), name="input_minutes_in_a_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.need_id} on {self.given_on}"


class Timepoint(models.TextChoices):
    BASELINE = "baseline", "Baseline"
    FOLLOW_UP = "follow_up", "At 12 weeks or exit"


def _score_rules() -> Q:
    """Each measure's range, as commissioning/instruments.py states it, held by the database too
    so that no import or shell can store an impossible score."""
    star_items_in_range = Q(
        score__gte=F("item_count") * STAR_LOWEST, score__lte=F("item_count") * STAR_HIGHEST
    )
    return (
        Q(
            measure=Measure.WEMWBS,
            items__len=WEMWBS_ITEMS,
            score__gte=WEMWBS_ITEMS,
            score__lte=WEMWBS_ITEMS * ITEM_HIGHEST,
        )
        | Q(
            measure=Measure.SWEMWBS,
            items__len=SWEMWBS_ITEMS,
            score__gte=SWEMWBS_ITEMS,
            score__lte=SWEMWBS_ITEMS * ITEM_HIGHEST,
        )
        | Q(
            measure=Measure.PAM,
            score__gte=PAM_LOWEST,
            score__lte=PAM_HIGHEST,
            level__gte=1,
            level__lte=4,
        )
        | (Q(measure=Measure.OUTCOMES_STAR, item_count__gte=1) & ~Q(star_version="")
           & star_items_in_range)
        | Q(measure=Measure.ROCKWOOD, score__gte=ROCKWOOD_LOWEST, score__lte=ROCKWOOD_HIGHEST)
    )  # fmt: skip


@pghistory.track()
class OutcomeScore(AuditedModel):
    """One measure taken at the start of an episode or at 12 weeks or its end.

    `score` is the figure reports use: the WEMWBS total, the SWEMWBS metric score, the PAM score,
    the Outcomes Star total over its domains, the Rockwood scale. `items` keeps the item or domain
    scores, in order, where the measure has them.
    """

    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="scores")
    measure = models.CharField(max_length=20, choices=Measure.choices)
    timepoint = models.CharField(max_length=10, choices=Timepoint.choices)
    taken_on = models.DateField("taken")
    items = ArrayField(models.PositiveSmallIntegerField(), default=list, blank=True)
    # len(items), kept so that the database can check an Outcomes Star total against its domains.
    item_count = models.PositiveSmallIntegerField(default=0)
    star_version = models.CharField(max_length=30, blank=True)
    score = models.DecimalField(max_digits=5, decimal_places=2)
    level = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["measure", "timepoint"]
        constraints = [
            models.UniqueConstraint(
                fields=["episode", "measure", "timepoint"], name="score_one_per_timepoint"
            ),
            models.CheckConstraint(
                condition=Q(timepoint__in=Timepoint.values), name="score_timepoint_valid"
            ),
            models.CheckConstraint(
                condition=Q(item_count=models.Func(F("items"), function="cardinality")),
                name="score_item_count_matches",
            ),
            models.CheckConstraint(condition=_score_rules(), name="score_in_range"),
        ]

    def __str__(self) -> str:
        return f"{self.get_measure_display()} {self.get_timepoint_display()}: {self.score}"


@pghistory.track()
class PatientCost(AuditedModel):
    """A patient's health and social care cost in the 12 months before and after their
    wellbeing co-ordination, as the system's finance team supplies it (`import_costs`)."""

    system = models.ForeignKey(System, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("referrals.Patient", on_delete=models.PROTECT, related_name="costs")
    cost_12m_before = models.DecimalField(
        "cost in the 12 months before (£)", max_digits=10, decimal_places=2
    )
    cost_12m_after = models.DecimalField(
        "cost in the 12 months after (£)", max_digits=10, decimal_places=2
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["system", "patient"], name="cost_one_per_patient"),
            models.CheckConstraint(
                condition=Q(cost_12m_before__gte=0, cost_12m_after__gte=0),
                name="cost_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"£{self.cost_12m_before} before, £{self.cost_12m_after} after"
