from django.apps import AppConfig


class CommissioningConfig(AppConfig):
    name = "commissioning"
    verbose_name = "Commissioning"

    def ready(self) -> None:
        from commissioning.need_cache import connect_receivers

        # Every save and delete of a need code drops the codes kept in the cache.
        connect_receivers()
