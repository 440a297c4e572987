"""The hooks other packages offer, turned into calls of this app's services and nothing more."""

import logging
from typing import Any

from accounts.services import account_lockout_notify

logger = logging.getLogger(__name__)


def tell_administrators_of_lockout(sender: Any, *, username: str | None = None, **_: Any) -> None:
    """django-axes's user_locked_out, sent on the failure that locks an account and on each
    attempt while it stays locked (the event key keeps it to one notification an hour)."""
    try:
        account_lockout_notify(username=username or "")
    except Exception:
        # The person trying to sign in must still see the lock-out page, not an error.
        logger.exception("Could not tell the administrators of a sign-in lock-out")
