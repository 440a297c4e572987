"""The safety net in the demo, working at once (#12 point 7): the escalation pass run over the
demo concerns, and the newest demo referrals' events told to the people they concern, so that
every demo user who works with referrals opens VSO Care to unread notifications.

The wait past its limit needs nothing here: the frail lady's urgent social-care referral
(vsocare.demo_referral_story) has waited 19 days without first contact, two more than urgent
allows, with the Red Cross covering.

The administrator sees no referral, so nothing about one is told to them; they are told what
administrators are told: the Red Cross worker mistyped his password until django-axes locked
him out. The lock is lifted again at once, so that the demo's worker can sign in.

Everything goes through the real services, with their event keys, so a second run tells nobody
again.
"""

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import authenticate
from django.db.models import QuerySet
from django.test import RequestFactory
from django.urls import reverse

from accounts.models import Notification, NotificationKind, User
from referrals.models import Referral, ReferralStatus
from referrals.notices import notice_accepted, notice_withdrawn
from referrals.services_escalation import escalate_overdue
from vsocare.demo_referral_tables import ICC_EMAIL, RED_CROSS, RED_CROSS_LEAD

# The demo user who is locked out, and lets the administrator see a lock-out notice.
LOCKED_OUT_EMAIL = "worker@redcross.example"

# How many of the newest demo referrals of each kind are told about: enough to fill the list
# with more than one kind, few enough that the bell shows a count one reads at a glance.
NEWEST = 2


def seed_demo_safety_net() -> dict[str, int]:
    """Escalate the demo's concerns and waits past their limits, as beat would within five
    minutes, and tell the newest demo referrals' events; returns how many escalations and
    notifications."""
    # The same pass beat runs: it escalates every overdue concern and every statutory wait past
    # its limit, the demo's being the only ones in a demo database, and writes the escalation
    # notifications with them.
    escalated = escalate_overdue().total
    icc = User.objects.filter(email__iexact=ICC_EMAIL).first()
    lead = User.objects.filter(email__iexact=RED_CROSS_LEAD).first()
    if icc is None or lead is None:
        return {"escalations": escalated, "notifications": 0}  # demo users come first
    told = 0
    # To the ICC: the Red Cross took on the newest referrals it has open.
    for referral in _newest(ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS, referrer=icc):
        told += notice_accepted(referral=referral, by=lead)
    # To the Red Cross's lead and worker: the newest referrals the ICC withdrew.
    for referral in _newest(ReferralStatus.WITHDRAWN, referrer=icc):
        told += notice_withdrawn(referral=referral, by=icc)
    told += _lock_out(LOCKED_OUT_EMAIL)
    return {"escalations": escalated, "notifications": told}


def _newest(*statuses: str, referrer: User) -> QuerySet[Referral]:
    """The demo's newest Red Cross referrals in these statuses: the same ones on a second run."""
    return (
        Referral.objects.filter(
            organisation__name=RED_CROSS,
            referrer=referrer,
            status__in=statuses,
            external_id__startswith="demo-",
        )
        .select_related("organisation", "referrer_organisation")
        .order_by("-referred_at", "-pk")[:NEWEST]
    )


def _lock_out(email: str) -> int:
    """Fail to sign in as this person until the account locks, through django-axes as a real
    sign-in would, then lift the lock. Once only: a second run finds the notice made."""
    locked = Notification.objects.filter(kind=NotificationKind.ACCOUNT_LOCKED)
    if locked.exists() or not User.objects.filter(email__iexact=email).exists():
        return 0
    request = RequestFactory().post(reverse("login"), REMOTE_ADDR="127.0.0.1")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        authenticate(request, username=email, password="not the demo password")
    axes_reset(username=email.lower())
    return locked.count()
