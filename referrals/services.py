"""Referral intake and lifecycle. Every change goes through here so that each is validated,
timestamped, attributed, and refused when someone else changed the referral first."""

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User
from commissioning.models import Organisation, Place, Sector, Service
from commissioning.selectors_remit import service_remit_check
from commissioning.validation import known_need_codes, unknown_codes
from core.conflicts import EditConflict
from core.dates import age_on
from referrals import notices
from referrals.models import (
    BASES_WITHOUT_CONSENT,
    CHOSEN_BASES,
    OPEN_STATUSES,
    AccessKind,
    ConsentDecision,
    LawfulBasis,
    Patient,
    Referral,
    ReferralStatus,
)
from referrals.remit_cache import referral_changed
from referrals.selectors import (
    Match,
    patient_match,
    referral_actions_for,
    referrals_visible_to,
)
from referrals.selectors_consent import consent_is_given
from referrals.services_access import access_record
from referrals.services_consent import consent_write
from referrals.services_identity import LookupLimitReached, lookup_limit_check

S = ReferralStatus

# action -> (statuses it may start from, status it ends in)
TRANSITIONS = {
    "accept": ((S.RECEIVED,), S.ACCEPTED),
    "decline": ((S.RECEIVED,), S.DECLINED),
    "record_contact": ((S.ACCEPTED,), S.IN_PROGRESS),
    "close": ((S.ACCEPTED, S.IN_PROGRESS), S.CLOSED),
    "withdraw": (OPEN_STATUSES, S.WITHDRAWN),
}


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
    lawful_basis: str,
    lawful_basis_reason: str,
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
    for field, message in _lawful_basis_errors(
        patient=patient,
        destination_sector=destination_sector,
        lawful_basis=lawful_basis,
        lawful_basis_reason=lawful_basis_reason,
    ):
        add(field, message)
    return errors


NEEDS_A_BASIS = (
    "A voluntary organisation receives the patient's details only with their consent or "
    "another lawful basis: choose one."
)
NO_CONSENT_HELD = (
    "VSO Care holds no consent from this patient: say how they agreed, or choose another "
    "lawful basis."
)


def _lawful_basis_errors(
    *, patient: Patient, destination_sector: str, lawful_basis: str, lawful_basis_reason: str
) -> list[tuple[str, str]]:
    """Sharing a patient's details with a voluntary organisation rests on their consent in
    force, or on a basis without consent written out (safeguarding, vital or best interests).
    Health and social care receive for direct care, and need neither."""
    if lawful_basis not in dict(CHOSEN_BASES) and lawful_basis != "":
        return [("lawful_basis", "Choose the lawful basis for sharing the patient's details.")]
    if lawful_basis == "":
        if destination_sector == Sector.VOLUNTARY:
            return [("lawful_basis", NEEDS_A_BASIS)]
        return []
    if lawful_basis == LawfulBasis.CONSENT and not consent_is_given(patient=patient):
        return [("consent_method", NO_CONSENT_HELD)]
    if lawful_basis in BASES_WITHOUT_CONSENT and not lawful_basis_reason.strip():
        return [("lawful_basis_reason", "Say why the details are shared without consent.")]
    return []


@dataclass(frozen=True)
class NewPatientDetails:
    """A patient's details as typed on the intake form: used only when VSO Care does not know
    the NHS number yet, so that one referral's typo never renames someone in every other."""

    given_name: str = ""
    family_name: str = ""
    date_of_birth: date | None = None
    postcode: str = ""
    lives_alone: bool = False
    is_carer: bool = False
    is_cared_for: bool = False


# What a patient new to VSO Care must be given, each with the words that say what to do.
NEW_PATIENT_NEEDS = {
    "given_name": "Enter the patient's given name: VSO Care does not know them yet.",
    "family_name": "Enter the patient's family name: VSO Care does not know them yet.",
    "date_of_birth": "Enter the patient's date of birth: VSO Care does not know them yet.",
    "postcode": "Enter the patient's postcode: VSO Care does not know them yet.",
}


ASK_DATE_OF_BIRTH = {
    "date_of_birth": "Enter the patient's date of birth too: it confirms who they are."
}
DOES_NOT_MATCH = {
    "date_of_birth": "This NHS number and date of birth do not belong to the same patient. "
    "Check both against the patient's record."
}


