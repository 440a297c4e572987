"""Who may see and act on which referral. Every view reaches a referral through here."""

from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import VSO_ROLES, Role
from commissioning.models import Sector
from commissioning.selectors import system_for
from referrals.models import OPEN_STATUSES, Patient, Referral

# What each side of a referral may do to it. A statutory service rarely uses VSO Care, so the
# referrer's team records its decision and contact; a voluntary one does its own.
RECEIVER_ACTIONS = ("accept", "decline", "record_contact", "close")
REFERRER_ACTIONS = ("withdraw",)


def referrals_visible_to(user) -> QuerySet[Referral]:
    """Referrers: their own and their team's. VSO staff: referrals to their organisation.
    Commissioners: every referral in their system. Administrators manage accounts and places;
    they have no need to read patients' referrals, so they see none."""
    referrals = Referral.objects.select_related(
        "patient", "organisation", "service", "referrer", "referrer_organisation"
    )
    if not user.is_authenticated or not user.is_active:
        return referrals.none()
    if user.role == Role.ICC:
        team = Q(referrer_organisation_id=user.organisation_id) if user.organisation_id else Q()
        return referrals.filter(Q(referrer=user) | team)
    if user.role in VSO_ROLES:
        return referrals.filter(organisation_id=user.organisation_id)
    if user.role == Role.COMMISSIONER:
        system = system_for(user)
        return referrals.filter(organisation__system=system) if system else referrals.none()
    return referrals.none()


def referral_actions_for(user, referral: Referral) -> set[str]:
    """The lifecycle actions this person may take on this referral, whatever its status."""
    actions: set[str] = set()
    if user.role in VSO_ROLES and referral.organisation_id == user.organisation_id:
        actions.update(RECEIVER_ACTIONS)
    if user.role == Role.ICC and (
        referral.referrer_id == user.pk or referral.referrer_organisation_id == user.organisation_id
    ):
        actions.update(REFERRER_ACTIONS)
        if referral.destination_sector != Sector.VOLUNTARY:
            actions.update(RECEIVER_ACTIONS)
    return actions


def get_referral_for_user(user, pk: int, *, action: str | None = None) -> Referral:
    """404 for a referral the person may not see, so its existence is not disclosed;
    403 for one they may see but not change in this way."""
    referral = referrals_visible_to(user).filter(pk=pk).first()
    if referral is None:
        raise Http404("No such referral")
    if action is not None and action not in referral_actions_for(user, referral):
        raise PermissionDenied
    return referral


def patients_visible_to(user) -> QuerySet[Patient]:
    """A patient is visible to whoever may see one of their referrals; referrers may also
    look any patient up by NHS number to avoid registering them twice (see the intake)."""
    if not user.is_authenticated:
        return Patient.objects.none()
    return Patient.objects.filter(pk__in=referrals_visible_to(user).values("patient_id")).distinct()


DUPLICATE_WINDOW = timedelta(days=30)


def patient_by_nhs_number(user, nhs_number: str) -> Patient | None:
    """Referrers may find any patient by their exact NHS number, so that nobody is registered
    twice; browsing patients by name is limited to those they can already see."""
    if not user.has_role(Role.ICC):
        return None
    return Patient.objects.filter(nhs_number=nhs_number).first()


def patients_matching(user, text: str, *, limit: int = 8) -> list[Patient]:
    text = text.strip()
    if len(text) < 2:
        return []
    digits = text.replace(" ", "")
    if digits.isdigit():
        found = patient_by_nhs_number(user, digits) if len(digits) == 10 else None
        return [found] if found else []
    visible = patients_visible_to(user)
    for word in text.split():
        visible = visible.filter(Q(given_name__istartswith=word) | Q(family_name__istartswith=word))
    return list(visible.order_by("family_name", "given_name")[:limit])


def overlapping_referrals(*, patient: Patient, needs: list[str], now=None) -> list[Referral]:
    """Open referrals for the same patient with a need in common, made in the last 30 days,
    to any organisation: the warning that stops two agencies turning up at the house."""
    now = now or timezone.now()
    if not needs:
        return []
    return list(
        Referral.objects.filter(
            patient=patient,
            status__in=OPEN_STATUSES,
            referred_at__gte=now - DUPLICATE_WINDOW,
            needs__overlap=needs,
        )
        .select_related("organisation", "service")
        .order_by("-referred_at")
    )


def waiting_on_statutory(user) -> QuerySet[Referral]:
    """Open referrals to health and social care, oldest first, with any voluntary cover."""
    return (
        referrals_visible_to(user)
        .filter(status__in=OPEN_STATUSES)
        .exclude(destination_sector=Sector.VOLUNTARY)
        .prefetch_related("interim_cover__organisation")
        .order_by("referred_at")
    )
