from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = "Referrals"

    def ready(self) -> None:
        from commissioning.capacity import register_capacity_counter
        from referrals.remit_cache import connect_receivers
        from referrals.selectors import capacity_used
        from referrals.selectors_deadlines import connect_receivers as connect_deadlines

        # The directory and the remit check, a layer below, count capacity through this.
        register_capacity_counter(capacity_used)
        # Every save and delete of what the remit page reads drops the pages kept for it.
        connect_receivers()
        # And every save and delete of a concern deadline drops its system's kept amounts.
        connect_deadlines()
