"""Each request runs in the scope of the signed-in user's clinic (see `clinic.scoping`).

* a therapist's or a patient's request: their clinic's rows and the shared library;
* a superuser's: every clinic's, explicitly (`unscoped()`);
* a signed-in user of no clinic (a staff login without a therapist profile):
  the shared library and nothing else;
* an anonymous request: no scope, so a query of clinic-owned rows raises.
  Views that serve anonymous visitors (signing in, accepting an invitation,
  resetting a password) look their row up with `unscoped()` and say why.

The scope is entered from a clean slate: whatever the surrounding code had
entered (a test's own scope, say) does not reach the view.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from django.http import HttpRequest, HttpResponseBase

from clinic.models import patient_for, therapist_for
from clinic.scoping import outside_any_scope, scope, unscoped


def request_scope(request: HttpRequest) -> AbstractContextManager[None]:
    """The scope a request by `request.user` runs in."""
    user = request.user
    if not user.is_authenticated:
        return nullcontext()
    if user.is_superuser:
        return unscoped()
    member = therapist_for(request) if user.is_staff else patient_for(request)
    return scope(member.clinic if member is not None else None)


class ClinicScopeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        with outside_any_scope(), request_scope(request):
            return self.get_response(request)
