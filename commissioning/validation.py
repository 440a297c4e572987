"""Field-by-field checks shared by the forms and the file imports, so a bad specification gets
the same message wherever it comes from. Each returns {field: [message, ...]}; empty is good."""

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from commissioning.codes import SpecificationStatus, Urgency
from commissioning.instruments import STAR_VERSIONS, Measure
from commissioning.models import Need, OutcomeMeasure

# The specification's counts and limits: whole numbers, never below zero.
WHOLE_NUMBER_FIELDS = (
    "min_age",
    "max_age",
    "monthly_capacity",
    "max_episode_weeks",
    "response_target_hours",
    "max_interim_cover_days",
)


def known_need_codes() -> set[str]:
    return set(Need.objects.values_list("code", flat=True))


def known_outcome_codes() -> set[str]:
    return set(OutcomeMeasure.objects.values_list("code", flat=True))


def unknown_codes(values: Iterable[str], known: set[str]) -> list[str]:
    return sorted({value for value in values if value not in known})


def specification_errors(
    data: dict,
    *,
    need_codes: set[str] | None = None,
    outcome_codes: set[str] | None = None,
    star_version_required: bool = True,
) -> dict[str, list[str]]:
    """star_version_required=False lets a draft copied from a version published before
    specifications named their Outcomes Star version keep the measure; the draft's form asks
    for the version, and publishing needs it."""
    need_codes = known_need_codes() if need_codes is None else need_codes
    outcome_codes = known_outcome_codes() if outcome_codes is None else outcome_codes
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    for field in ("activities_in_remit", "activities_excluded"):
        bad = unknown_codes(data.get(field) or [], need_codes)
        if bad:
            add(field, f"Unknown activity code: {', '.join(bad)}.")
    overlap = sorted(
        set(data.get("activities_in_remit") or []) & set(data.get("activities_excluded") or [])
    )
    if overlap:
        add("activities_excluded", f"Both in remit and excluded: {', '.join(overlap)}.")
    bad = unknown_codes(data.get("outcome_measures") or [], outcome_codes)
    if bad:
        add("outcome_measures", f"Unknown outcome measure code: {', '.join(bad)}.")
    star_version = data.get("outcomes_star_version") or ""
    if star_version and (not isinstance(star_version, str) or star_version not in STAR_VERSIONS):
        add(
            "outcomes_star_version",
            f"Unknown Outcomes Star version {star_version!r}; "
            f"use one of {', '.join(STAR_VERSIONS)}.",
        )
    elif (
        star_version_required
        and not star_version
        and Measure.OUTCOMES_STAR in (data.get("outcome_measures") or [])
    ):
        # Star versions differ in their domains and so in the totals a score can reach.
        add(
            "outcomes_star_version",
            "Choose the Outcomes Star version: the outcome measures include the Outcomes Star.",
        )
    if data.get("max_urgency") not in Urgency.values:
        add(
            "max_urgency",
            f"Unknown urgency {data.get('max_urgency')!r}; use one of {', '.join(Urgency.values)}.",
        )
    if "status" in data and data["status"] not in SpecificationStatus.values:
        add(
            "status",
            f"Unknown status {data['status']!r}; "
            f"use one of {', '.join(SpecificationStatus.values)}.",
        )
    for field in WHOLE_NUMBER_FIELDS:
        value = data.get(field)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            add(field, "Must be a whole number.")
        elif value is not None and value < 0:
            add(field, "Must not be below zero.")
    min_age, max_age = data.get("min_age"), data.get("max_age")
    if isinstance(min_age, int) and isinstance(max_age, int) and max_age < min_age:
        add("max_age", f"The maximum age ({max_age}) is below the minimum age ({min_age}).")
    funding = data.get("funding_gbp")
    if funding is not None and (not isinstance(funding, Decimal) or funding < 0):
        add("funding_gbp", "Must be an amount in pounds, not below zero.")
    starts_on, ends_on = data.get("starts_on"), data.get("ends_on")
    if not isinstance(starts_on, date):
        add("starts_on", "A start date is required.")
    elif isinstance(ends_on, date) and ends_on < starts_on:
        add("ends_on", "The contract ends before it starts.")
    return errors
