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
from django.utils.cache import patch_cache_control

from clinic import audit
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
        with outside_any_scope(), request_scope(request), audit.acting_as(request.user):
            return self.get_response(request)


# Browser features no Rehabit page uses; a page that never asks cannot be tricked into it.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


class PrivateResponseMiddleware:
    """Every page the app renders may carry patient data (a name, a plan, a pain
    score): none of it may stay in a shared proxy's or the browser's cache, where
    the Back button on a clinic's shared computer would show it to the next person.

    Responses that chose their own caching keep it: public exercise pictures and
    logos (`clinic.media`) are cached for a day, and static files never reach this
    middleware (WhiteNoise answers them first, with long-lived caching).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if "public" not in response.get("Cache-Control", ""):
            # Django's own never_cache (the admin's) says no-cache, which still lets a
            # browser keep a copy on disk; no-store does not.
            patch_cache_control(response, private=True, no_store=True)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
