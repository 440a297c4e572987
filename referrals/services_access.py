"""The access log: who opened a patient's record, looked one up or exported it, and when
(docs/security.md, "Access log"). One INSERT per access, and nothing ever changes a row."""

from collections.abc import Iterable
from datetime import datetime, timedelta

import pgtrigger
from django.conf import settings

from accounts.models import User
from accounts.selectors import system_id_of
from referrals.models import AccessRecord, Patient, Referral


def access_record(
    *,
    user: User,
    kind: str,
    patient: Patient | None = None,
    referral: Referral | None = None,
    nhs_number: str = "",
    detail: str = "",
) -> AccessRecord:
    """Write one access. The user comes with their organisation (the auth backend loads it), and
    the referral with its patient id, so this is the one INSERT and nothing else."""
    patient_id = patient.pk if patient is not None else None
    if referral is not None and patient_id is None:
        patient_id = referral.patient_id
    return AccessRecord.objects.create(
        user=user,
        organisation_id=user.organisation_id,
        system_id=system_id_of(user),
        patient_id=patient_id,
        referral=referral,
        kind=kind,
        nhs_number=nhs_number,
        detail=detail[:200],
    )


def access_record_by_number(
    *, user: User, kind: str, nhs_number: str, detail: str = ""
) -> AccessRecord:
    """Write one access to whoever has this NHS number: the patient when VSO Care holds one,
    otherwise the number as typed (an administrator's search for a subject access request)."""
    patient = Patient.objects.filter(nhs_number=nhs_number).only("pk").first()
    return access_record(
        user=user,
        kind=kind,
        patient=patient,
        nhs_number="" if patient is not None else nhs_number,
        detail=detail,
    )


def access_records_bulk(
    *,
    user: User,
    kind: str,
    referrals: Iterable[Referral] = (),
    patient_ids: Iterable[int] = (),
    detail: str = "",
) -> int:
    """Write one access per referral and per patient id, for an export that carries
    identifiers: one INSERT however many rows. Returns how many were written."""
    organisation_id = user.organisation_id
    system_id = system_id_of(user)
    records = [
        AccessRecord(
            user=user,
            organisation_id=organisation_id,
            system_id=system_id,
            patient_id=referral.patient_id,
            referral=referral,
            kind=kind,
            detail=detail[:200],
        )
        for referral in referrals
    ]
    records += [
        AccessRecord(
            user=user,
            organisation_id=organisation_id,
            system_id=system_id,
            patient_id=patient_id,
            kind=kind,
            detail=detail[:200],
        )
        for patient_id in patient_ids
    ]
    if not records:
        return 0
    # Saved in one statement; AccessRecord has no signals and no history table to feed.
    AccessRecord.objects.bulk_create(records, batch_size=5000)
    return len(records)


def access_records_prune(*, now: datetime) -> int:
    """Delete the access records older than ACCESS_LOG_RETENTION_DAYS, in one DELETE.

    The only delete the table allows: its trigger refuses any other (referrals.models)."""
    cutoff = now - timedelta(days=settings.ACCESS_LOG_RETENTION_DAYS)
    with pgtrigger.ignore("referrals.AccessRecord:access_record_no_delete"):
        deleted, _ = AccessRecord.objects.filter(at__lt=cutoff).delete()
    return int(deleted)
