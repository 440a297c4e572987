"""An administrator changes the acknowledgement deadlines of their own system's concerns."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import Role, User
from accounts.selectors import system_id_of
from commissioning.models import System
from core.conflicts import EditConflict
from referrals.deadlines import MAXIMUM, UNIT, Deadline
from referrals.models import ConcernDeadline
from referrals.selectors_deadlines import concern_deadlines_for


def concern_deadlines_set(
    *, user: User, amounts: dict[str, int], expected: dict[str, int]
) -> dict[str, Deadline]:
    """Set the deadline of each severity named in `amounts`, in the administrator's own system.
    `expected` holds the amounts the person saw; if anyone changed one since, nothing is saved.
    Concerns already raised keep their deadline: it was stored on them when raised."""
    system_id = system_id_of(user)
    if not user.has_role(Role.ADMINISTRATOR) or system_id is None:
        raise PermissionDenied
    errors: dict[str, list[str]] = {}
    for severity, amount in amounts.items():
        if severity not in UNIT:
            errors["__all__"] = [f"There is no severity {severity!r}."]
            continue
        most = MAXIMUM[UNIT[severity]]
        if not 1 <= amount <= most:
            errors[severity] = [f"Give a whole number of {UNIT[severity].label} from 1 to {most}."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        # One administrator at a time per system: the rows may not exist yet, so the system's
        # row is the lock.
        System.objects.select_for_update().get(pk=system_id)
        current = concern_deadlines_for(system_id=system_id)
        changed = [s for s in amounts if current[s].amount != expected.get(s, current[s].amount)]
        if changed:
            raise _changed_first(system_id, changed)
        for severity, amount in amounts.items():
            if amount == current[severity].amount:
                continue
            ConcernDeadline.objects.update_or_create(
                system_id=system_id,
                severity=severity,
                defaults={"amount": amount, "updated_by": user},
                create_defaults={"amount": amount, "created_by": user, "updated_by": user},
            )
    return concern_deadlines_for(system_id=system_id)


def _changed_first(system_id: int, severities: list[str]) -> EditConflict:
    row = (
        ConcernDeadline.objects.filter(system_id=system_id, severity__in=severities)
        .select_related("updated_by")
        .order_by("-updated_at")
        .first()
    )
    who = row.updated_by.full_name if row and row.updated_by else "someone else"
    when = (
        date_format(timezone.localtime(row.updated_at), "j M Y \\a\\t H:i")
        if row
        else "an unknown time"
    )
    return EditConflict(
        f"The deadlines were changed by {who} on {when} while you had them open. Nothing you "
        "did was saved: look at them again before you change them."
    )
