"""The acknowledgement deadlines in force in a system: its administrator's, or the defaults."""

from referrals.deadlines import Deadline, default_deadlines
from referrals.models import ConcernDeadline


def concern_deadlines_for(*, system_id: int | None) -> dict[str, Deadline]:
    """Each severity's deadline in the system, in the order of `ConcernSeverity`."""
    deadlines = default_deadlines()
    if system_id is None:
        return deadlines
    for severity, amount in ConcernDeadline.objects.filter(system_id=system_id).values_list(
        "severity", "amount"
    ):
        deadlines[severity] = Deadline(severity, amount)
    return deadlines
