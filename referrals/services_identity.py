"""Finding a patient by NHS number without making VSO Care a directory of everyone in it.

A referrer sees a patient's details straight away only when the patient already has a referral
they can see. Anyone else is asked for the date of birth too: two identifiers that match one
record, as NHS demographic checks ask for, before a name is shown. Every lookup is written to
the access log, and the log is the rate limit, so that it holds across web processes.
"""

from datetime import date, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import User
from referrals.models import AccessKind
from referrals.selectors import Match, PatientMatch, patient_match
from referrals.selectors_access import lookups_by_user_since, oldest_lookup_since
from referrals.services_access import access_record

LOOKUP_WINDOW = timedelta(hours=1)


class LookupLimitReached(Exception):
    def __init__(self, retry_after: timedelta) -> None:
        self.retry_after = retry_after
        minutes = max(1, -(-int(retry_after.total_seconds()) // 60))
        super().__init__(
            f"You have looked up {settings.PATIENT_LOOKUPS_PER_HOUR} patients in the last hour, "
            f"the most VSO Care allows. Try again in {minutes} minute{'s' if minutes != 1 else ''}"
            ", or ask your administrator if your work needs more."
        )


def lookup_limit_check(*, user: User, now: datetime | None = None) -> None:
    """Refuse a lookup past the per-user limit, saying when the next one is allowed."""
    now = now or timezone.now()
    since = now - LOOKUP_WINDOW
    if lookups_by_user_since(user=user, since=since) < settings.PATIENT_LOOKUPS_PER_HOUR:
        return
    oldest = oldest_lookup_since(user=user, since=since) or now
    raise LookupLimitReached(oldest + LOOKUP_WINDOW - now)


LOG_KIND = {
    Match.KNOWN: AccessKind.LOOKUP,
    Match.ASK_DATE_OF_BIRTH: AccessKind.LOOKUP,
    Match.NEW: AccessKind.LOOKUP,
    Match.CONFIRMED: AccessKind.LOOKUP_CONFIRMED,
    Match.NOT_MATCHED: AccessKind.LOOKUP_NOT_MATCHED,
}


def patient_lookup(
    *, user: User, nhs_number: str, date_of_birth: date | None, now: datetime | None = None
) -> PatientMatch:
    """A referrer's lookup by NHS number (and date of birth), limited per hour and logged.
    Raises LookupLimitReached past the limit, before anything is read."""
    lookup_limit_check(user=user, now=now)
    found, patient = patient_match(user=user, nhs_number=nhs_number, date_of_birth=date_of_birth)
    access_record(user=user, kind=LOG_KIND[found.match], patient=patient, nhs_number=nhs_number)
    return found
