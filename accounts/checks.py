from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def two_factor_in_production(app_configs, **kwargs):
    """`check --deploy` names a production site that signs people in with a password alone."""
    if settings.PRODUCTION and not settings.TWO_FACTOR_REQUIRED:
        return [
            checks.Warning(
                "Two-factor sign-in is switched off (TWO_FACTOR_REQUIRED=false) in production.",
                hint="Leave TWO_FACTOR_REQUIRED unset, or true, unless this is a demonstration.",
                id="accounts.W001",
            )
        ]
    return []
