"""A patient's consent to share: the latest decision on record (referrals.models.Consent)."""

from accounts.models import User
from referrals.models import Consent, ConsentDecision, Patient, Referral
from referrals.selectors import identity_visible_to, referrals_visible_to


def consent_history(*, patient: Patient) -> list[Consent]:
    """Every decision the patient made, the one in force first, with who recorded each."""
    return list(
        Consent.objects.filter(patient=patient).select_related(
            "recorded_by", "recorded_by_organisation"
        )
    )


def consent_in_force(*, patient: Patient) -> Consent | None:
    """The patient's latest decision, given or withdrawn; None when they never made one."""
    return Consent.objects.filter(patient=patient).first()


def consent_is_given(*, patient: Patient) -> bool:
    latest = consent_in_force(patient=patient)
    return latest is not None and latest.decision == ConsentDecision.GIVEN


def consent_may_record(user: User, referral: Referral) -> bool:
    """Those caring for the patient on this referral record what the patient decided: the
    referrer's team and the organisation it went to. Commissioners never do."""
    if not identity_visible_to(user):
        return False
    if getattr(referral, "visible_to_user_id", None) == user.pk:
        return True
    return referrals_visible_to(user).filter(pk=referral.pk).exists()
