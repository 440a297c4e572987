"""Recording a patient's decision about sharing their details: given or withdrawn, when, how,
and by whom. Each decision is a new row; the latest is in force (referrals.selectors_consent)."""

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import User
from referrals.models import CHOSEN_METHODS, Consent, ConsentDecision, Patient, Referral
from referrals.selectors_consent import consent_is_given, consent_may_record


def consent_write(
    *,
    patient: Patient,
    user: User,
    decision: str,
    method: str,
    decided_on: date,
    note: str = "",
) -> Consent:
    """Record a decision without the permission check, for callers that made it (the intake
    registers a patient nobody could see before). Errors name the fields."""
    errors: dict[str, str] = {}
    if decision not in ConsentDecision.values:
        errors["decision"] = "Choose whether the patient gave or withdrew consent."
    if method not in dict(CHOSEN_METHODS):
        errors["method"] = "Say how the patient told you."
    if decided_on > timezone.localdate():
        errors["decided_on"] = "The date cannot be in the future."
    elif decided_on < patient.date_of_birth:
        errors["decided_on"] = "The date is before the patient's date of birth."
    if decision == ConsentDecision.WITHDRAWN and not consent_is_given(patient=patient):
        errors["decision"] = "The patient has no consent in force to withdraw."
    if errors:
        raise ValidationError(errors)
    return Consent.objects.create(
        patient=patient,
        decision=decision,
        method=method,
        decided_on=decided_on,
        note=note.strip(),
        recorded_by=user,
        recorded_by_organisation_id=user.organisation_id,
    )


def consent_record(
    *,
    referral: Referral,
    user: User,
    decision: str,
    method: str,
    decided_on: date,
    note: str = "",
) -> Consent:
    """Record, from a referral's page, that its patient gave or withdrew consent. Only those
    caring for the patient on that referral may (consent_may_record)."""
    if not consent_may_record(user, referral):
        raise PermissionDenied
    return consent_write(
        patient=referral.patient,
        user=user,
        decision=decision,
        method=method,
        decided_on=decided_on,
        note=note,
    )
