"""Handout downloads in the therapist admin: button, zip action, time warnings, scoping."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.urls import reverse

from prescriptions.models import Plan
from tests import factories
from tests.conftest import login

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def outside_plan(outside_patient, outsider, shared_exercise) -> Plan:
    return factories.make_plan(outside_patient, outsider, [shared_exercise], title="Other")


def handout_url(plan: Plan) -> str:
    return reverse("admin:prescriptions_plan_handout", args=[plan.pk])


class TestDownload:
    def test_it_gives_the_therapist_their_patients_handout(self, client, therapist, plan):
        response = login(client, therapist).get(handout_url(plan))
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"].startswith("attachment;")
        assert response.content.startswith(b"%PDF")

    def test_it_gives_a_colleague_in_the_same_clinic_the_handout(self, client, colleague, plan):
        assert login(client, colleague).get(handout_url(plan)).status_code == 200

    def test_it_404s_on_another_clinics_plan(self, client, outsider, plan):
        assert login(client, outsider).get(handout_url(plan)).status_code == 404

    def test_it_404s_on_a_plan_that_does_not_exist(self, client, therapist):
        response = login(client, therapist).get(
            reverse("admin:prescriptions_plan_handout", args=[987654])
        )
        assert response.status_code == 404

    def test_it_sends_patients_and_strangers_to_the_admin_login(self, client, patient, plan):
        assert client.get(handout_url(plan)).status_code == 302
        assert login(client, patient).get(handout_url(plan)).status_code == 302


class TestZipAction:
    def test_it_zips_the_selected_plans_handouts(
        self, client, therapist, plan, other_patient, shared_exercise
    ):
        second = factories.make_plan(other_patient, therapist, [shared_exercise], title="Sciatica")
        response = login(client, therapist).post(
            reverse("admin:prescriptions_plan_changelist"),
            {"action": "download_handouts", "_selected_action": [plan.pk, second.pk]},
        )
        assert response.status_code == 200
        assert response["Content-Type"] == "application/zip"
        archive = zipfile.ZipFile(io.BytesIO(response.content))
        assert sorted(archive.namelist()) == [
            "hamstring-rehabilitation-paula-reed-r1.pdf",
            "sciatica-oscar-lane-r1.pdf",
        ]
        assert all(archive.read(name).startswith(b"%PDF") for name in archive.namelist())

    def test_it_leaves_another_clinics_plan_out_of_the_zip(
        self, client, therapist, plan, outside_plan
    ):
        response = login(client, therapist).post(
            reverse("admin:prescriptions_plan_changelist"),
            {"action": "download_handouts", "_selected_action": [plan.pk, outside_plan.pk]},
        )
        archive = zipfile.ZipFile(io.BytesIO(response.content))
        assert archive.namelist() == ["hamstring-rehabilitation-paula-reed-r1.pdf"]

    def test_it_refuses_too_many_plans_with_a_message(
        self, client, therapist, patient, shared_exercise, monkeypatch
    ):
        from prescriptions.admin import handouts as admin_handouts

        monkeypatch.setattr(admin_handouts, "ZIP_MAX_PLANS", 1)
        plans = [factories.make_plan(patient, therapist, [shared_exercise]) for _ in range(2)]
        response = login(client, therapist).post(
            reverse("admin:prescriptions_plan_changelist"),
            {"action": "download_handouts", "_selected_action": [p.pk for p in plans]},
            follow=True,
        )
        assert response["Content-Type"].startswith("text/html")
        assert "Select at most 1 plans at a time" in response.content.decode()


class TestChangeForm:
    def test_it_shows_the_time_and_a_download_button(self, client, therapist, plan):
        page = login(client, therapist).get(
            reverse("admin:prescriptions_plan_change", args=[plan.pk])
        )
        html = page.content.decode()
        assert "1 exercise: about 6 minutes a session, 6 minutes a day" in html
        assert html.count(f'href="{handout_url(plan)}"') == 2  # object tools and summary
        assert "Warning:" not in html

    def test_it_warns_the_therapist_about_a_long_plan(
        self, client, therapist, clinic, patient, shared_exercise
    ):
        clinic.warn_exercise_count = 2
        clinic.warn_daily_minutes = 5
        clinic.save()
        exercises = [shared_exercise, *(factories.make_exercise(None) for _ in range(2))]
        plan = factories.make_plan(patient, therapist, exercises)
        html = (
            login(client, therapist)
            .get(reverse("admin:prescriptions_plan_change", args=[plan.pk]))
            .content.decode()
        )
        assert html.count("Warning:") == 2
        assert "more than your clinic&#x27;s limit of 5" in html
        assert "3 exercises is more than your clinic&#x27;s limit of 2" in html
