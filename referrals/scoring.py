"""The arithmetic of the outcome instruments, done once: from the answers a worker enters to the
figures an OutcomeScore stores (its score, items, PAM level and Outcomes Star version), by the
ranges and tables of commissioning/instruments.py. Pure: no query, no permission; the services
(referrals/services_outcomes.py) call it before saving, and the database's check constraints hold
the same ranges."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError

from commissioning.instruments import (
    ITEM_HIGHEST,
    ITEM_LOWEST,
    PAM_HIGHEST,
    PAM_LOWEST,
    ROCKWOOD_HIGHEST,
    ROCKWOOD_LOWEST,
    STAR_HIGHEST,
    STAR_LOWEST,
    SWEMWBS_ITEMS,
    WEMWBS_ITEMS,
    Measure,
    StarVersion,
    items_problem,
    pam_level,
    swemwbs_metric,
)

MEASURE_LABELS = dict(Measure.choices)


@dataclass(frozen=True)
class Figures:
    """What is stored for a score."""

    score: Decimal
    items: list[int]
    level: int | None = None
    star_version: str = ""


ITEM_COUNTS: dict[str, int] = {Measure.WEMWBS: WEMWBS_ITEMS, Measure.SWEMWBS: SWEMWBS_ITEMS}
ONE_DECIMAL = Decimal("0.1")


def _whole_numbers(items: Sequence[object]) -> bool:
    return all(isinstance(item, int) and not isinstance(item, bool) for item in items)


def _items(items: Sequence[int] | None, *, count: int, low: int, high: int) -> list[int]:
    found = list(items or [])
    if not _whole_numbers(found):
        raise ValidationError({"items": "Each score is a whole number."})
    if problem := items_problem(found, count=count, low=low, high=high):
        raise ValidationError({"items": problem})
    return found


def _single(score: Decimal | int | None, *, low: Decimal, high: Decimal, what: str) -> Decimal:
    if score is None or isinstance(score, bool) or not isinstance(score, int | Decimal):
        raise ValidationError({"score": f"Enter the {what}."})
    value = Decimal(score)
    if not value.is_finite() or not low <= value <= high:
        raise ValidationError({"score": f"The {what} is from {low} to {high}."})
    return value


def score_figures(
    *,
    measure: str,
    items: Sequence[int] | None = None,
    score: Decimal | int | None = None,
    star: StarVersion | None = None,
) -> Figures:
    """The stored figures of a measure's answers, or ValidationError naming `items` or `score`
    for anything out of range or incomplete. Measures with items are scored from them alone."""
    if measure in (Measure.WEMWBS, Measure.SWEMWBS, Measure.OUTCOMES_STAR) and score is not None:
        raise ValidationError({"score": f"{MEASURE_LABELS[measure]} is scored from its items."})
    if measure in ITEM_COUNTS:
        found = _items(items, count=ITEM_COUNTS[measure], low=ITEM_LOWEST, high=ITEM_HIGHEST)
        total = sum(found)
        value = swemwbs_metric(total) if measure == Measure.SWEMWBS else Decimal(total)
        return Figures(score=value, items=found)
    if measure == Measure.OUTCOMES_STAR:
        if star is None:
            raise ValidationError({"measure": "Say which version of the Outcomes Star is used."})
        found = _items(items, count=len(star.domains), low=STAR_LOWEST, high=STAR_HIGHEST)
        return Figures(score=Decimal(sum(found)), items=found, star_version=star.code)
    if items:
        raise ValidationError({"items": f"{MEASURE_LABELS.get(measure, measure)} has one score."})
    if measure == Measure.PAM:
        value = _single(score, low=PAM_LOWEST, high=PAM_HIGHEST, what="PAM score")
        # Scores are published to one decimal place, and the level cut-points (47.1, 55.2,
        # 67.1) leave nothing between them for a second one to fall into.
        if value != value.quantize(ONE_DECIMAL):
            raise ValidationError({"score": "Give the PAM score to one decimal place, as 55.2."})
        return Figures(score=value, items=[], level=pam_level(value))
    if measure == Measure.ROCKWOOD:
        low, high = Decimal(ROCKWOOD_LOWEST), Decimal(ROCKWOOD_HIGHEST)
        value = _single(score, low=low, high=high, what="Clinical Frailty Scale")
        if value != value.to_integral_value():
            raise ValidationError({"score": "The Clinical Frailty Scale is a whole number."})
        return Figures(score=value, items=[])
    raise ValidationError({"measure": "Choose a measure VSO Care scores."})
