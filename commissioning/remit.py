"""The remit rules and the clauses of a specification they quote, named once.

docs/domain.md explains each rule and why it exists. Three places judge them: the remit check
shown while a referral is made (commissioning.selectors.service_remit_check), the nightly
remit-breaches report (referrals.reports.breaches) and the VSO lead's remit page. The check
judges one referral before it exists, so some rules are its alone (the patient's age, an activity
that is not commissioned); the report judges what happened afterwards, so some are the report's
alone (an episode that ran too long, a concern not acknowledged).
"""

from dataclasses import KW_ONLY, dataclass

from django.db import models


class RemitClause(models.TextChoices):
    """The parts of a specification a VSO can point at when a referral takes it to its limit."""

    ELIGIBILITY = "eligibility", "Eligibility"
    EXCLUDED_ACTIVITY = "excluded_activity", "Activities excluded"
    URGENCY = "urgency", "Highest urgency accepted"
    CAPACITY = "capacity", "Monthly capacity"
    EPISODE_LENGTH = "episode_length", "Longest episode"
    INTERIM_COVER = "interim_cover", "Longest interim cover"


# How a clause is headed when quoted: the words a VSO lead reads out to the referrer. Only
# interim cover needs more words than its label.
CLAUSE_HEADINGS = {
    **dict(RemitClause.choices),
    RemitClause.INTERIM_COVER: "Longest interim cover for a waiting statutory referral",
}


@dataclass(frozen=True)
class RemitRule:
    code: str
    # As a sentence: "Urgency above the highest accepted".
    name: str
    # Short enough for a table column.
    heading: str
    _: KW_ONLY
    checked_at_intake: bool
    # A column of the nightly remit-breaches report.
    reported: bool


URGENCY = RemitRule(
    "urgency",
    "Urgency above the highest accepted",
    "Urgency",
    checked_at_intake=True,
    reported=True,
)
EXCLUDED_ACTIVITY = RemitRule(
    "excluded_activity",
    "Excluded activity",
    "Excluded activity",
    checked_at_intake=True,
    reported=True,
)
ACTIVITY_NOT_IN_REMIT = RemitRule(
    "activity_not_in_remit",
    "Activity not among those commissioned",
    "Not in remit",
    checked_at_intake=True,
    reported=False,
)
CAPACITY = RemitRule(
    "capacity",
    "Beyond monthly capacity",
    "Capacity",
    checked_at_intake=True,
    reported=True,
)
AGE = RemitRule(
    "age",
    "Outside the ages served",
    "Age",
    checked_at_intake=True,
    reported=False,
)
EPISODE_LENGTH = RemitRule(
    "episode_length",
    "Episode longer than allowed",
    "Episode length",
    checked_at_intake=False,
    reported=True,
)
INTERIM_COVER = RemitRule(
    "interim_cover",
    "Interim cover for too long",
    "Interim cover",
    checked_at_intake=False,
    reported=True,
)
CONCERN_UNACKNOWLEDGED = RemitRule(
    "concern_unacknowledged",
    "Concern not acknowledged in time",
    "Concern not acknowledged",
    checked_at_intake=False,
    reported=True,
)
# Not rules of a specification, but reasons the remit check gives before any rule applies.
SERVICE_STATUS = RemitRule(
    "service_status",
    "Service not active",
    "Service status",
    checked_at_intake=True,
    reported=False,
)
NOT_COMMISSIONED = RemitRule(
    "not_commissioned",
    "No specification in force",
    "Not commissioned",
    checked_at_intake=True,
    reported=False,
)

RULES = (
    SERVICE_STATUS,
    NOT_COMMISSIONED,
    URGENCY,
    EXCLUDED_ACTIVITY,
    ACTIVITY_NOT_IN_REMIT,
    CAPACITY,
    AGE,
    EPISODE_LENGTH,
    INTERIM_COVER,
    CONCERN_UNACKNOWLEDGED,
)
BY_CODE = {rule.code: rule for rule in RULES}
# The remit-breaches report's rules, in the order it lists them: one column each.
REPORTED = tuple(rule for rule in RULES if rule.reported)
REPORTED_CODES = tuple(rule.code for rule in REPORTED)

# Beside the breaches, the report lists the referrals a VSO marked "at the limit of our remit":
# the VSO's own evidence, not a rule, so never counted as a breach.
MARKED_AT_LIMIT = "marked_at_limit"
MARKED_AT_LIMIT_NAME = "Marked at the limit of remit"
MARKED_AT_LIMIT_HEADING = "Marked at the limit"


RULE_NAMES = {**{rule.code: rule.name for rule in RULES}, MARKED_AT_LIMIT: MARKED_AT_LIMIT_NAME}


def rule_name(code: str) -> str:
    """A rule's name in words, or that of the "marked at the limit" pseudo-rule."""
    return RULE_NAMES.get(code, MARKED_AT_LIMIT_NAME)
