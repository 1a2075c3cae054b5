"""Two-factor sign-in for staff: a code from an authenticator app (TOTP), with
single-use recovery codes for a lost phone. Built on django-otp.

Who needs it, checked on every admin page (`RehabitAdminSite.admin_view`):

* a superuser, unless DEBUG is on (a developer's laptop);
* every staff member of a clinic that requires it (`Clinic.require_staff_two_factor`);
* anyone who has set it up for themselves.

Signing in stays two steps: the admin's own password page, then this module's
code page. Someone who needs a second factor and has none is taken to set one up
before any admin page. Patients are never asked.

Wrong codes are counted per account in the database (`clinic.throttle`): after as
many failures as a password lockout allows (`AXES_FAILURE_LIMIT`), the account is
signed out and the code page refuses it for the same cool-off. A password sign-in
does not reset that count, so a stolen password does not buy more guesses.
"""

from __future__ import annotations

import datetime
from typing import Any

import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.functional import LazyObject
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic import audit, throttle
from clinic.models import User, therapist_for

# Whether the signed-in user had a confirmed authenticator when they signed in
# (kept in the session so that admin pages do not ask the database each time).
ENROLLED = "rehabit_two_factor_enrolled"
RECOVERY_CODES = 10
APP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"


def failure_rule() -> throttle.Rule:
    return throttle.Rule(
        "second-factor-account",
        settings.AXES_FAILURE_LIMIT,
        datetime.timedelta(hours=settings.AXES_COOLOFF_TIME),
    )


def has_app(user: Any) -> bool:
    return bool(TOTPDevice.objects.filter(user=user, confirmed=True).exists())


def remember_enrolment(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """user_logged_in receiver: note whether this staff member has an authenticator."""
    if request is not None and hasattr(request, "session") and user.is_staff:
        request.session[ENROLLED] = has_app(user)


user_logged_in.connect(remember_enrolment, dispatch_uid="clinic.two_factor.enrolment")


def required_by_policy(request: HttpRequest) -> bool:
    """The clinic or the role asks for a second factor, whether or not one is set up."""
    user = request.user
    if user.is_superuser and not settings.DEBUG:
        return True
    therapist = therapist_for(request)
    return therapist is not None and therapist.clinic.require_staff_two_factor


def required(request: HttpRequest) -> bool:
    user = request.user
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    return bool(request.session.get(ENROLLED)) or required_by_policy(request)


def is_verified(request: HttpRequest) -> bool:
    verified = getattr(request.user, "is_verified", None)
    return bool(verified and verified())


def gate(request: HttpRequest) -> HttpResponse | None:
    """Where an admin page request must go first, or None to let it through."""
    if not required(request) or is_verified(request):
        return None
    name = "admin:two_factor_verify" if request.session.get(ENROLLED) else "admin:two_factor_setup"
    return redirect(f"{reverse(name)}?next={request.get_full_path()}")


def staff_user(request: HttpRequest) -> User:
    # These views are behind the admin's own check: a signed-in, active staff member.
    user = request.user
    assert isinstance(user, User)
    # The row itself, not the lazy wrappers (Django's, django-otp's around it): the
    # audit trail reads its type.
    real: Any = user
    while isinstance(real, LazyObject):
        real = real._wrapped
    assert isinstance(real, User)
    return real


def _next_url(request: HttpRequest) -> str:
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return reverse("admin:index")


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Sign-in code"),
        max_length=16,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
                "autocapitalize": "none",
                "spellcheck": "false",
            }
        ),
    )

    def clean_code(self) -> str:
        return "".join(self.cleaned_data["code"].split()).lower()


def _new_recovery_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def _show_codes(request: HttpRequest, codes: list[str], next_url: str) -> TemplateResponse:
    return TemplateResponse(
        request,
        "admin/two_factor/recovery_codes.html",
        {**_context(request, _("Your recovery codes")), "codes": codes, "next": next_url},
    )


def _context(request: HttpRequest, title: Any) -> dict[str, Any]:
    from django.contrib import admin

    return {**admin.site.each_context(request), "title": title}


