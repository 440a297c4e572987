"""Referral intake and lifecycle. Every change goes through here so that each is validated,
timestamped, attributed, and refused when someone else changed the referral first."""

from dataclasses import asdict
from datetime import date, datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.formats import date_format

from commissioning.models import Organisation, Place, Sector, Service, ServiceSpecification
from commissioning.remit import CLAUSE_HEADINGS, RemitClause
from commissioning.selectors import need_labels, service_remit_check
from commissioning.validation import known_need_codes, unknown_codes
from referrals.models import (
    ACKNOWLEDGE_WITHIN,
    OPEN_STATUSES,
    Concern,
    ConcernSeverity,
    Patient,
    Referral,
    ReferralStatus,
    RemitLimitMark,
)
from referrals.selectors import (
    concern_addressees_for,
    remit_mark_editable_by,
    remit_specification_for,
)

S = ReferralStatus

# action -> (statuses it may start from, status it ends in)
TRANSITIONS = {
    "accept": ((S.RECEIVED,), S.ACCEPTED),
    "decline": ((S.RECEIVED,), S.DECLINED),
    "record_contact": ((S.ACCEPTED,), S.IN_PROGRESS),
    "close": ((S.ACCEPTED, S.IN_PROGRESS), S.CLOSED),
    "withdraw": (OPEN_STATUSES, S.WITHDRAWN),
}


class ReferralConflict(Exception):
    """The referral is not as the person last saw it: changed by someone else, or moved on."""


def age_on(date_of_birth: date, on: date) -> int:
    return (
        on.year
        - date_of_birth.year
        - ((on.month, on.day) < (date_of_birth.month, date_of_birth.day))
    )


