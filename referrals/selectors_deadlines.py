"""The acknowledgement deadlines in force in a system: its administrator's, or the defaults."""

from core.kept import Kept
from referrals.deadlines import Deadline, default_deadlines
from referrals.models import ConcernDeadline


def _amounts(system_id: str) -> dict[str, int]:
    return dict(
        ConcernDeadline.objects.filter(system_id=int(system_id)).values_list("severity", "amount")
    )


# What a referral's page offers beside its concern form, kept in the shared cache (core.kept).
# The deadline a concern is given, and the administrator's form, read the database itself.
KEPT_AMOUNTS = Kept(key="referrals:concern-deadlines", seconds=60 * 60, load=_amounts)


def concern_deadlines_for(*, system_id: int | None, kept: bool = False) -> dict[str, Deadline]:
    """Each severity's deadline in the system, in the order of `ConcernSeverity`; `kept`, as
    kept in the cache, for a page that only shows them."""
    deadlines = default_deadlines()
    if system_id is None:
        return deadlines
    amounts = KEPT_AMOUNTS.get(str(system_id)) if kept else _amounts(str(system_id))
    for severity, amount in amounts.items():
        deadlines[severity] = Deadline(severity, amount)
    return deadlines


def connect_receivers() -> None:
    """Called once, from ReferralsConfig.ready()."""
    KEPT_AMOUNTS.drop_on_write(ConcernDeadline, part_of=lambda row: str(row.system_id))
