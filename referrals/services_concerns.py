"""Concerns: raised by one organisation on a referral, addressed to another involved in it, which
must acknowledge it by a deadline set by its severity (docs/concerns.md). Every change is refused
when someone else changed the concern first."""

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import NotificationKind, User
from commissioning.models import Organisation
from core.conflicts import EditConflict
from referrals.models import (
    Concern,
    ConcernReply,
    ConcernSeverity,
    Referral,
)
from referrals.remit_cache import remit_page_changed
from referrals.selectors_concerns import (
    concern_actions_for,
    concern_addressees_for,
    concern_may_raise,
)
from referrals.selectors_deadlines import concern_deadlines_for
from referrals.services_concern_notices import concern_notify


def _when(moment: datetime | None) -> str:
    return (
        date_format(timezone.localtime(moment), "j M Y \\a\\t H:i") if moment else "an unknown time"
    )


def _name(user: User | None) -> str:
    return user.full_name if user else "someone else"


def concern_raise(
    *,
    referral: Referral,
    user: User,
    addressed_to: Organisation | None,
    severity: str,
    description: str,
    now: datetime | None = None,
) -> Concern:
    """Raise a concern on a referral, addressed to another organisation involved in it, and tell
    the organisation addressed. The acknowledgement deadline is fixed now, from the severity and
    the system's deadlines (referrals/deadlines.py), and never moves afterwards."""
    now = now or timezone.now()
    if user.organisation is None:
        raise ValidationError("Only someone who works for an organisation can raise a concern.")
    if not concern_may_raise(user, referral):
        raise PermissionDenied
    errors: dict[str, list[str]] = {}
    if severity not in ConcernSeverity.values:
        errors["severity"] = ["Choose how serious the concern is."]
    if not description.strip():
        errors["description"] = ["Say what the concern is; the organisation addressed reads it."]
    allowed = {
        organisation.pk
        for organisation, _ in concern_addressees_for(
            referral=referral, organisation=user.organisation
        )
    }
    if addressed_to is None or addressed_to.pk not in allowed:
        errors["addressed_to"] = [
            "Address the concern to another organisation involved in this referral."
        ]
    if now > timezone.now() or now < referral.referred_at:
        errors["raised_at"] = ["A concern is raised between the referral and now."]
    if errors or addressed_to is None:
        raise ValidationError(errors)
    deadline = concern_deadlines_for(system_id=referral.organisation.system_id)[severity]
    with transaction.atomic():
        concern = Concern.objects.create(
            referral=referral,
            raised_by=user,
            raised_by_organisation=user.organisation,
            addressed_to=addressed_to,
            severity=severity,
            description=description.strip(),
            raised_at=now,
            acknowledge_by=deadline.due(now),
            created_by=user,
            updated_by=user,
        )
        concern_notify(
            concern=concern,
            recipients=addressed_to.users.filter(is_active=True),
            kind=NotificationKind.CONCERN_RAISED,
            event="raised",
            title=(
                f"{concern.get_severity_display()} concern on {referral.reference} from "
                f"{user.organisation.name}: acknowledge by {_when(concern.acknowledge_by)}"
            ),
        )
    return concern


def _concern_refused(concern: Concern, expected_version: int, doing: str) -> EditConflict:
    """Why a conditional update on a concern changed nothing, in words for the person."""
    current = Concern.objects.select_related(
        "updated_by", "acknowledged_by", "resolved_by", "referral"
    ).get(pk=concern.pk)
    if current.version != expected_version:
        who = _name(current.updated_by)
        if current.resolved_at:
            now_is = f"resolved by {_name(current.resolved_by)}"
        elif current.acknowledged_at:
            now_is = f"acknowledged by {_name(current.acknowledged_by)}"
        else:
            now_is = "still open"
        return EditConflict(
            f"The concern on {current.referral.reference} was changed by {who} on "
            f"{_when(current.updated_at)} while you had it open; it is now {now_is}. Nothing "
            f"you did was saved: look again before you {doing} it."
        )
    if current.resolved_at:
        return EditConflict(
            f"The concern on {current.referral.reference} was already resolved by "
            f"{_name(current.resolved_by)} on {_when(current.resolved_at)}."
        )
    return EditConflict(
        f"The concern on {current.referral.reference} was already acknowledged by "
        f"{_name(current.acknowledged_by)} on {_when(current.acknowledged_at)}."
    )


def _checked_now(concern: Concern, now: datetime | None) -> datetime:
    now = now or timezone.now()
    if now > timezone.now() or now < concern.raised_at:
        raise ValidationError({"now": "This can only be done between the concern and now."})
    return now


