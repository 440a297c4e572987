from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import F, Func, IntegerField, OuterRef, Subquery
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.selectors_notifications import unread_of


class EmailBackend(ModelBackend):
    """Django's own password check; the signed-in user comes with their organisation, which
    the header shows on every page, and its system, which scopes every page, so no page pays
    an extra query for either. The ids of their confirmed authenticators come in the same
    query, for accounts.middleware.OTPMiddleware, which would otherwise read the device again
    on every request; and the bell's count of unread notifications, which every full page
    shows (accounts.context_processors.Bell)."""

    def get_user(self, user_id):
        user = (
            get_user_model()
            ._default_manager.select_related("organisation__system")
            .annotate(
                confirmed_device_ids=ArraySubquery(
                    TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True).values("pk")
                ),
                unread_notifications=Subquery(
                    unread_of(OuterRef("pk"))
                    .annotate(n=Func(F("pk"), function="COUNT"))
                    .values("n"),
                    output_field=IntegerField(),
                ),
            )
            .filter(pk=user_id)
            .first()
        )
        return user if user and self.user_can_authenticate(user) else None
