from django.apps import AppConfig


class VsoCareConfig(AppConfig):
    name = "vsocare"
    verbose_name = "VSO Care"
