"""How much of each service's commissioned monthly capacity has been used.

The capacity is a clause of a specification, which is commissioning's; the referrals that use it
are the referrals app's, a layer above this one, which this app never imports. So the referrals
app registers its count here when Django starts (`ReferralsConfig.ready`), and the directory and
the remit check ask through `capacity_used`. The count itself, with the rule of which referrals
take capacity, is `referrals.selectors.capacity_used`.
"""

from collections.abc import Collection, Mapping
from datetime import date
from typing import Protocol

from django.core.exceptions import ImproperlyConfigured


class CapacityCounter(Protocol):
    def __call__(self, *, service_ids: Collection[int], on_date: date) -> Mapping[int, int]:
        """{service id: referrals counted against its capacity in the month of on_date}"""


_counters: list[CapacityCounter] = []


def register_capacity_counter(counter: CapacityCounter) -> None:
    _counters[:] = [counter]


def capacity_used(*, service_ids: Collection[int], on_date: date) -> Mapping[int, int]:
    if not _counters:
        raise ImproperlyConfigured(
            "No capacity counter is registered: the referrals app registers one when it loads."
        )
    return _counters[0](service_ids=service_ids, on_date=on_date)