def _intake_errors(
    *,
    patient: Patient,
    destination_sector: str,
    organisation: Organisation,
    service: Service | None,
    needs: list[str],
    activities: list[str],
    referred_at: datetime,
    statutory_declined_by: Organisation | None,
    statutory_decline_reason: str,
    interim_cover_for: Referral | None,
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if organisation.sector != destination_sector:
        add("organisation", f"{organisation.name} is not in the {destination_sector} sector.")
    if destination_sector == Sector.VOLUNTARY and service is None:
        add("service", "Choose the voluntary service from the directory.")
    if service is not None and service.organisation_id != organisation.pk:
        add("service", f"{service.name} is not a service of {organisation.name}.")
    codes = known_need_codes()
    for field, values in (("needs", needs), ("activities", activities)):
        bad = unknown_codes(values, codes)
        if bad:
            add(field, f"Unknown code: {', '.join(bad)}.")
    if not needs:
        add("needs", "Say what the patient needs.")
    if referred_at > timezone.now():
        add("referred_at", "A referral cannot be dated in the future.")
    if timezone.localtime(referred_at).date() < patient.date_of_birth:
        add("referred_at", "The referral date is before the patient's date of birth.")
    if statutory_declined_by is not None:
        if statutory_declined_by.is_voluntary:
            add("statutory_declined_by", "Name the health or social care service that declined.")
        if not statutory_decline_reason.strip():
            add(
                "statutory_decline_reason", "Say why the statutory service declined or disputed it."
            )
    if interim_cover_for is not None:
        if destination_sector != Sector.VOLUNTARY:
            add("interim_cover_for", "Only a voluntary referral can cover for a statutory one.")
        if interim_cover_for.patient_id != patient.pk:
            add("interim_cover_for", f"{interim_cover_for.reference} is for another patient.")
        if interim_cover_for.destination_sector == Sector.VOLUNTARY:
            add("interim_cover_for", f"{interim_cover_for.reference} is not a statutory referral.")
        if not interim_cover_for.is_open:
            add("interim_cover_for", f"{interim_cover_for.reference} is no longer waiting.")
    return errors


@transaction.atomic
def referral_create(
    *,
    patient: Patient,
    referrer,
    source: str,
    destination_sector: str,
    organisation: Organisation,
    service: Service | None,
    needs: list[str],
    activities: list[str],
    urgency: str,
    reason: str = "",
    place: Place | None = None,
    referred_at: datetime | None = None,
    statutory_declined_by: Organisation | None = None,
    statutory_decline_reason: str = "",
    interim_cover_for: Referral | None = None,
    override_reason: str = "",
) -> Referral:
    """Log a referral. One to a voluntary service outside its remit is only sent with a written
    override reason, kept with the reasons the remit check gave at the time."""
    referred_at = referred_at or timezone.now()
    errors = _intake_errors(
        patient=patient,
        destination_sector=destination_sector,
        organisation=organisation,
        service=service,
        needs=needs,
        activities=activities,
        referred_at=referred_at,
        statutory_declined_by=statutory_declined_by,
        statutory_decline_reason=statutory_decline_reason,
        interim_cover_for=interim_cover_for,
    )
    if errors:
        raise ValidationError(errors)

    remit_reasons = []
    if service is not None and destination_sector == Sector.VOLUNTARY:
        referral_day = timezone.localtime(referred_at).date()
        check = service_remit_check(
            service=service,
            urgency=urgency,
            activities=activities or needs,
            patient_age=age_on(patient.date_of_birth, referral_day),
            on_date=referral_day,
        )
        remit_reasons = [asdict(reason) for reason in check.reasons]
        if remit_reasons and not override_reason.strip():
            raise ValidationError(
                {
                    "override_reason": (
                        "This referral is outside the service's remit. Say why it must go "
                        "anyway, or change it."
                    )
                }
            )

    return Referral.objects.create(
        patient=patient,
        referrer=referrer,
        referrer_organisation=referrer.organisation,
        place=place or organisation.place or referrer.organisation.place,
        source=source,
        destination_sector=destination_sector,
        organisation=organisation,
        service=service,
        needs=needs,
        activities=activities,
        urgency=urgency,
        reason=reason,
        referred_at=referred_at,
        statutory_declined_by=statutory_declined_by,
        statutory_decline_reason=statutory_decline_reason.strip(),
        interim_cover_for=interim_cover_for,
        out_of_remit=bool(remit_reasons),
        remit_reasons=remit_reasons,
        override_reason=override_reason.strip() if remit_reasons else "",
        created_by=referrer,
        updated_by=referrer,
    )


def _transition(
    *, referral: Referral, user, action: str, expected_version: int, changes: dict
) -> Referral:
    from_statuses, to_status = TRANSITIONS[action]
    # One conditional UPDATE: it succeeds only if nobody has changed the referral since this
    # person loaded it and the move is allowed from where it stands now.
    updated = Referral.objects.filter(
        pk=referral.pk, version=expected_version, status__in=from_statuses
    ).update(
        status=to_status,
        version=F("version") + 1,
        updated_at=timezone.now(),
        updated_by=user,
        **changes,
    )
    current = Referral.objects.select_related("updated_by").get(pk=referral.pk)
    if updated:
        return current
    if current.version != expected_version:
        who = current.updated_by.full_name if current.updated_by else "someone else"
        raise ReferralConflict(
            f"{current.reference} was changed by {who} at "
            f"{timezone.localtime(current.updated_at):%H:%M} while you had it open; it is now "
            f"{current.get_status_display().lower()}. Nothing you did was saved: look again."
        )
    raise ReferralConflict(
        f"{current.reference} is {current.get_status_display().lower()}, so it cannot be "
        f"{to_status.label.lower()} now."
    )


def referral_accept(*, referral: Referral, user, expected_version: int) -> Referral:
    now = timezone.now()
    return _transition(
        referral=referral,
        user=user,
        action="accept",
        expected_version=expected_version,
        changes={"decided_at": now, "decided_by": user},
    )


def referral_decline(*, referral: Referral, user, expected_version: int, reason: str) -> Referral:
    if not reason.strip():
        raise ValidationError({"reason": "Say why the referral is declined; the referrer sees it."})
    return _transition(
        referral=referral,
        user=user,
        action="decline",
        expected_version=expected_version,
        changes={
            "decided_at": timezone.now(),
            "decided_by": user,
            "decline_reason": reason.strip(),
        },
    )


def referral_record_contact(
    *, referral: Referral, user, expected_version: int, contacted_at: datetime | None = None
) -> Referral:
    contacted_at = contacted_at or timezone.now()
    if contacted_at < referral.referred_at or contacted_at > timezone.now():
        raise ValidationError(
            {"contacted_at": "First contact must be between the referral and now."}
        )
    return _transition(
        referral=referral,
        user=user,
        action="record_contact",
        expected_version=expected_version,
        changes={"first_contact_at": contacted_at, "first_contact_by": user},
    )


def referral_close(*, referral: Referral, user, expected_version: int, outcome: str) -> Referral:
    if not outcome.strip():
        raise ValidationError({"outcome": "Record the outcome before closing the referral."})
    return _transition(
        referral=referral,
        user=user,
        action="close",
        expected_version=expected_version,
        changes={"closed_at": timezone.now(), "closed_by": user, "outcome": outcome.strip()},
    )


def referral_withdraw(*, referral: Referral, user, expected_version: int, reason: str) -> Referral:
    if not reason.strip():
        raise ValidationError({"reason": "Say why the referral is withdrawn."})
    return _transition(
        referral=referral,
        user=user,
        action="withdraw",
        expected_version=expected_version,
        changes={
            "withdrawn_at": timezone.now(),
            "withdrawn_by": user,
            "withdrawal_reason": reason.strip(),
        },
    )


def patient_get_or_register(
    *,
    nhs_number: str,
    user,
    given_name: str = "",
    family_name: str = "",
    date_of_birth: date | None = None,
    postcode: str = "",
    lives_alone: bool = False,
    is_carer: bool = False,
    is_cared_for: bool = False,
    consent_to_share: bool = False,
) -> tuple[Patient, bool]:
    """The patient with this NHS number, registering them if VSO Care has never seen them.

    An existing patient's details are never overwritten from a referral form: a typo in one
    referral must not rename someone in every other.
    """
    existing = Patient.objects.filter(nhs_number=nhs_number).first()
    if existing:
        return existing, False
    patient = Patient.objects.create(
        nhs_number=nhs_number,
        given_name=given_name.strip(),
        family_name=family_name.strip(),
        date_of_birth=date_of_birth,
        postcode=postcode,
        lives_alone=lives_alone,
        is_carer=is_carer,
        is_cared_for=is_cared_for,
        consent_to_share=consent_to_share,
        consent_recorded_on=timezone.localdate() if consent_to_share else None,
        consent_recorded_by=user if consent_to_share else None,
        created_by=user,
        updated_by=user,
    )
    return patient, True


# --- "At the limit of our remit" -----------------------------------------------------------


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
    *, referral: Referral, user, clause: str, note: str = "", now: datetime | None = None
) -> RemitLimitMark:
    """Mark a referral "at the limit of our remit", quoting a clause of the specification in
    force on the referral's day. The words are copied, so a later version never changes them."""
    if not remit_mark_editable_by(user, referral):
        raise PermissionDenied
    if referral.destination_sector != Sector.VOLUNTARY or referral.service_id is None:
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
            return RemitLimitMark.objects.create(
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


@transaction.atomic
def remit_mark_withdraw(*, mark: RemitLimitMark, user) -> None:
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


# --- Concerns ------------------------------------------------------------------------------


class ConcernConflict(Exception):
    """The concern is not as the person last saw it: changed by someone else, or already done."""


def _when(moment: datetime) -> str:
    return date_format(timezone.localtime(moment), "j M Y \\a\\t H:i")


def concern_raise(
    *,
    referral: Referral,
    user,
    addressed_to: Organisation | None,
    severity: str,
    description: str,
    now: datetime | None = None,
) -> Concern:
    """Raise a concern on a referral, addressed to another organisation involved in it. The
    acknowledgement deadline is fixed now, from the severity, and never moves afterwards."""
    now = now or timezone.now()
    if user.organisation_id is None:
        raise ValidationError("Only someone who works for an organisation can raise a concern.")
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
    if errors:
        raise ValidationError(errors)
    return Concern.objects.create(
        referral=referral,
        raised_by=user,
        raised_by_organisation=user.organisation,
        addressed_to=addressed_to,
        severity=severity,
        description=description.strip(),
        raised_at=now,
        acknowledge_by=now + ACKNOWLEDGE_WITHIN[ConcernSeverity(severity)],
        created_by=user,
        updated_by=user,
    )


def _concern_refused(concern: Concern, expected_version: int, doing: str) -> ConcernConflict:
    """Why a conditional update on a concern changed nothing, in words for the person."""
    current = Concern.objects.select_related(
        "updated_by", "acknowledged_by", "resolved_by", "referral"
    ).get(pk=concern.pk)
    if current.version != expected_version:
        who = current.updated_by.full_name if current.updated_by else "someone else"
        if current.resolved_at:
            now_is = f"resolved by {current.resolved_by.full_name}"
        elif current.acknowledged_at:
            now_is = f"acknowledged by {current.acknowledged_by.full_name}"
        else:
            now_is = "still open"
        return ConcernConflict(
            f"The concern on {current.referral.reference} was changed by {who} on "
            f"{_when(current.updated_at)} while you had it open; it is now {now_is}. Nothing "
            f"you did was saved: look again before you {doing} it."
        )
    if current.resolved_at:
        return ConcernConflict(
            f"The concern on {current.referral.reference} was already resolved by "
            f"{current.resolved_by.full_name} on {_when(current.resolved_at)}."
        )
    return ConcernConflict(
        f"The concern on {current.referral.reference} was already acknowledged by "
        f"{current.acknowledged_by.full_name} on {_when(current.acknowledged_at)}."
    )


def _checked_now(concern: Concern, now: datetime | None) -> datetime:
    now = now or timezone.now()
    if now > timezone.now() or now < concern.raised_at:
        raise ValidationError({"now": "This can only be done between the concern and now."})
    return now


def concern_acknowledge(
    *, concern: Concern, user, expected_version: int, now: datetime | None = None
) -> Concern:
    now = _checked_now(concern, now)
    # One conditional UPDATE, as for a referral: it succeeds only if nobody has changed the
    # concern since this person loaded it and it is still unacknowledged.
    updated = Concern.objects.filter(
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
    if not updated:
        raise _concern_refused(concern, expected_version, "acknowledge")
    return Concern.objects.get(pk=concern.pk)


def concern_resolve(
    *,
    concern: Concern,
    user,
    expected_version: int,
    resolution: str,
    now: datetime | None = None,
) -> Concern:
    """Resolve a concern with a written resolution. One never acknowledged is acknowledged by
    the same person at the same moment: resolving answers it, and the remit-breaches report
    still counts it as late if that moment is past the deadline."""
    if not resolution.strip():
        raise ValidationError({"resolution": "Write how the concern was resolved."})
    now = _checked_now(concern, now)
    updated = Concern.objects.filter(
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
    if not updated:
        raise _concern_refused(concern, expected_version, "resolve")
    return Concern.objects.get(pk=concern.pk)
