from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class EmailBackend(ModelBackend):
    """Django's own password check; the signed-in user comes with their organisation, which
    the header shows on every page, so no page pays an extra query for it."""

    def get_user(self, user_id):
        user = (
            get_user_model()
            ._default_manager.select_related("organisation")
            .filter(pk=user_id)
            .first()
        )
        return user if user and self.user_can_authenticate(user) else None
