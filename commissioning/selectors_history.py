"""The change history of the commissioning records, for their pages.

The caller has already found the record through its access helper (`get_organisation_for_user`
and the rest), so whoever may see the page sees its history; `hidden` names what they may not.
"""

from collections.abc import Collection

from django.contrib.postgres.fields import ArrayField

from commissioning.models import (
    CommissioningFramework,
    Need,
    Organisation,
    OutcomeMeasure,
    Service,
    ServiceSpecification,
)
from core.history import HistoryEntry, history_of

CommissioningRecord = Organisation | Service | CommissioningFramework | ServiceSpecification


def commissioning_record_history(
    *, record: CommissioningRecord, hidden: Collection[str] = ()
) -> list[HistoryEntry]:
    """Its changes oldest first, with need and outcome measure codes in words."""
    holds_codes = any(isinstance(field, ArrayField) for field in type(record)._meta.fields)
    labels = (
        {
            **dict(Need.objects.values_list("code", "label")),
            **dict(OutcomeMeasure.objects.values_list("code", "label")),
        }
        if holds_codes
        else None
    )
    return history_of(record=record, hidden=hidden, code_labels=labels)
