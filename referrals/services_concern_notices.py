"""Telling people what happened to a concern: raised, acknowledged, resolved, escalated.

Only people who may see the concern are told (`concerns_visible_to`: those who may see its
referral, and the organisation it is addressed to). The title names the referral by its
reference, never the patient: it goes out by e-mail as it stands. The link is the referral's
concerns section for those who may open the referral, otherwise the concern list.
"""

from collections.abc import Iterable

from django.urls import reverse

from accounts.models import User
from accounts.services_notifications import notify
from referrals.models import Concern
from referrals.selectors_concerns import concerns_visible_to

TITLE_LENGTH = 200


def concern_notify(
    *, concern: Concern, recipients: Iterable[User], kind: str, event: str, title: str
) -> int:
    """Notify each person who may see the concern, once per person and event (the database
    refuses a second notification with the same event key). Returns how many were created."""
    links: dict[str, list[User]] = {}
    for user in {user.pk: user for user in recipients}.values():
        seen = concerns_visible_to(user).filter(pk=concern.pk).first()
        if seen is None:
            continue  # may not see the concern: not told about it
        link = (
            f"{reverse('referral_detail', args=[concern.referral_id])}#concerns"
            if getattr(seen, "referral_visible", False)  # annotated by concerns_visible_to
            else reverse("concern_list")
        )
        links.setdefault(link, []).append(user)
    return sum(
        notify_people(
            recipients=people,
            kind=kind,
            event_key=f"concern:{concern.pk}:{event}",
            title=title[:TITLE_LENGTH],
            link=link,
        )
        for link, people in links.items()
    )


def notify_people(
    *, recipients: Iterable[User], kind: str, event_key: str, title: str, link: str
) -> int:
    """The one call into the notifications engine (accounts.services_notifications)."""
    return notify(recipients=recipients, kind=kind, event_key=event_key, title=title, link=link)