def _lockout(request: HttpRequest) -> HttpResponse:
    logout(request)
    return TemplateResponse(
        request,
        "admin/two_factor/locked_out.html",
        {
            **_context(request, _("Too many wrong codes")),
            "minutes": int(failure_rule().window.total_seconds() // 60),
        },
        status=429,
    )


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: a code from the app, or a recovery code."""
    user = staff_user(request)
    if is_verified(request) or not required(request):
        return HttpResponseRedirect(_next_url(request))
    if not request.session.get(ENROLLED):
        return redirect(f"{reverse('admin:two_factor_setup')}?next={_next_url(request)}")
    rule = failure_rule()
    if throttle.blocked(rule, user.pk):
        return _lockout(request)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(user, form.cleaned_data["code"])
        if device is not None:
            # As a right password resets a password lockout's count (AXES_RESET_ON_SUCCESS).
            throttle.reset(rule, user.pk)
            otp_login(request, device)
            audit.record(request, audit.Action.SIGN_IN, detail="second factor verified")
            # A fresh session key now that the sign-in is complete.
            request.session.cycle_key()
            if isinstance(device, StaticDevice):
                left = StaticToken.objects.filter(device=device).count()
                messages.warning(
                    request,
                    _(
                        "You signed in with a recovery code; %(left)d are left. "
                        "Set up your authenticator app again under Two-factor sign-in."
                    )
                    % {"left": left},
                )
            return HttpResponseRedirect(_next_url(request))
        throttle.hit(rule, user.pk)
        locked = throttle.blocked(rule, user.pk)
        audit.record(
            request,
            audit.Action.SIGN_IN_FAILED,
            detail="wrong second-factor code" + ("; account paused" if locked else ""),
        )
        if locked:
            return _lockout(request)
        form.add_error(
            "code",
            _(
                "That code is not right. Codes change every 30 seconds: enter the one "
                "your app shows now, and check that your phone's clock is set automatically."
            ),
        )
    return TemplateResponse(
        request,
        "admin/two_factor/verify.html",
        {
            **_context(request, _("Enter your sign-in code")),
            "form": form,
            "next": _next_url(request),
        },
    )


verify.before_gate = True  # type: ignore[attr-defined]


def _unconfirmed_app(user: User) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, confirmed=False)
    return device


def secret_in_groups(device: TOTPDevice) -> str:
    from base64 import b32encode

    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@require_http_methods(["GET", "POST"])
def setup(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: scan, confirm with a code, get recovery codes."""
    user = staff_user(request)
    # Replacing a working authenticator needs the second factor first: a stolen
    # password alone must not be able to enrol the thief's phone.
    if request.session.get(ENROLLED) and not is_verified(request):
        return redirect(f"{reverse('admin:two_factor_verify')}?next={request.get_full_path()}")
    device = _unconfirmed_app(user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"]):
            with transaction.atomic():
                TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                codes = _new_recovery_codes(user)
            otp_login(request, device)
            request.session.cycle_key()
            request.session[ENROLLED] = True
            audit.record(request, audit.Action.CHANGE, obj=user, detail="two-factor sign-in on")
            return _show_codes(request, codes, _next_url(request))
        form.add_error(
            "code",
            _(
                "That code did not match. Enter the 6-digit code your app shows now for "
                "Rehabit, and check that your phone's clock is set automatically."
            ),
        )
    return TemplateResponse(
        request,
        "admin/two_factor/setup.html",
        {
            **_context(request, _("Set up two-factor sign-in")),
            "form": form,
            "next": _next_url(request),
            "required": required_by_policy(request),
            "qr": segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2),
            "secret": secret_in_groups(device),
        },
    )


setup.before_gate = True  # type: ignore[attr-defined]


@require_http_methods(["GET", "POST"])
def manage(request: HttpRequest) -> HttpResponse:
    """Two-factor sign-in for oneself: its state, new recovery codes, turning it off."""
    user = staff_user(request)
    enrolled = bool(request.session.get(ENROLLED))
    if enrolled and not is_verified(request):
        return redirect(f"{reverse('admin:two_factor_verify')}?next={request.get_full_path()}")
    policy = required_by_policy(request)
    if request.method == "POST" and enrolled:
        if request.POST.get("action") == "codes":
            audit.record(request, audit.Action.CHANGE, obj=user, detail="new recovery codes")
            return _show_codes(
                request,
                _new_recovery_codes(user),
                reverse("admin:two_factor"),
            )
        if request.POST.get("action") == "off" and not policy:
            TOTPDevice.objects.filter(user=user).delete()
            StaticDevice.objects.filter(user=user).delete()
            request.session[ENROLLED] = False
            audit.record(request, audit.Action.CHANGE, obj=user, detail="two-factor sign-in off")
            messages.success(request, _("Two-factor sign-in is off."))
            return redirect("admin:two_factor")
    codes_left = StaticToken.objects.filter(device__user=user).count() if enrolled else 0
    return TemplateResponse(
        request,
        "admin/two_factor/manage.html",
        {
            **_context(request, _("Two-factor sign-in")),
            "enrolled": enrolled,
            "required": policy,
            "codes_left": codes_left,
        },
    )
