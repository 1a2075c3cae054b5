"""Signing in reads the user with their patient record (clinic.backends.ProfileBackend):
one query less a portal request, and the same rules for who is signed in."""

from __future__ import annotations

from django.urls import reverse

from clinic.models import User
from clinic.scoping import unscoped
from tests.conftest import login


def test_the_portal_reads_the_user_and_the_patient_in_one_query(client, patient):
    login(client, patient)
    client.get(reverse("portal:settings"))
    response = client.get(reverse("portal:settings"))
    assert response.status_code == 200
    assert response.wsgi_request.user.patient == patient  # read with the user, no query


def test_a_deactivated_user_is_signed_out(client, patient):
    login(client, patient)
    assert client.get(reverse("portal:today")).status_code == 200
    User.objects.filter(pk=patient.user_id).update(is_active=False)
    response = client.get(reverse("portal:today"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal:login"))


def test_a_password_changed_elsewhere_signs_the_session_out(client, patient):
    login(client, patient)
    assert client.get(reverse("portal:today")).status_code == 200
    user = User.objects.get(pk=patient.user_id)
    user.set_password("a-new-password-456")
    user.save()
    response = client.get(reverse("portal:today"))
    assert response.status_code == 302


def test_a_deactivated_patient_record_is_not_found(client, patient):
    login(client, patient)
    with unscoped():
        type(patient).objects.filter(pk=patient.pk).update(is_active=False)
    assert client.get(reverse("portal:today")).status_code == 404


def test_staff_still_sign_in_to_the_admin(client, therapist):
    login(client, therapist)
    assert client.get(reverse("admin:index")).status_code == 200
