"""Rate limits beyond sign-in: password resets, welcome links and invitation emails."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinic import throttle
from clinic.invitations import invite_patient
from clinic.models import AuditEntry, ThrottleCounter
from clinic.scoping import unscoped
from tests import factories
from tests.conftest import login

pytestmark = pytest.mark.django_db


def reset(client: Client, email: str, address: str = "203.0.113.7"):
    return client.post(reverse("portal:password_reset"), {"email": email}, REMOTE_ADDR=address)


def test_it_stops_sending_reset_emails_for_one_account_without_saying_so(client, patient):
    email = patient.user.email
    answers = [reset(client, email, address=f"203.0.113.{n}") for n in range(5)]
    # The same answer every time, from five different addresses: only three emails.
    assert {a.status_code for a in answers} == {302}
    assert {a["Location"] for a in answers} == {reverse("portal:password_reset_done")}
    assert len(mail.outbox) == throttle.RESET_PER_ACCOUNT.limit


def test_it_answers_unknown_and_known_addresses_alike_when_throttled(client, patient):
    for _ in range(throttle.RESET_PER_ACCOUNT.limit + 1):
        known = reset(client, patient.user.email, address="203.0.113.1")
        unknown = reset(client, "nobody@example.org", address="203.0.113.2")
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])


def test_it_counts_an_account_case_insensitively(client, patient):
    for n in range(throttle.RESET_PER_ACCOUNT.limit + 2):
        reset(client, patient.user.email.upper() if n % 2 else patient.user.email)
    assert len(mail.outbox) == throttle.RESET_PER_ACCOUNT.limit


def test_it_pauses_one_address_asking_for_many_accounts(client, db):
    limit = throttle.RESET_PER_ADDRESS.limit
    for n in range(limit):
        assert reset(client, f"guess{n}@example.org").status_code == 302
    refused = reset(client, "guess-more@example.org")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "3600"
    assert "Too many requests" in refused.content.decode()
    with unscoped():
        entry = AuditEntry.objects.get(action=AuditEntry.Action.REFUSED)
    assert (entry.detail, entry.ip_address) == ("rate limit: password-reset-address", "203.0.113.7")
    # Another address is not affected.
    assert reset(client, "guess-more@example.org", address="198.51.100.1").status_code == 302


def test_it_holds_the_limit_across_processes(client, patient):
    """The counter is a database row, which every web process shares: a second
    client (a new process would be the same) finds the first one's count."""
    for _ in range(throttle.RESET_PER_ACCOUNT.limit):
        reset(client, patient.user.email)
    assert ThrottleCounter.objects.count() == 2  # the address and the account
    reset(Client(), patient.user.email, address="192.0.2.9")
    assert len(mail.outbox) == throttle.RESET_PER_ACCOUNT.limit


def test_it_starts_counting_again_in_the_next_window(client, patient, monkeypatch):
    for _ in range(throttle.RESET_PER_ACCOUNT.limit + 1):
        reset(client, patient.user.email)
    later = timezone.now() + datetime.timedelta(hours=1, minutes=1)
    monkeypatch.setattr("clinic.throttle.timezone.now", lambda: later)
    reset(client, patient.user.email)
    assert len(mail.outbox) == throttle.RESET_PER_ACCOUNT.limit + 1
    # The counters of the window that ended are gone.
    assert not ThrottleCounter.objects.filter(window_ends__lte=later).exists()


def test_it_pauses_an_address_that_tries_many_welcome_links(client, db):
    limit = throttle.WELCOME_PER_ADDRESS.limit
    for n in range(limit):
        response = client.get(reverse("portal:welcome", args=[f"guess-{n}"]))
        assert response.status_code == 404
    assert client.get(reverse("portal:welcome", args=["guess-last"])).status_code == 429


def test_a_good_link_still_opens_from_another_address(client, clinic, therapist):
    new = factories.make_patient(clinic, therapist, email="nora@example.org")
    with unscoped():
        link = invite_patient(patient=new, invited_by=therapist.user, send_email=False)
    for n in range(throttle.WELCOME_PER_ADDRESS.limit):
        client.get(reverse("portal:welcome", args=[f"guess-{n}"]))
    response = client.get(link, REMOTE_ADDR="198.51.100.4", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("portal:welcome_form")


def test_it_limits_set_password_attempts_on_one_invitation(client, clinic, therapist):
    new = factories.make_patient(clinic, therapist, email="nora@example.org")
    with unscoped():
        link = invite_patient(patient=new, invited_by=therapist.user, send_email=False)
    weak = {"new_password1": "123", "new_password2": "123"}
    client.get(link)  # the link's token is exchanged for one kept in the session
    form = reverse("portal:welcome_form")
    for _ in range(throttle.WELCOME_PER_ACCOUNT.limit):
        assert client.post(form, weak).status_code == 200  # the form, with its error
    assert client.post(form, weak).status_code == 429


def test_it_limits_invitation_emails_to_one_patient(
    clinic, therapist, django_capture_on_commit_callbacks
):
    new = factories.make_patient(clinic, therapist, email="nora@example.org")
    with unscoped(), django_capture_on_commit_callbacks(execute=True):
        for _ in range(throttle.INVITATION_PER_ACCOUNT.limit):
            invite_patient(patient=new, invited_by=therapist.user)
        with pytest.raises(ValidationError, match="already sent 5 invitations"):
            invite_patient(patient=new, invited_by=therapist.user)
        # A printed invitation (no email) is still possible.
        invite_patient(patient=new, invited_by=therapist.user, send_email=False)
    assert len(mail.outbox) == throttle.INVITATION_PER_ACCOUNT.limit


def test_the_admin_says_why_no_invitation_was_sent(
    client, clinic, therapist, django_capture_on_commit_callbacks
):
    new = factories.make_patient(clinic, therapist, email="nora@example.org")
    login(client, therapist)
    data = {"action": "invite_to_portal", "_selected_action": [new.pk]}
    url = reverse("admin:clinic_patient_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(throttle.INVITATION_PER_ACCOUNT.limit + 1):
            response = client.post(url, data, follow=True)
    assert len(mail.outbox) == throttle.INVITATION_PER_ACCOUNT.limit
    assert "already sent 5 invitations in the last hour" in response.content.decode()