def concern_acknowledge(
    *, concern: Concern, user: User, expected_version: int, now: datetime | None = None
) -> Concern:
    if "acknowledge" not in concern_actions_for(user, concern):
        raise PermissionDenied
    now = _checked_now(concern, now)
    # One conditional UPDATE, as for a referral: it succeeds only if nobody has changed the
    # concern since this person loaded it and it is still unacknowledged.
    with transaction.atomic():
        updated = _acknowledge(concern, user, expected_version, now)
        if not updated:
            raise _concern_refused(concern, expected_version, "acknowledge")
        acknowledged = Concern.objects.select_related("referral", "raised_by").get(pk=concern.pk)
        remit_page_changed(organisation_ids=[acknowledged.referral.organisation_id])
        _tell_the_raiser(
            acknowledged,
            user,
            kind=NotificationKind.CONCERN_ACKNOWLEDGED,
            event="acknowledged",
            title=(
                f"Your concern on {acknowledged.referral.reference} was acknowledged by "
                f"{user.full_name}"
            ),
        )
    return acknowledged


def _acknowledge(concern: Concern, user: User, expected_version: int, now: datetime) -> int:
    return Concern.objects.filter(
        pk=concern.pk,
        version=expected_version,
        acknowledged_at__isnull=True,
        resolved_at__isnull=True,
    ).update(
        acknowledged_at=now,
        acknowledged_by=user,
        version=F("version") + 1,
        updated_at=timezone.now(),
        updated_by=user,
    )


def _tell_the_raiser(concern: Concern, user: User, *, kind: str, event: str, title: str) -> None:
    """The raiser hears what became of their concern, unless they did it themselves."""
    if concern.raised_by_id != user.pk and concern.raised_by.is_active:
        concern_notify(
            concern=concern, recipients=[concern.raised_by], kind=kind, event=event, title=title
        )


def concern_resolve(
    *,
    concern: Concern,
    user: User,
    expected_version: int,
    resolution: str,
    now: datetime | None = None,
) -> Concern:
    """Resolve a concern with a written resolution. One never acknowledged is acknowledged by
    the same person at the same moment: resolving answers it, and the remit-breaches report
    still counts it as late if that moment is past the deadline."""
    if "resolve" not in concern_actions_for(user, concern):
        raise PermissionDenied
    if not resolution.strip():
        raise ValidationError({"resolution": "Write how the concern was resolved."})
    now = _checked_now(concern, now)
    with transaction.atomic():
        updated = _resolve(concern, user, expected_version, resolution, now)
        if not updated:
            raise _concern_refused(concern, expected_version, "resolve")
        resolved = Concern.objects.select_related("referral", "raised_by").get(pk=concern.pk)
        remit_page_changed(organisation_ids=[resolved.referral.organisation_id])
        _tell_the_raiser(
            resolved,
            user,
            kind=NotificationKind.CONCERN_RESOLVED,
            event="resolved",
            title=f"Your concern on {resolved.referral.reference} was resolved by {user.full_name}",
        )
    return resolved


def _resolve(
    concern: Concern, user: User, expected_version: int, resolution: str, now: datetime
) -> int:
    return Concern.objects.filter(
        pk=concern.pk, version=expected_version, resolved_at__isnull=True
    ).update(
        resolved_at=now,
        resolved_by=user,
        resolution=resolution.strip(),
        acknowledged_at=Coalesce(F("acknowledged_at"), Value(now)),
        acknowledged_by_id=Coalesce(F("acknowledged_by_id"), Value(user.pk)),
        version=F("version") + 1,
        updated_at=timezone.now(),
        updated_by=user,
    )


REPLY_LENGTH = 2000


def concern_reply(
    *, concern: Concern, user: User, text: str, now: datetime | None = None
) -> ConcernReply:
    """Write to the other side of an open concern: the organisation it is addressed to and the
    one that raised it. The other side is told (the raiser, or the addressed organisation's
    people); the concern itself is not changed, so a reply never collides with an edit."""
    if "reply" not in concern_actions_for(user, concern) or user.organisation_id is None:
        raise PermissionDenied
    text = text.strip()
    if not text:
        raise ValidationError({"text": "Write the reply."})
    if len(text) > REPLY_LENGTH:
        raise ValidationError({"text": f"Keep the reply to {REPLY_LENGTH} characters."})
    if concern.resolved_at is not None:
        raise ValidationError({"text": "The concern is resolved: raise a new one if need be."})
    with transaction.atomic():
        reply = ConcernReply.objects.create(
            concern=concern,
            author=user,
            author_organisation_id=user.organisation_id,
            text=text,
            written_at=now or timezone.now(),
        )
        from_raiser = user.organisation_id == concern.raised_by_organisation_id
        replier = concern.raised_by_organisation if from_raiser else concern.addressed_to
        recipients = (
            concern.addressed_to.users.filter(is_active=True)
            if from_raiser
            else User.objects.filter(pk=concern.raised_by_id, is_active=True)
        )
        concern_notify(
            concern=concern,
            recipients=[person for person in recipients if person.pk != user.pk],
            kind=NotificationKind.CONCERN_REPLIED,
            event=f"reply:{reply.pk}",
            title=f"A reply on the concern on {concern.referral.reference} from {replier.name}",
        )
    return reply
