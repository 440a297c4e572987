"""Reading the access log: the per-user lookup count, and an administrator's "who has looked at
this patient" for a subject access request (docs/security.md, "Access log")."""

from datetime import datetime

from django.db.models import Q, QuerySet

from accounts.models import Role, User
from accounts.selectors import system_id_of
from referrals.models import LOOKUP_KINDS, AccessKind, AccessRecord, Patient


def lookups_by_user_since(*, user: User, since: datetime) -> int:
    """How many times this person looked a patient up by NHS number since then (the per-user
    rate limit); served by the (user, at) index."""
    return AccessRecord.objects.filter(user=user, at__gte=since, kind__in=LOOKUP_KINDS).count()


def access_records_visible_to(user: User) -> QuerySet[AccessRecord]:
    """The access records an administrator may read: those made in their own system. Nobody
    else reads the log, and an administrator with no organisation reads none of it."""
    system_id = system_id_of(user)
    if not user.has_role(Role.ADMINISTRATOR) or system_id is None:
        return AccessRecord.objects.none()
    return AccessRecord.objects.filter(system_id=system_id)


def access_records_for_patient(*, user: User, nhs_number: str) -> QuerySet[AccessRecord]:
    """Who has looked at the patient with this NHS number, newest first, within the
    administrator's system: the accesses to the patient, and the lookups of the number that
    matched nobody at the time. The answer looks the same whether or not VSO Care holds such a
    patient, so the page tells nobody that. The people, their organisations and the referrals
    come in the same query."""
    patient_id = Patient.objects.filter(nhs_number=nhs_number).values_list("pk", flat=True).first()
    # Two indexed conditions, which PostgreSQL ORs together from the two indexes.
    about = Q(nhs_number=nhs_number)
    if patient_id is not None:
        about |= Q(patient_id=patient_id)
    return (
        access_records_visible_to(user)
        .filter(about)
        .select_related("user", "organisation", "referral")
        .order_by("-at", "-pk")
    )


def oldest_lookup_since(*, user: User, since: datetime) -> datetime | None:
    """When this person's oldest lookup in the window was made: the limit lifts an hour after."""
    return (
        AccessRecord.objects.filter(user=user, at__gte=since, kind__in=LOOKUP_KINDS)
        .order_by("at")
        .values_list("at", flat=True)
        .first()
    )


def lookup_confirmed_recently(*, user: User, patient_id: int, since: datetime) -> bool:
    """Whether this person confirmed this patient by NHS number and date of birth since then:
    what lets the intake form's remit check use the patient, without a lookup of its own."""
    return AccessRecord.objects.filter(
        user=user, patient_id=patient_id, kind=AccessKind.LOOKUP_CONFIRMED, at__gte=since
    ).exists()
