"""Signing in with an email address and password: Django's ModelBackend, with the
signed-in user read together with their profile.

Every signed-in request needs the user, and then their patient record with its
clinic (it decides the clinic's scope: clinic.middleware). Read apart, that is
two queries on every portal request; read with the user, one. Its SQL is compiled
once (clinic.prepared): compiling it took twice as long as running it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError

from clinic.models import User
from clinic.prepared import PreparedQuery

# The patient's only: the portal is where requests are many and small. A
# therapist's (the admin) is still looked up on its own (clinic.models._profile).
_user_with_patient = PreparedQuery(
    lambda pk: User._default_manager.select_related("patient__clinic").filter(pk=pk)
)


class ProfileBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        try:
            pk = User._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        found = _user_with_patient(pk)
        if not found:
            return None
        user = found[0]
        return user if self.user_can_authenticate(user) else None
