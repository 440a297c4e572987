from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from axes.signals import user_locked_out

        from accounts import checks  # noqa: F401 (registers the system checks)
        from accounts.receivers import tell_administrators_of_lockout

        user_locked_out.connect(tell_administrators_of_lockout, dispatch_uid="accounts-lockout")
