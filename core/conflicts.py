"""One way to refuse an edit that would overwrite someone else's.

Every edit carries the version of the record the person opened: a version number on referrals
and concerns, the time of the last save on commissioning records. When the record has changed
since, the edit is refused with EditConflict, whose message says what happened in words for the
person, and nothing is saved.
"""


class EditConflict(Exception):
    """Someone else changed the record after this person opened it; nothing was saved."""
