from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class EmailBackend(ModelBackend):
    """Django's own password check; the signed-in user comes with their organisation, which
    the header shows on every page, and its system, which scopes every page, so no page pays
    an extra query for either."""

    def get_user(self, user_id):
        user = (
            get_user_model()
            ._default_manager.select_related("organisation__system")
            .filter(pk=user_id)
            .first()
        )
        return user if user and self.user_can_authenticate(user) else None
