"""The clinic side of the therapist admin: patients, therapists, clinics, users."""

from __future__ import annotations

import pytest
from django.urls import reverse

from clinic.models import Clinic, Patient, Therapist, User
from clinic.scoping import unscoped
from tests import factories
from tests.conftest import login

pytestmark = pytest.mark.django_db


def patient_form(**overrides):
    data = {
        "first_name": "Nora",
        "last_name": "Field",
        # Day, month and year fields (clinic.dates).
        "date_of_birth_day": "14",
        "date_of_birth_month": "3",
        "date_of_birth_year": "1950",
        "primary_therapist": "",
        "is_active": "on",
        "email": "nora@example.org",
        "phone": "",
        "preferred_language": "en",
        "reminder_time": "",
        "notes": "",
        "plans-TOTAL_FORMS": "0",
        "plans-INITIAL_FORMS": "0",
        "plans-MIN_NUM_FORMS": "0",
        "plans-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


class TestPatientAdmin:
    def test_it_hides_other_clinics_patients(
        self, client, therapist, patient, other_patient, outside_patient
    ):
        login(client, therapist)
        response = client.get(reverse("admin:clinic_patient_changelist"))
        assert response.status_code == 200
        assert set(response.context["cl"].result_list) == {patient, other_patient}

    def test_it_lets_a_colleague_see_the_same_patients(self, client, colleague, patient):
        login(client, colleague)
        url = reverse("admin:clinic_patient_change", args=[patient.pk])
        assert client.get(url).status_code == 200

    def test_it_404s_on_another_clinics_patient_everywhere(
        self, client, therapist, outside_patient
    ):
        login(client, therapist)
        for name in ("change", "history", "delete"):
            url = reverse(f"admin:clinic_patient_{name}", args=[outside_patient.pk])
            assert client.get(url).status_code == 404, name
        response = client.post(
            reverse("admin:clinic_patient_change", args=[outside_patient.pk]),
            patient_form(first_name="Changed"),
        )
        assert response.status_code == 404
        outside_patient.refresh_from_db()
        assert outside_patient.first_name == "Hugo"

    def test_it_puts_a_new_patient_in_the_therapists_clinic(self, client, therapist, clinic):
        login(client, therapist)
        response = client.post(
            reverse("admin:clinic_patient_add"),
            patient_form(primary_therapist=therapist.pk),
        )
        assert response.status_code == 302
        with unscoped():
            nora = Patient.objects.get(first_name="Nora")
        assert nora.clinic == clinic and nora.primary_therapist == therapist

    def test_it_refuses_another_clinics_therapist_as_primary(self, client, therapist, outsider):
        login(client, therapist)
        response = client.post(
            reverse("admin:clinic_patient_add"),
            patient_form(primary_therapist=outsider.pk),
        )
        assert response.status_code == 200
        assert "primary_therapist" in response.context["adminform"].form.errors
        with unscoped():
            assert not Patient.objects.filter(first_name="Nora").exists()

    def test_it_lists_only_own_clinics_therapists_in_the_filter(
        self, client, therapist, colleague, outsider, patient, other_patient, outside_patient
    ):
        login(client, therapist)
        response = client.get(reverse("admin:clinic_patient_changelist"))
        html = response.content.decode()
        assert str(colleague) in html
        assert str(outsider) not in html

    def test_it_searches_by_name(self, client, therapist, patient, other_patient):
        login(client, therapist)
        response = client.get(reverse("admin:clinic_patient_changelist"), {"q": "Reed"})
        assert list(response.context["cl"].result_list) == [patient]

    def test_it_pins_the_changelist_query_count(
        self, client, therapist, clinic, django_assert_num_queries
    ):
        login(client, therapist)
        url = reverse("admin:clinic_patient_changelist")
        factories.make_patient(clinic, therapist)
        client.get(url)
        with django_assert_num_queries(11) as few:  # the audit entry for the list is one
            client.get(url)
        for _ in range(20):
            factories.make_patient(clinic, therapist)
        with django_assert_num_queries(len(few.captured_queries)):
            response = client.get(url)
        assert response.context["cl"].result_count == 21


class TestTherapistAdmin:
    def test_it_lets_a_clinic_admin_add_a_therapist(self, client, clinic_admin, clinic):
        login(client, clinic_admin)
        response = client.post(
            reverse("admin:clinic_therapist_add"),
            {
                "email": "New.Person@Riverside.example",
                "full_name": "New Person",
                "password": "a-long-enough-password-42",
                "role": "therapist",
                "job_title": "Physiotherapist",
                "is_active": "on",
            },
        )
        assert response.status_code == 302, response.context["adminform"].form.errors
        with unscoped():
            therapist = Therapist.objects.get(user__email="new.person@riverside.example")
        assert therapist.clinic == clinic
        assert therapist.user.is_staff and not therapist.user.is_superuser
        assert list(therapist.user.groups.values_list("name", flat=True)) == ["Therapists"]
        assert therapist.user.check_password("a-long-enough-password-42")

    def test_it_refuses_a_weak_password(self, client, clinic_admin):
        login(client, clinic_admin)
        response = client.post(
            reverse("admin:clinic_therapist_add"),
            {
                "email": "weak@riverside.example",
                "full_name": "Weak",
                "password": "123",
                "role": "therapist",
                "is_active": "on",
            },
        )
        assert response.status_code == 200
        assert "password" in response.context["adminform"].form.errors
        assert not User.objects.filter(email="weak@riverside.example").exists()

    def test_it_moves_a_therapist_between_role_groups(self, client, clinic_admin, colleague):
        login(client, clinic_admin)
        response = client.post(
            reverse("admin:clinic_therapist_change", args=[colleague.pk]),
            {
                "email": colleague.user.email,
                "full_name": "Colin",
                "password": "",
                "role": "clinic_admin",
                "job_title": "",
                "is_active": "on",
            },
        )
        assert response.status_code == 302
        colleague.user.refresh_from_db()
        assert list(colleague.user.groups.values_list("name", flat=True)) == [
            "Clinic administrators"
        ]

    def test_it_lets_therapists_only_view_colleagues(self, client, therapist, colleague):
        login(client, therapist)
        assert client.get(reverse("admin:clinic_therapist_add")).status_code == 403
        url = reverse("admin:clinic_therapist_change", args=[colleague.pk])
        response = client.get(url)
        assert response.status_code == 200 and response.context["has_change_permission"] is False

    def test_it_404s_on_another_clinics_therapist(self, client, clinic_admin, outsider):
        login(client, clinic_admin)
        url = reverse("admin:clinic_therapist_change", args=[outsider.pk])
        assert client.get(url).status_code == 404
        response = client.get(reverse("admin:clinic_therapist_changelist"))
        assert outsider not in response.context["cl"].result_list


class TestClinicAdmin:
    def test_it_shows_only_the_own_clinic(self, client, therapist, clinic, other_clinic):
        login(client, therapist)
        response = client.get(reverse("admin:clinic_clinic_changelist"))
        assert list(response.context["cl"].result_list) == [clinic]
        url = reverse("admin:clinic_clinic_change", args=[other_clinic.pk])
        assert client.get(url).status_code == 404

    def test_it_lets_the_clinic_admin_change_thresholds(self, client, clinic_admin, clinic):
        login(client, clinic_admin)
        url = reverse("admin:clinic_clinic_change", args=[clinic.pk])
        form = client.get(url).context["adminform"].form
        data = {k: v for k, v in form.initial.items() if v is not None and k != "logo"}
        data["attention_pain_at_least"] = 6
        response = client.post(url, data)
        assert response.status_code == 302, response.context["adminform"].form.errors
        clinic.refresh_from_db()
        assert clinic.attention_pain_at_least == 6

    def test_it_rejects_a_bad_brand_colour(self, client, clinic_admin, clinic):
        login(client, clinic_admin)
        url = reverse("admin:clinic_clinic_change", args=[clinic.pk])
        form = client.get(url).context["adminform"].form
        data = {k: v for k, v in form.initial.items() if v is not None and k != "logo"}
        data["brand_colour"] = "red; background:url(x)"
        response = client.post(url, data)
        assert response.status_code == 200
        assert "brand_colour" in response.context["adminform"].form.errors
        clinic.refresh_from_db()
        assert clinic.brand_colour == "#0b6e69"

    def test_it_lets_therapists_view_but_not_change_their_clinic(self, client, therapist, clinic):
        login(client, therapist)
        url = reverse("admin:clinic_clinic_change", args=[clinic.pk])
        response = client.post(url, {"name": "Renamed"})
        assert response.status_code == 403
        with unscoped():
            assert Clinic.objects.get(pk=clinic.pk).name == "Riverside Physio"


class TestAccess:
    def test_it_keeps_patients_out_of_the_admin(self, client, patient):
        login(client, patient)
        response = client.get(reverse("admin:index"))
        assert response.status_code == 302
        assert reverse("admin:login") in response.url

    def test_it_keeps_user_management_to_superusers(self, client, clinic_admin):
        login(client, clinic_admin)
        assert client.get(reverse("admin:clinic_user_changelist")).status_code == 403

    def test_it_shows_superusers_every_clinic(
        self, client, clinic, other_clinic, patient, outside_patient
    ):
        admin_user = User.objects.create_superuser("root@example.org", "root-pass-123")
        factories.sign_in_staff(client, admin_user)
        response = client.get(reverse("admin:clinic_patient_changelist"))
        assert set(response.context["cl"].result_list) == {patient, outside_patient}
