"""A concern's acknowledgement deadline: the rule, named once (docs/concerns.md#deadlines).

Low and moderate concerns count working days in UK time, skipping weekends and English bank
holidays (`core.dates.add_working_days`); high and critical count clock hours. Each system's
administrator may change the amounts (`ConcernDeadline`); a severity with no row has the default
below. The deadline is worked out when the concern is raised and stored on it, so a changed
amount applies only to concerns raised afterwards.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from core.dates import add_working_days
from referrals.models import ConcernSeverity, DeadlineUnit

UNIT: dict[str, DeadlineUnit] = {
    ConcernSeverity.LOW: DeadlineUnit.WORKING_DAYS,
    ConcernSeverity.MODERATE: DeadlineUnit.WORKING_DAYS,
    ConcernSeverity.HIGH: DeadlineUnit.HOURS,
    ConcernSeverity.CRITICAL: DeadlineUnit.HOURS,
}

DEFAULT_AMOUNT: dict[str, int] = {
    ConcernSeverity.LOW: 5,
    ConcernSeverity.MODERATE: 2,
    ConcernSeverity.HIGH: 24,
    ConcernSeverity.CRITICAL: 4,
}

# The longest an administrator may allow: four working weeks, or a week of clock hours. A
# deadline beyond these would no longer be a safety net.
MAXIMUM: dict[DeadlineUnit, int] = {DeadlineUnit.WORKING_DAYS: 20, DeadlineUnit.HOURS: 168}


@dataclass(frozen=True)
class Deadline:
    severity: str
    amount: int

    @property
    def unit(self) -> DeadlineUnit:
        return UNIT[self.severity]

    @property
    def is_default(self) -> bool:
        return self.amount == DEFAULT_AMOUNT[self.severity]

    def __str__(self) -> str:
        if self.unit == DeadlineUnit.WORKING_DAYS:
            return f"{self.amount} working day{'s' if self.amount != 1 else ''}"
        return f"{self.amount} hour{'s' if self.amount != 1 else ''}"

    def due(self, raised_at: datetime) -> datetime:
        if self.unit == DeadlineUnit.WORKING_DAYS:
            return add_working_days(raised_at, self.amount)
        return raised_at + timedelta(hours=self.amount)


def default_deadlines() -> dict[str, Deadline]:
    return {severity: Deadline(severity, DEFAULT_AMOUNT[severity]) for severity in UNIT}
