"""A therapist of a clinic that requires two-factor sign-in, in a real browser:
enrol, sign out, sign in with a code, a wrong code, then a lockout."""

from __future__ import annotations

import re
from base64 import b32decode
from typing import Any

import pytest
from django.conf import settings
from django_otp.oath import totp

from clinic.models import Clinic
from clinic.scoping import unscoped
from tests import factories

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "tess@riverside.example"
PASSWORD = "therapist-pass-123"


def code(secret: bytes, steps_ahead: int = 0) -> str:
    return f"{totp(secret, drift=steps_ahead):06d}"


def sign_in_with_password(page: Any, url: str) -> None:
    page.goto(f"{url}/admin/login/")
    page.fill("#id_username", EMAIL)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_a_therapist_enrols_signs_in_with_a_code_and_is_locked_out(
    live_server: Any, browser: Any, screens: Any
) -> None:
    clinic = factories.make_clinic("Riverside Physio")
    with unscoped():
        Clinic.objects.filter(pk=clinic.pk).update(require_staff_two_factor=True)
    factories.make_therapist(clinic, email=EMAIL)
    url = live_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()

    # The password alone leads to the setup page, not the admin.
    sign_in_with_password(page, url)
    page.wait_for_url(re.compile(r"/admin/two-factor/setup/"))
    expect(page.get_by_text("Your clinic asks everyone")).to_be_visible()
    expect(page.get_by_role("img", name="QR code to add Rehabit")).to_be_visible()
    page.screenshot(path=screens / "2fa-1-setup.png", full_page=True)
    secret = b32decode(page.locator(".two-factor-secret").inner_text().replace(" ", ""))
    page.get_by_label("Code").fill(code(secret))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.get_by_text("Two-factor sign-in is on.")).to_be_visible()
    assert page.locator(".two-factor-codes li").count() == 10
    page.screenshot(path=screens / "2fa-2-recovery-codes.png", full_page=True)
    page.get_by_role("link", name="I have saved my codes: continue").click()
    page.wait_for_url(f"{url}/admin/")
    page.get_by_role("button", name="Log out").click()

    # Signing in again: password, then a code from the "app".
    sign_in_with_password(page, url)
    page.wait_for_url(re.compile(r"/admin/two-factor/verify/"))
    page.get_by_label("Code").fill("123456" if code(secret, 1) != "123456" else "654321")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("That code is not right.")).to_be_visible()
    page.screenshot(path=screens / "2fa-3-wrong-code.png", full_page=True)
    page.get_by_label("Code").fill(code(secret, 1))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/admin/")
    expect(page.get_by_role("link", name="Two-factor sign-in")).to_be_visible()
    page.get_by_role("button", name="Log out").click()

    # Wrong codes, as many as a password lockout allows: signed out and paused.
    sign_in_with_password(page, url)
    page.wait_for_url(re.compile(r"/admin/two-factor/verify/"))
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        page.get_by_label("Code").fill(f"{attempt:06d}")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
    expect(page.get_by_role("heading", name="Too many wrong codes")).to_be_visible()
    page.screenshot(path=screens / "2fa-4-locked-out.png", full_page=True)
    # The password still works, but the code page stays closed.
    sign_in_with_password(page, url)
    expect(page.get_by_role("heading", name="Too many wrong codes")).to_be_visible()
    context.close()
