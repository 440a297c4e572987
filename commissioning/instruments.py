"""The outcome instruments a specification may require, and their exact scoring rules.

Named once here: the episode forms, the services that save scores, the database's check
constraints and the outcomes report all read these ranges. PAM and the Outcomes Star are licensed
instruments: VSO Care records the scores a worker took from the licensed tool and never holds
their questions. WEMWBS and SWEMWBS are free to use once registered; their items are kept as
numbers only, in the order the scale prints them.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import models


class Measure(models.TextChoices):
    """The measures with a score; `goals` (set and met) is recorded as goals, not as a score."""

    WEMWBS = "wemwbs", "WEMWBS"
    SWEMWBS = "swemwbs", "SWEMWBS"
    PAM = "pam", "PAM"
    OUTCOMES_STAR = "outcomes_star", "Outcomes Star"
    ROCKWOOD = "rockwood", "Rockwood Clinical Frailty Scale"


# Where the measures are reported, in this order; the keys of the outcomes report's `measures`.
REPORTED_MEASURES = (
    Measure.WEMWBS,
    Measure.SWEMWBS,
    Measure.PAM,
    Measure.OUTCOMES_STAR,
    Measure.ROCKWOOD,
)

WEMWBS_ITEMS = 14
SWEMWBS_ITEMS = 7
ITEM_LOWEST, ITEM_HIGHEST = 1, 5
PAM_LOWEST, PAM_HIGHEST = Decimal("0"), Decimal("100")
STAR_LOWEST, STAR_HIGHEST = 1, 10
ROCKWOOD_LOWEST, ROCKWOOD_HIGHEST = 1, 9

# SWEMWBS raw total (7-35) to its metric score, from the published conversion table (Stewart-Brown
# et al. 2009, Rasch analysis of the seven items). Reports use the metric score, which is interval
# scaled; the raw total is not.
SWEMWBS_METRIC: dict[int, Decimal] = {
    raw: Decimal(metric)
    for raw, metric in {
        7: "7.00", 8: "9.51", 9: "11.25", 10: "12.40", 11: "13.33", 12: "14.08", 13: "14.75",
        14: "15.32", 15: "15.84", 16: "16.36", 17: "16.88", 18: "17.43", 19: "17.98",
        20: "18.59", 21: "19.25", 22: "19.98", 23: "20.73", 24: "21.54", 25: "22.35",
        26: "23.21", 27: "24.11", 28: "25.03", 29: "26.02", 30: "27.03", 31: "28.13",
        32: "29.31", 33: "30.70", 34: "32.55", 35: "35.00",
    }.items()
}  # fmt: skip

# PAM activation levels from the score, by the published cut-points: level 1 up to 47.0, level 2
# from 47.1 to 55.1, level 3 from 55.2 to 67.0, level 4 from 67.1.
PAM_LEVEL_FLOORS = ((Decimal("67.1"), 4), (Decimal("55.2"), 3), (Decimal("47.1"), 2))


@dataclass(frozen=True)
class StarVersion:
    code: str
    name: str
    domains: tuple[str, ...]

    @property
    def lowest(self) -> int:
        return STAR_LOWEST * len(self.domains)

    @property
    def highest(self) -> int:
        return STAR_HIGHEST * len(self.domains)


# The versions of the Outcomes Star a specification can name. Only each version's domain names
# are held (as its published charts label them), never the licensed scales' wording. The Torbay
# evaluation used a seven-domain motivational chart whose domains the paper does not name: it is
# offered with numbered domains, which is all a report needs.
STAR_VERSIONS: dict[str, StarVersion] = {
    version.code: version
    for version in (
        StarVersion(
            "wellbeing",
            "Well-being Star (8 areas)",
            (
                "Lifestyle",
                "Looking after yourself",
                "Managing symptoms",
                "Work, volunteering and other activities",
                "Money",
                "Where you live",
                "Family and friends",
                "Feeling positive",
            ),
        ),
        StarVersion(
            "older_persons",
            "Older Person's Star (8 areas)",
            (
                "Staying as well as you can",
                "Keeping in touch",
                "Feeling positive",
                "Being treated with dignity",
                "Looking after yourself",
                "Staying safe",
                "Managing money",
                "Your place to live",
            ),
        ),
        StarVersion(
            "motivational_7",
            "Motivational chart, 7 domains (as used in Torbay)",
            tuple(f"Domain {number}" for number in range(1, 8)),
        ),
    )
}
STAR_VERSION_CHOICES = [(version.code, version.name) for version in STAR_VERSIONS.values()]


def pam_level(score: Decimal) -> int:
    for floor, level in PAM_LEVEL_FLOORS:
        if score >= floor:
            return level
    return 1


def swemwbs_metric(raw_total: int) -> Decimal:
    return SWEMWBS_METRIC[raw_total]


def items_problem(items: list[int] | tuple[int, ...], *, count: int, low: int, high: int) -> str:
    """What is wrong with a set of item scores, in words for the field, or '' if nothing."""
    if len(items) != count:
        return f"Enter all {count} scores; {len(items)} entered."
    for number, item in enumerate(items, start=1):
        if not low <= item <= high:
            return f"Score {number} is {item}; each score is from {low} to {high}."
    return ""
