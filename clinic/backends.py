"""Signing in with an email address and password: Django's ModelBackend, with the
signed-in user read together with their profile.

Every signed-in request needs the user, and then their patient record with its
clinic (it decides the clinic's scope: clinic.middleware). Read apart, that is
two queries on every portal request; read with the user, one.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class ProfileBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        # The patient's only: the portal is where requests are many and small. A
        # therapist's (the admin) is still looked up on its own (clinic.models._profile).
        users = get_user_model()._default_manager.select_related("patient__clinic")
        try:
            user = users.get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