def referral_intake(
    *,
    user: User,
    nhs_number: str,
    details: NewPatientDetails,
    interim_cover_for_pk: int | None,
    source: str,
    destination_sector: str,
    organisation: Organisation,
    service: Service | None,
    needs: list[str],
    activities: list[str],
    urgency: str,
    reason: str = "",
    place: Place | None = None,
    statutory_declined_by: Organisation | None = None,
    statutory_decline_reason: str = "",
    override_reason: str = "",
    lawful_basis: str = "",
    lawful_basis_reason: str = "",
    consent_method: str = "",
    submission: UUID | None = None,
) -> Referral:
    """The intake form: find the patient by NHS number, or register them from the details
    given, and log the referral, in one transaction. Errors name the form's fields.

    The same form sent twice makes one referral: the second raises AlreadySent with the first
    (docs/referrals.md#sent-once). That is the same one-time token (`submission`), enforced by
    the database even for two at once, or the same patient, destination and needs from the same
    person within SENT_AGAIN_WITHIN (Back, then Send again, on a page the browser rebuilt).

    A patient with no referral this person can see is only referred with their date of birth
    as well, matching the record: otherwise the referral page would show anyone's name for a
    guessed number. A mismatch is logged and counts towards the lookup limit, as a lookup does.
    """
    found, patient = patient_match(
        user=user, nhs_number=nhs_number, date_of_birth=details.date_of_birth
    )
    if patient is not None and found.match != Match.KNOWN:
        try:
            lookup_limit_check(user=user)
        except LookupLimitReached as limit:
            raise ValidationError({"nhs_number": str(limit)}) from limit
        if found.match == Match.NOT_MATCHED:
            access_record(
                user=user,
                kind=AccessKind.LOOKUP_NOT_MATCHED,
                patient=patient,
                nhs_number=nhs_number,
            )
            raise ValidationError(DOES_NOT_MATCH)
        if found.match == Match.ASK_DATE_OF_BIRTH:
            raise ValidationError(ASK_DATE_OF_BIRTH)
    if (
        found.match == Match.KNOWN
        and patient is not None
        and details.date_of_birth not in (None, patient.date_of_birth)
    ):
        raise ValidationError(DOES_NOT_MATCH)
    earlier = _sent_already(
        user=user, submission=submission, nhs_number=nhs_number, organisation=organisation,
        service=service, needs=needs,
    )  # fmt: skip
    if earlier is not None:
        raise AlreadySent(earlier)
    # Registering the patient, any consent given now and the referral: all or none.
    with transaction.atomic():
        if patient is None:
            missing = {
                name: message
                for name, message in NEW_PATIENT_NEEDS.items()
                if not getattr(details, name)
            }
            if missing:
                raise ValidationError(missing)
        interim = None
        if interim_cover_for_pk:
            interim = referrals_visible_to(user).filter(pk=interim_cover_for_pk).first()
            if interim is None:
                raise ValidationError(
                    {"interim_cover_for": "No referral with that reference that you can see."}
                )
        if patient is None:
            patient, _ = patient_get_or_register(
                nhs_number=nhs_number, user=user, **asdict(details)
            )
        if lawful_basis == LawfulBasis.CONSENT and consent_method:
            # Consent given as the referral is made: recorded first, so the referral rests on it.
            consent_write(
                patient=patient,
                user=user,
                decision=ConsentDecision.GIVEN,
                method=consent_method,
                decided_on=timezone.localdate(),
            )
        try:
            # A savepoint: the database's refusal of a second referral with this token must not
            # spoil the transaction the first is then read in.
            with transaction.atomic():
                return referral_create(
                    patient=patient,
                    referrer=user,
                    source=source,
                    destination_sector=destination_sector,
                    organisation=organisation,
                    service=service,
                    needs=needs,
                    activities=activities,
                    urgency=urgency,
                    reason=reason,
                    place=place,
                    statutory_declined_by=statutory_declined_by,
                    statutory_decline_reason=statutory_decline_reason,
                    interim_cover_for=interim,
                    override_reason=override_reason,
                    lawful_basis=lawful_basis,
                    lawful_basis_reason=lawful_basis_reason,
                    submission=submission,
                )
        except IntegrityError as error:
            if "referral_one_per_submission" not in str(error):
                raise
            # Raised inside the transaction, so that all this request wrote (a consent) goes.
            first = Referral.objects.get(referrer=user, submission=submission)
            raise AlreadySent(first) from error


class AlreadySent(Exception):
    """The same intake form sent again: nothing new was made; `referral` is the one it made."""

    def __init__(self, referral: Referral) -> None:
        super().__init__(f"Referral {referral.reference} was sent from this form already.")
        self.referral = referral


# The same patient, destination and needs from the same person this soon after is the same form
# sent again: nobody logs one referral twice in a quarter of an hour on purpose, and a page
# rebuilt by Back has a new token. Later, the overlap warning says so and the person decides.
SENT_AGAIN_WITHIN = timedelta(minutes=15)


def _sent_already(
    *,
    user: User,
    submission: UUID | None,
    nhs_number: str,
    organisation: Organisation,
    service: Service | None,
    needs: list[str],
) -> Referral | None:
    same_token = Q(submission=submission) if submission is not None else Q(pk__in=[])
    same_content = Q(
        patient__nhs_number=nhs_number,
        organisation=organisation,
        service=service,
        needs__contains=needs,
        needs__contained_by=needs,
        referred_at__gte=timezone.now() - SENT_AGAIN_WITHIN,
        status__in=OPEN_STATUSES,
    )
    first: Referral | None = (
        Referral.objects.filter(same_token | same_content, referrer=user)
        .order_by("referred_at", "pk")
        .first()
    )
    return first


