"""Signing in to the portal: passwords, lockout, staff, session expiry, password reset."""

from __future__ import annotations

import datetime
import re

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.conftest import login

PASSWORD = "patient-pass-123"
WRONG = "not-the-password"


def _sign_in(client: Client, email: str, password: str):
    return client.post(reverse("portal:login"), {"username": email, "password": password})


def _error_text(response) -> str:
    return " ".join(str(e) for e in response.context["form"].non_field_errors())


def test_it_signs_a_patient_in_and_sets_their_language(client, patient):
    patient.preferred_language = "de"
    patient.save()
    response = _sign_in(client, patient.user.email.upper(), PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:today")
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    assert client.get(reverse("portal:today")).status_code == 200


def test_it_gives_the_same_message_for_unknown_accounts_and_wrong_passwords(client, patient):
    wrong_password = _sign_in(client, patient.user.email, WRONG)
    unknown = _sign_in(client, "nobody@example.org", WRONG)
    assert wrong_password.status_code == unknown.status_code == 200
    assert _error_text(wrong_password) == _error_text(unknown)
    assert "do not match" in _error_text(unknown)


def test_it_refuses_a_user_who_is_not_an_active_patient_with_the_same_message(
    client, patient, django_user_model
):
    django_user_model.objects.create_user(email="loose@example.org", password=PASSWORD)
    loose = _sign_in(client, "loose@example.org", PASSWORD)
    unknown = _sign_in(client, "nobody@example.org", WRONG)
    assert _error_text(loose) == _error_text(unknown)
    patient.is_active = False
    patient.save()
    assert _error_text(_sign_in(client, patient.user.email, PASSWORD)) == _error_text(unknown)


@pytest.mark.parametrize("account", ["known", "unknown"])
def test_it_locks_out_after_five_failures_with_one_message_for_any_account(
    client, patient, account
):
    email = patient.user.email if account == "known" else "nobody@example.org"
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _sign_in(client, email, WRONG).status_code == 200
    locked = _sign_in(client, email, WRONG)
    assert locked.status_code == 429
    assert "Too many attempts" in locked.content.decode()
    # Even the right password is refused while the lockout lasts.
    again = _sign_in(client, email, PASSWORD)
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.filter(username=email).exists()


def test_it_renders_the_same_lockout_page_for_known_and_unknown_accounts(client, patient):
    pages = []
    for email in (patient.user.email, "nobody@example.org"):
        for _ in range(settings.AXES_FAILURE_LIMIT):
            response = _sign_in(client, email, WRONG)
        pages.append(
            re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
        )
    assert pages[0] == pages[1]


def test_it_locks_only_that_account_from_that_source(client, patient, other_patient):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(client, patient.user.email, WRONG)
    assert _sign_in(client, other_patient.user.email, PASSWORD).status_code == 302
    other_source = Client(REMOTE_ADDR="10.9.8.7")
    assert _sign_in(other_source, patient.user.email, PASSWORD).status_code == 302


def test_it_sends_staff_who_sign_in_to_the_portal_to_the_admin(client, therapist):
    response = _sign_in(client, therapist.user.email, "therapist-pass-123")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


def test_patients_are_never_staff_and_cannot_reach_the_admin(client, patient):
    assert patient.user.is_staff is False
    assert patient.user.is_superuser is False
    login(client, patient)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    client.logout()
    response = client.post(
        reverse("admin:login"), {"username": patient.user.email, "password": PASSWORD}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_it_offers_no_self_registration(client):
    page = client.get(reverse("portal:login")).content.decode()
    assert "register" not in page.lower()
    assert client.get("/portal/register/").status_code == 404
    assert client.get("/portal/signup/").status_code == 404


def test_it_ends_sessions_after_thirty_idle_minutes(client, patient, monkeypatch):
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    # Renewed at most once a minute (clinic.sessions), not on every request.
    assert settings.SESSION_SAVE_EVERY_REQUEST is False
    login(client, patient)
    start = timezone.now()
    url = reverse("portal:today")
    # Activity every 20 minutes keeps the session alive...
    for minutes in (20, 40, 60):
        monkeypatch.setattr(
            timezone, "now", lambda m=minutes: start + datetime.timedelta(minutes=m)
        )
        assert client.get(url).status_code == 200
    # ...31 idle minutes end it.
    monkeypatch.setattr(timezone, "now", lambda: start + datetime.timedelta(minutes=91))
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal:login"))


def test_it_writes_the_session_at_most_once_a_minute(client, patient, monkeypatch):
    login(client, patient)
    start = timezone.now()
    url = reverse("portal:today")

    def session_writes(at_seconds: int) -> list[str]:
        monkeypatch.setattr(timezone, "now", lambda: start + datetime.timedelta(seconds=at_seconds))
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return [
            q["sql"]
            for q in queries.captured_queries
            if "django_session" in q["sql"] and not q["sql"].startswith("SELECT")
        ]

    assert len(session_writes(1)) == 1  # the first request renews the expiry
    assert session_writes(30) == []  # a page read within the minute writes nothing
    assert session_writes(59) == []
    assert len(session_writes(95)) == 1  # a minute later the expiry is renewed again


def test_it_resets_a_forgotten_password_by_email(client, patient):
    response = client.post(reverse("portal:password_reset"), {"email": patient.user.email})
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:password_reset_done")
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/portal/password-reset/\S+/)", str(mail.outbox[0].body))
    assert link is not None
    response = client.get(link.group(1), follow=True)
    assert response.status_code == 200
    form_url = response.redirect_chain[-1][0]
    new_password = "a-brand-new-pass-42"
    response = client.post(form_url, {"new_password1": new_password, "new_password2": new_password})
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:password_reset_complete")
    assert _sign_in(Client(), patient.user.email, new_password).status_code == 302
    # The link works once.
    assert client.get(link.group(1), follow=True).context["validlink"] is False


def test_it_does_not_reveal_unknown_addresses_on_password_reset(client, db):
    response = client.post(reverse("portal:password_reset"), {"email": "nobody@example.org"})
    assert response["Location"] == reverse("portal:password_reset_done")
    assert mail.outbox == []


def test_it_shows_friendly_error_pages(client, patient):
    response = client.get("/portal/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    csrf_client = Client(enforce_csrf_checks=True)
    response = csrf_client.post(reverse("portal:login"), {"username": "a@b.c", "password": "x"})
    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()
