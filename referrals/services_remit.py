"""A VSO lead's "at the limit of our remit" marks, each quoting a clause of the specification in
force for the referral: the words a VSO reads out to the referrer (docs/remit-page.md)."""

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from commissioning.models import Sector, ServiceSpecification
from commissioning.remit import CLAUSE_HEADINGS, RemitClause
from commissioning.selectors import need_labels
from referrals import notices
from referrals.models import (
    Referral,
    RemitLimitMark,
)
from referrals.selectors import (
    remit_mark_editable_by,
    remit_specification_for,
)


def _counted(number: int, word: str) -> str:
    return f"{number} {word}" if number == 1 else f"{number} {word}s"


def _ages(spec: ServiceSpecification) -> str:
    if spec.min_age is not None and spec.max_age is not None:
        return f"aged {spec.min_age} to {spec.max_age}"
    if spec.min_age is not None:
        return f"aged {spec.min_age} or over"
    if spec.max_age is not None:
        return f"aged up to {spec.max_age}"
    return ""


def _clause_words(spec: ServiceSpecification, clause: str, labels: dict[str, str]) -> str:
    """What the specification says under this clause, or "" when it sets nothing there."""
    if clause == RemitClause.ELIGIBILITY:
        parts = [
            spec.eligibility.strip().rstrip(".").strip(),
            "only people not eligible for social care" if spec.not_eligible_for_social_care else "",
            _ages(spec),
        ]
        return "; ".join(part for part in parts if part)
    if clause == RemitClause.EXCLUDED_ACTIVITY:
        return ", ".join(labels.get(code, code) for code in spec.activities_excluded)
    if clause == RemitClause.URGENCY:
        return spec.get_max_urgency_display()
    if clause == RemitClause.CAPACITY:
        # Blank is "no set limit"; a capacity of 0 is a limit, and a sharp one.
        if spec.monthly_capacity is None:
            return ""
        return _counted(spec.monthly_capacity, "referral")
    if clause == RemitClause.EPISODE_LENGTH:
        return _counted(spec.max_episode_weeks, "week") if spec.max_episode_weeks else ""
    if clause == RemitClause.INTERIM_COVER:
        return _counted(spec.max_interim_cover_days, "day") if spec.max_interim_cover_days else ""
    return ""


def remit_clause_text(*, specification: ServiceSpecification, clause: str) -> str:
    """The clause as a person reads it: "Highest urgency accepted: Urgent"."""
    if clause not in RemitClause.values:
        raise ValidationError({"clause": "Choose a clause of the specification."})
    words = _clause_words(specification, clause, need_labels())
    if not words:
        raise ValidationError(
            {
                "clause": (
                    f"Version {specification.version} of the specification sets nothing under "
                    f"{CLAUSE_HEADINGS[clause].lower()}: choose a clause it does set."
                )
            }
        )
    return f"{CLAUSE_HEADINGS[clause]}: {words}"


def remit_clauses_for(*, specification: ServiceSpecification) -> list[tuple[str, str]]:
    """(clause, quoted words) for each clause the specification sets, in a fixed order."""
    labels = need_labels()
    clauses = []
    for clause in RemitClause.values:
        words = _clause_words(specification, clause, labels)
        if words:
            clauses.append((clause, f"{CLAUSE_HEADINGS[clause]}: {words}"))
    return clauses


def _already_marked(referral: Referral, mark: RemitLimitMark) -> ValidationError:
    return ValidationError(
        {
            "referral": (
                f"{referral.reference} is already marked at the limit of remit, by "
                f"{mark.marked_by.full_name} on {timezone.localtime(mark.marked_at):%-d %B %Y}. "
                "Take that mark back first if another clause fits better."
            )
        }
    )


@transaction.atomic
def remit_mark_create(
    *, referral: Referral, user: User, clause: str, note: str = "", now: datetime | None = None
) -> RemitLimitMark:
    """Mark a referral "at the limit of our remit", quoting a clause of the specification in
    force on the referral's day. The words are copied, so a later version never changes them."""
    if not remit_mark_editable_by(user, referral):
        raise PermissionDenied
    if referral.destination_sector != Sector.VOLUNTARY or referral.service is None:
        raise ValidationError(
            {"referral": f"{referral.reference} is not a referral to a voluntary service."}
        )
    specification = remit_specification_for(referral)
    if specification is None:
        raise ValidationError(
            {
                "referral": (
                    f"No specification of {referral.service.name} was in force when "
                    f"{referral.reference} was made, so there is no clause to quote."
                )
            }
        )
    existing = RemitLimitMark.objects.filter(referral=referral).select_related("marked_by").first()
    if existing is not None:
        raise _already_marked(referral, existing)
    clause_text = remit_clause_text(specification=specification, clause=clause)
    try:
        with transaction.atomic():
            mark = RemitLimitMark.objects.create(
                referral=referral,
                specification=specification,
                clause=clause,
                clause_text=clause_text,
                note=note.strip(),
                marked_by=user,
                marked_at=now or timezone.now(),
                created_by=user,
                updated_by=user,
            )
    except IntegrityError:
        # Someone marked it between our check and our insert: one mark per referral.
        existing = RemitLimitMark.objects.select_related("marked_by").get(referral=referral)
        raise _already_marked(referral, existing) from None
    notices.notice_at_remit_limit(referral=referral, by=user, mark_id=mark.pk)
    return mark


@transaction.atomic
def remit_mark_withdraw(*, mark: RemitLimitMark, user: User) -> None:
    """Take a mark back. The row goes; its history (with who took it back) stays."""
    if not remit_mark_editable_by(user, mark.referral):
        raise PermissionDenied
    # Stamped first, so that the history's delete event names who took the mark back.
    marks = RemitLimitMark.objects.filter(pk=mark.pk)
    marks.update(updated_by=user, updated_at=timezone.now())
    deleted, _ = marks.delete()
    if not deleted:
        raise ValidationError(
            {"mark": f"The mark on {mark.referral.reference} was already taken back."}
        )
