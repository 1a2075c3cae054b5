"""Portal invitations: the service, the set-password page and the admin."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinic.invitations import invite_patient
from clinic.models import PortalInvitation, User
from clinic.scoping import unscoped
from portal.invitations import InvitationInvalid, accept_invitation
from tests import factories
from tests.conftest import login

NEW_PASSWORD = "knee-over-toes-2026"


def _token(link: str) -> str:
    match = re.search(r"/portal/welcome/([^/]+)/$", link)
    assert match is not None
    return match.group(1)


@pytest.fixture
def new_patient(clinic, therapist):
    return factories.make_patient(clinic, therapist, first_name="Nora", email="Nora@Example.org")


def test_it_creates_a_patient_login_that_is_never_staff(new_patient, therapist):
    with unscoped():
        link = invite_patient(patient=new_patient, invited_by=therapist.user, send_email=False)
    new_patient.refresh_from_db()
    user = new_patient.user
    assert user is not None
    assert user.email == "nora@example.org"
    assert user.is_staff is False
    assert user.is_superuser is False
    assert user.has_usable_password() is False
    assert link.startswith("http://testserver/portal/welcome/")


def test_it_stores_only_a_hash_of_the_token(new_patient, therapist):
    with unscoped():
        token = _token(
            invite_patient(patient=new_patient, invited_by=therapist.user, send_email=False)
        )
        invitation = PortalInvitation.objects.get()
    assert invitation.token_hash == PortalInvitation.hash_token(token)
    assert token not in invitation.token_hash
    assert invitation.created_by == therapist.user
    assert invitation.expires_at - invitation.created_at == datetime.timedelta(hours=72)


def test_it_emails_the_link(new_patient, therapist, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), unscoped():
        link = invite_patient(patient=new_patient, invited_by=therapist.user)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["nora@example.org"]
    assert link in mail.outbox[0].body
    assert "Riverside Physio" in mail.outbox[0].subject


def test_it_accepts_once(new_patient, therapist):
    with unscoped():
        token = _token(
            invite_patient(patient=new_patient, invited_by=therapist.user, send_email=False)
        )
        user = accept_invitation(token, NEW_PASSWORD)
        assert user.check_password(NEW_PASSWORD)
        assert PortalInvitation.objects.get().used_at is not None
    with pytest.raises(InvitationInvalid), unscoped():
        accept_invitation(token, "another-password-99")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_it_expires_after_72_hours(new_patient, therapist, monkeypatch):
    with unscoped():
        token = _token(
            invite_patient(patient=new_patient, invited_by=therapist.user, send_email=False)
        )
    later = timezone.now() + datetime.timedelta(hours=72, seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    with pytest.raises(InvitationInvalid), unscoped():
        accept_invitation(token, NEW_PASSWORD)
    new_patient.refresh_from_db()
    assert new_patient.user.has_usable_password() is False


def test_it_still_works_just_before_72_hours(new_patient, therapist, monkeypatch):
    with unscoped():
        token = _token(
            invite_patient(patient=new_patient, invited_by=therapist.user, send_email=False)
        )
        later = timezone.now() + datetime.timedelta(hours=71, minutes=59)
        monkeypatch.setattr(timezone, "now", lambda: later)
        assert accept_invitation(token, NEW_PASSWORD).check_password(NEW_PASSWORD)


def test_a_new_invitation_revokes_the_old_one(new_patient, therapist):
    with unscoped():
        old = _token(
            invite_patient(patient=new_patient, invited_by=therapist.user, send_email=False)
        )
        new = _token(
            invite_patient(patient=new_patient, invited_by=therapist.user, send_email=False)
        )
    assert User.objects.filter(email="nora@example.org").count() == 1
    with pytest.raises(InvitationInvalid), unscoped():
        accept_invitation(old, NEW_PASSWORD)
    with unscoped():
        accept_invitation(new, NEW_PASSWORD)


def test_it_refuses_a_weak_password_and_keeps_the_link(new_patient, therapist):
    with unscoped():
        token = _token(
            invite_patient(patient=new_patient, invited_by=therapist.user, send_email=False)
        )
    with pytest.raises(ValidationError), unscoped():
        accept_invitation(token, "123")
    with unscoped():
        assert PortalInvitation.objects.usable().count() == 1


def test_it_refuses_a_patient_without_an_email(clinic, therapist):
    patient = factories.make_patient(clinic, therapist, email="")
    with pytest.raises(ValidationError, match="email address"):
        invite_patient(patient=patient, invited_by=therapist.user, send_email=False)
    with unscoped():
        assert not PortalInvitation.objects.exists()


def test_it_refuses_an_address_that_belongs_to_a_therapist(clinic, therapist, colleague):
    patient = factories.make_patient(clinic, therapist, email=colleague.user.email.upper())
    with pytest.raises(ValidationError, match="Another account"):
        invite_patient(patient=patient, invited_by=therapist.user, send_email=False)
    patient.refresh_from_db()
    assert patient.user is None
    with unscoped():
        assert not PortalInvitation.objects.exists()


def test_it_refuses_a_patient_whose_login_is_staff(clinic, therapist, colleague):
    patient = factories.make_patient(clinic, therapist)
    patient.user = colleague.user
    patient.save()
    with pytest.raises(ValidationError, match="staff"):
        invite_patient(patient=patient, invited_by=therapist.user, send_email=False)


# The set-password page ------------------------------------------------------


def test_it_sets_the_password_on_the_welcome_page_and_signs_in(client, new_patient, therapist):
    with unscoped():
        link = invite_patient(patient=new_patient, invited_by=therapist.user, send_email=False)
    url = link.removeprefix("http://testserver")
    page = client.get(url, follow=True)
    assert page.status_code == 200
    # The token is exchanged on the first visit: the form's URL holds none.
    assert page.redirect_chain == [(reverse("portal:welcome_form"), 302)]
    assert "nora@example.org" in page.content.decode()
    response = client.post(
        reverse("portal:welcome_form"),
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:today")
    assert client.get(reverse("portal:today")).status_code == 200
    # Used up: the page now says so.
    client.logout()
    again = client.get(url)
    assert again.status_code == 404
    assert "no longer works" in again.content.decode()
    assert client.get(reverse("portal:welcome_form")).status_code == 404


def test_it_keeps_the_link_when_the_passwords_differ(client, new_patient, therapist):
    with unscoped():
        link = invite_patient(patient=new_patient, invited_by=therapist.user, send_email=False)
    client.get(link.removeprefix("http://testserver"))
    response = client.post(
        reverse("portal:welcome_form"),
        {"new_password1": NEW_PASSWORD, "new_password2": "other-pass-77"},
    )
    assert response.status_code == 200
    with unscoped():
        assert PortalInvitation.objects.usable().count() == 1
    assert "_auth_user_id" not in client.session


def test_the_link_in_a_log_is_useless_after_its_first_visit(client, new_patient, therapist):
    with unscoped():
        link = invite_patient(patient=new_patient, invited_by=therapist.user, send_email=False)
    url = link.removeprefix("http://testserver")
    assert client.get(url).status_code == 302
    # Someone who read the URL in the server's access log, in another browser:
    snooper = Client()
    assert snooper.get(url).status_code == 404
    assert snooper.get(reverse("portal:welcome_form")).status_code == 404
    assert snooper.post(url, {"new_password1": "x", "new_password2": "x"}).status_code == 405
    # The patient's own browser carries on.
    response = client.post(
        reverse("portal:welcome_form"),
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302


def test_a_changed_password_revokes_an_unused_link(client, patient, therapist):
    with unscoped():
        link = invite_patient(patient=patient, invited_by=therapist.user, send_email=False)
    user = patient.user
    user.set_password("changed-elsewhere-99")
    user.save()
    response = client.get(link.removeprefix("http://testserver"))
    assert response.status_code == 404
    with unscoped():
        invitation = PortalInvitation.objects.get()
    assert invitation.revoked_at is not None and invitation.used_at is None


def test_a_password_reset_revokes_an_unused_link(client, patient, therapist):
    with unscoped():
        link = invite_patient(patient=patient, invited_by=therapist.user, send_email=False)
    mail.outbox.clear()
    client.post(reverse("portal:password_reset"), {"email": patient.user.email})
    reset = re.search(r"http://testserver(/portal/password-reset/\S+/)", str(mail.outbox[0].body))
    assert reset is not None
    form_url = client.get(reset.group(1), follow=True).redirect_chain[-1][0]
    new = "a-brand-new-pass-42"
    assert client.post(form_url, {"new_password1": new, "new_password2": new}).status_code == 302
    assert Client().get(link.removeprefix("http://testserver")).status_code == 404


def test_signing_in_with_a_password_revokes_an_unused_link(client, patient, therapist):
    with unscoped():
        link = invite_patient(patient=patient, invited_by=therapist.user, send_email=False)
    response = client.post(
        reverse("portal:login"),
        {"username": patient.user.email, "password": "patient-pass-123"},
    )
    assert response.status_code == 302
    assert Client().get(link.removeprefix("http://testserver")).status_code == 404


def test_it_shows_a_friendly_page_for_an_unknown_link(client, db):
    response = client.get(reverse("portal:welcome", args=["made-up-token"]))
    assert response.status_code == 404
    assert "ask your clinic for a new link" in response.content.decode()


# The admin -------------------------------------------------------------------


def _invitation_url(patient) -> str:
    return reverse("admin:clinic_patient_portal_invitation", args=[patient.pk])


def test_the_admin_prints_a_fresh_link(client, therapist, new_patient):
    login(client, therapist)
    confirm = client.get(_invitation_url(new_patient))
    assert confirm.status_code == 200
    with unscoped():
        assert not PortalInvitation.objects.exists()
    response = client.post(_invitation_url(new_patient))
    assert response.status_code == 200
    html = response.content.decode()
    link = re.search(r"http://testserver/portal/welcome/[^<\s]+/", html)
    assert link is not None
    assert "no-store" in response["Cache-Control"]
    assert 'src="data:image/svg+xml' in html  # the QR code
    with unscoped():
        accept_invitation(_token(link.group(0)), NEW_PASSWORD)
    assert mail.outbox == []


def test_the_admin_hides_other_clinics_patients(client, outsider, new_patient):
    login(client, outsider)
    assert client.get(_invitation_url(new_patient)).status_code == 404
    assert client.post(_invitation_url(new_patient)).status_code == 404
    with unscoped():
        assert not PortalInvitation.objects.exists()


def test_the_admin_refuses_patients_and_anonymous_visitors(client, patient, new_patient):
    response = client.post(_invitation_url(new_patient))
    assert response.status_code == 302
    login(client, patient)
    response = client.post(_invitation_url(new_patient))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    with unscoped():
        assert not PortalInvitation.objects.exists()


def test_the_admin_action_invites_by_email(
    client, therapist, new_patient, other_patient, django_capture_on_commit_callbacks
):
    login(client, therapist)
    without_email = factories.make_patient(therapist.clinic, therapist, email="")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:clinic_patient_changelist"),
            {
                "action": "invite_to_portal",
                "_selected_action": [new_patient.pk, without_email.pk],
            },
            follow=True,
        )
    assert response.status_code == 200
    assert [m.to for m in mail.outbox] == [["nora@example.org"]]
    text = response.content.decode()
    assert "Sent 1 invitation by email" in text
    assert "Add the patient" in text


def test_the_admin_action_cannot_reach_other_clinics(client, outsider, new_patient):
    login(client, outsider)
    client.post(
        reverse("admin:clinic_patient_changelist"),
        {"action": "invite_to_portal", "_selected_action": [new_patient.pk]},
    )
    with unscoped():
        assert not PortalInvitation.objects.exists()


def test_the_patient_page_shows_the_portal_status(client, therapist, new_patient):
    login(client, therapist)
    url = reverse("admin:clinic_patient_change", args=[new_patient.pk])
    assert "Not invited yet." in client.get(url).content.decode()
    with unscoped():
        invite_patient(patient=new_patient, invited_by=therapist.user, send_email=False)
    html = client.get(url).content.decode()
    assert "Invited; the link works until" in html
    assert _invitation_url(new_patient) in html