@transaction.atomic
def referral_create(
    *,
    patient: Patient,
    referrer: User,
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
    lawful_basis: str = "",
    lawful_basis_reason: str = "",
    submission: UUID | None = None,
) -> Referral:
    """Log a referral. One to a voluntary service outside its remit is only sent with a written
    override reason, kept with the reasons the remit check gave at the time."""
    referred_at = referred_at or timezone.now()
    team = referrer.organisation
    if team is None:
        raise ValidationError("Only someone who works for an organisation can make a referral.")
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
        lawful_basis=lawful_basis,
        lawful_basis_reason=lawful_basis_reason,
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

    referral = Referral.objects.create(
        patient=patient,
        referrer=referrer,
        referrer_organisation=team,
        place=place or organisation.place or team.place,
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
        lawful_basis=lawful_basis,
        lawful_basis_reason=lawful_basis_reason.strip()
        if lawful_basis in BASES_WITHOUT_CONSENT
        else "",
        out_of_remit=bool(remit_reasons),
        remit_reasons=remit_reasons,
        override_reason=override_reason.strip() if remit_reasons else "",
        submission=submission,
        created_by=referrer,
        updated_by=referrer,
    )
    notices.notice_received(referral=referral)
    return referral


def _transition(
    *,
    referral: Referral,
    user: User,
    action: str,
    expected_version: int,
    changes: dict[str, Any],
) -> Referral:
    if action not in referral_actions_for(user, referral):
        raise PermissionDenied
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
        referral_changed(referral=current)  # an update() sends no post_save
        return current
    if current.version != expected_version:
        who = current.updated_by.full_name if current.updated_by else "someone else"
        raise EditConflict(
            f"{current.reference} was changed by {who} at "
            f"{timezone.localtime(current.updated_at):%H:%M} while you had it open; it is now "
            f"{current.get_status_display().lower()}. Nothing you did was saved: look again."
        )
    raise EditConflict(
        f"{current.reference} is {current.get_status_display().lower()}, so it cannot be "
        f"{to_status.label.lower()} now."
    )


def referral_accept(*, referral: Referral, user: User, expected_version: int) -> Referral:
    now = timezone.now()
    accepted = _transition(
        referral=referral,
        user=user,
        action="accept",
        expected_version=expected_version,
        changes={"decided_at": now, "decided_by": user},
    )
    notices.notice_accepted(referral=accepted, by=user)
    return accepted


def referral_decline(
    *, referral: Referral, user: User, expected_version: int, reason: str
) -> Referral:
    if not reason.strip():
        raise ValidationError({"reason": "Say why the referral is declined; the referrer sees it."})
    declined = _transition(
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
    notices.notice_declined(referral=declined, by=user)
    return declined


def referral_record_contact(
    *, referral: Referral, user: User, expected_version: int, contacted_at: datetime | None = None
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


def referral_close(
    *, referral: Referral, user: User, expected_version: int, outcome: str
) -> Referral:
    if not outcome.strip():
        raise ValidationError({"outcome": "Record the outcome before closing the referral."})
    return _transition(
        referral=referral,
        user=user,
        action="close",
        expected_version=expected_version,
        changes={"closed_at": timezone.now(), "closed_by": user, "outcome": outcome.strip()},
    )


def referral_withdraw(
    *, referral: Referral, user: User, expected_version: int, reason: str
) -> Referral:
    if not reason.strip():
        raise ValidationError({"reason": "Say why the referral is withdrawn."})
    withdrawn = _transition(
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
    notices.notice_withdrawn(referral=withdrawn, by=user)
    return withdrawn


def patient_get_or_register(
    *,
    nhs_number: str,
    user: User,
    given_name: str = "",
    family_name: str = "",
    date_of_birth: date | None = None,
    postcode: str = "",
    lives_alone: bool = False,
    is_carer: bool = False,
    is_cared_for: bool = False,
) -> tuple[Patient, bool]:
    """The patient with this NHS number, registering them if VSO Care has never seen them.

    An existing patient's details are never overwritten from a referral form: a typo in one
    referral must not rename someone in every other.
    """
    existing = Patient.objects.filter(nhs_number=nhs_number).first()
    if existing:
        return existing, False
    if date_of_birth is None:
        raise ValidationError({"date_of_birth": "Enter the patient's date of birth."})
    try:
        # A savepoint: two people (or one form sent twice) registering the same new patient at
        # once make one patient. The second insert waits for the first to commit, is refused
        # by the unique NHS number, and finds the first's record.
        with transaction.atomic():
            patient = Patient.objects.create(
                nhs_number=nhs_number,
                given_name=given_name.strip(),
                family_name=family_name.strip(),
                date_of_birth=date_of_birth,
                postcode=postcode,
                lives_alone=lives_alone,
                is_carer=is_carer,
                is_cared_for=is_cared_for,
                created_by=user,
                updated_by=user,
            )
    except IntegrityError:
        existing = Patient.objects.filter(nhs_number=nhs_number).first()
        if existing is None:
            raise
        if existing.date_of_birth != date_of_birth:
            # Registered a moment ago by someone else, as another person: not the one meant.
            raise ValidationError(DOES_NOT_MATCH) from None
        return existing, False
    return patient, True
