from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The base layer: pieces every app uses and that know nothing of any app above them."""

    name = "core"
    verbose_name = "VSO Care base"
