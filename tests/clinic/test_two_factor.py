"""Staff two-factor sign-in: who is asked, enrolment, codes, recovery codes, lockout."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.models import AuditEntry, Clinic, User
from clinic.scoping import unscoped
from tests import factories
from tests.conftest import login

pytestmark = pytest.mark.django_db

PASSWORD = "therapist-pass-123"


def code_for(device: TOTPDevice, offset: int = 0) -> str:
    number = totp(device.bin_key, step=device.step, t0=device.t0, drift=offset)
    return f"{number:06d}"


def sign_in(client: Client, email: str, password: str = PASSWORD):
    return client.post(
        reverse("admin:login"), {"username": email, "password": password}, follow=True
    )


@pytest.fixture
def strict_clinic(clinic: Clinic) -> Clinic:
    with unscoped():
        Clinic.objects.filter(pk=clinic.pk).update(require_staff_two_factor=True)
    clinic.refresh_from_db()
    return clinic


def enrol(client: Client, user: User) -> TOTPDevice:
    """Go through the setup page as a person would; returns the confirmed device."""
    page = client.get(reverse("admin:two_factor_setup"))
    assert page.status_code == 200
    with unscoped():
        device = TOTPDevice.objects.get(user=user, confirmed=False)
    done = client.post(reverse("admin:two_factor_setup"), {"code": code_for(device)})
    assert done.status_code == 200
    assert "Your recovery codes" in done.content.decode()
    device.refresh_from_db()
    assert device.confirmed
    return device


class TestWhoIsAsked:
    def test_it_leaves_staff_of_a_clinic_that_does_not_require_it_alone(self, client, therapist):
        response = sign_in(client, therapist.user.email)
        assert response.redirect_chain[-1][0] == reverse("admin:index")
        assert response.status_code == 200

    def test_it_sends_staff_of_a_strict_clinic_to_set_it_up_first(
        self, client, strict_clinic, therapist, patient
    ):
        response = sign_in(client, therapist.user.email)
        assert response.redirect_chain[-1][0].startswith(reverse("admin:two_factor_setup"))
        # No admin page opens until then, the patient list included.
        page = client.get(reverse("admin:clinic_patient_changelist"))
        assert page.status_code == 302
        assert page["Location"].startswith(reverse("admin:two_factor_setup"))

    def test_it_asks_superusers_always_outside_debug(self, client, db):
        User.objects.create_superuser("root@example.org", PASSWORD)
        response = sign_in(client, "root@example.org")
        assert response.redirect_chain[-1][0].startswith(reverse("admin:two_factor_setup"))

    def test_it_lets_superusers_through_in_debug(self, client, db, settings):
        settings.DEBUG = True
        User.objects.create_superuser("root@example.org", PASSWORD)
        response = sign_in(client, "root@example.org")
        assert response.redirect_chain[-1][0] == reverse("admin:index")

    def test_it_never_asks_patients(self, client, strict_clinic, patient, plan):
        login(client, patient)
        assert client.get(reverse("portal:today")).status_code == 200


class TestEnrolment:
    def test_it_shows_a_qr_code_and_the_key_to_type(self, client, strict_clinic, therapist):
        client.force_login(therapist.user)
        page = client.get(reverse("admin:two_factor_setup")).content.decode()
        assert 'src="data:image/svg+xml' in page
        with unscoped():
            device = TOTPDevice.objects.get(user=therapist.user)
        secret = re.search(r'class="two-factor-secret">([A-Z2-7 ]+)<', page)
        assert secret is not None
        from base64 import b32decode

        assert b32decode(secret.group(1).replace(" ", "")) == device.bin_key

    def test_it_refuses_a_wrong_code_and_stays_off(self, client, strict_clinic, therapist):
        client.force_login(therapist.user)
        client.get(reverse("admin:two_factor_setup"))
        response = client.post(reverse("admin:two_factor_setup"), {"code": "000000"})
        assert "That code did not match" in response.content.decode()
        with unscoped():
            assert not TOTPDevice.objects.filter(user=therapist.user, confirmed=True).exists()

    def test_it_turns_on_gives_ten_recovery_codes_and_opens_the_admin(
        self, client, strict_clinic, therapist
    ):
        client.force_login(therapist.user)
        enrol(client, therapist.user)
        with unscoped():
            assert StaticToken.objects.filter(device__user=therapist.user).count() == 10
        assert client.get(reverse("admin:index")).status_code == 200

    def test_a_stolen_password_cannot_enrol_another_phone(self, client, therapist):
        client.force_login(therapist.user)
        enrol(client, therapist.user)
        thief = Client()
        sign_in(thief, therapist.user.email)
        response = thief.get(reverse("admin:two_factor_setup"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:two_factor_verify"))


class TestSigningIn:
    @pytest.fixture
    def enrolled(self, client, strict_clinic, therapist) -> TOTPDevice:
        client.force_login(therapist.user)
        device = enrol(client, therapist.user)
        client.logout()
        return device

    def test_it_asks_for_a_code_after_the_password(self, client, enrolled, therapist):
        response = sign_in(client, therapist.user.email)
        assert response.redirect_chain[-1][0].startswith(reverse("admin:two_factor_verify"))
        assert client.get(reverse("admin:index")).status_code == 302
        # The code of the next 30-second step: the one just used to enrol cannot be reused.
        response = client.post(
            reverse("admin:two_factor_verify"), {"code": code_for(enrolled, offset=1)}
        )
        assert response.status_code == 302
        assert client.get(reverse("admin:index")).status_code == 200
        with unscoped():
            assert AuditEntry.objects.filter(
                actor=therapist.user,
                action=AuditEntry.Action.SIGN_IN,
                detail="second factor verified",
            ).exists()

    def test_it_takes_a_recovery_code_once(self, client, enrolled, therapist):
        with unscoped():
            code = StaticToken.objects.filter(device__user=therapist.user).first().token
        sign_in(client, therapist.user.email)
        response = client.post(reverse("admin:two_factor_verify"), {"code": code}, follow=True)
        assert "You signed in with a recovery code; 9 are left" in response.content.decode()
        client.logout()
        sign_in(client, therapist.user.email)
        response = client.post(reverse("admin:two_factor_verify"), {"code": code})
        assert "That code is not right" in response.content.decode()

    def test_it_locks_out_after_as_many_wrong_codes_as_passwords(self, client, enrolled, therapist):
        sign_in(client, therapist.user.email)
        limit = settings.AXES_FAILURE_LIMIT
        for _ in range(limit - 1):
            response = client.post(reverse("admin:two_factor_verify"), {"code": "000000"})
            assert response.status_code == 200
            assert "That code is not right" in response.content.decode()
        response = client.post(reverse("admin:two_factor_verify"), {"code": "000000"})
        assert response.status_code == 429
        assert "Too many wrong codes" in response.content.decode()
        with unscoped():
            trail = list(
                AuditEntry.objects.filter(
                    actor=therapist.user, action=AuditEntry.Action.SIGN_IN_FAILED
                )
                .order_by("pk")
                .values_list("detail", "clinic_id")
            )
        assert len(trail) == limit
        assert trail[-1] == ("wrong second-factor code; account paused", therapist.clinic_id)
        # Signed out; signing in again with the password does not buy more tries,
        # and the right code is refused too until the cool-off ends.
        assert client.get(reverse("admin:index")).status_code == 302
        again = sign_in(client, therapist.user.email)
        assert again.status_code == 429
        response = client.post(
            reverse("admin:two_factor_verify"), {"code": code_for(enrolled, offset=1)}
        )
        assert response["Location"].startswith(reverse("admin:login"))
        assert client.get(reverse("admin:index")).status_code == 302

    def test_it_sends_a_verified_session_on_and_ignores_a_foreign_next(
        self, client, enrolled, therapist
    ):
        sign_in(client, therapist.user.email)
        response = client.post(
            reverse("admin:two_factor_verify") + "?next=https://evil.example/",
            {"code": code_for(enrolled, offset=1)},
        )
        assert response["Location"] == reverse("admin:index")


class TestManaging:
    def test_it_turns_off_when_the_clinic_does_not_require_it(self, client, therapist):
        client.force_login(therapist.user)
        enrol(client, therapist.user)
        response = client.post(reverse("admin:two_factor"), {"action": "off"}, follow=True)
        assert "Two-factor sign-in is off." in response.content.decode()
        with unscoped():
            assert not TOTPDevice.objects.filter(user=therapist.user).exists()

    def test_it_cannot_be_turned_off_where_the_clinic_requires_it(
        self, client, strict_clinic, therapist
    ):
        client.force_login(therapist.user)
        enrol(client, therapist.user)
        response = client.post(reverse("admin:two_factor"), {"action": "off"})
        assert "cannot be turned off" in response.content.decode()
        with unscoped():
            assert TOTPDevice.objects.filter(user=therapist.user, confirmed=True).exists()

    def test_new_recovery_codes_replace_the_old(self, client, therapist):
        client.force_login(therapist.user)
        enrol(client, therapist.user)
        with unscoped():
            old = set(StaticToken.objects.values_list("token", flat=True))
        response = client.post(reverse("admin:two_factor"), {"action": "codes"})
        with unscoped():
            new = set(StaticToken.objects.values_list("token", flat=True))
        assert len(new) == 10 and not (old & new)
        for code in new:
            assert code in response.content.decode()

    def test_a_superuser_resets_a_lost_phone(self, client, therapist, db):
        root = User.objects.create_superuser("root@example.org", PASSWORD)
        with unscoped():
            TOTPDevice.objects.create(user=therapist.user, name="phone", confirmed=True)
        factories.sign_in_staff(client, root)
        response = client.post(
            reverse("admin:clinic_user_changelist"),
            {"action": "reset_two_factor", "_selected_action": [therapist.user.pk]},
            follow=True,
        )
        assert "Two-factor sign-in was reset for 1 user." in response.content.decode()
        with unscoped():
            assert not TOTPDevice.objects.filter(user=therapist.user).exists()

    def test_it_keeps_device_secrets_out_of_the_admin(self, client, db):
        root = User.objects.create_superuser("root@example.org", PASSWORD)
        factories.sign_in_staff(client, root)
        index = client.get(reverse("admin:index")).content.decode()
        assert "otp_totp" not in index
        assert "otp_static" not in index
