"""Patients' data rights: "Download my data" in the portal and the admin, and erasure."""

from __future__ import annotations

import csv
import datetime
import io
import json
import uuid
import zipfile
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.urls import reverse

from clinic.models import AuditEntry, Patient, PortalInvitation, User
from clinic.scoping import scope, unscoped
from prescriptions.handouts import handout_bytes
from prescriptions.models import Handout, PatientVersion, Plan, PlanVersion, SessionLog
from prescriptions.recording import record_session
from tests import factories
from tests.conftest import login

pytestmark = pytest.mark.django_db

NAME = ("Zebedee", "Quillfeather")
EMAIL = "zebedee.quillfeather@example.org"
COMMENT = "Xylophone-shaped cramp behind my left knee"
NOTE = "Marathon runner; prefers mornings; Quillfeather-note"
# Held only by the versions of the record and the plan once they are changed.
OLD_PHONE = "0777 913 5522"
OLD_TITLE = "Wombat-stairs programme"


@pytest.fixture(autouse=True)
def media(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def log_session(plan: Plan, days_ago: int, comment: str = "", pain: int = 3) -> SessionLog:
    day = plan.patient.clinic.today() - datetime.timedelta(days=days_ago)
    with scope(plan.patient.clinic_id):
        items = list(plan.items.all())
        return record_session(
            plan=plan,
            date=day,
            session_number=1,
            idempotency_key=uuid.uuid4(),
            pain=pain,
            nerve_symptoms=SessionLog.NerveSymptoms.NONE,
            symptoms_lasted=False,
            symptoms_minutes=None,
            effort=SessionLog.Effort.ABOUT_RIGHT,
            comment=comment,
            sets={item.pk: (item.sets, None, None) for item in items},
        ).log


def unzip(content: bytes) -> tuple[dict, list[list[str]]]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert sorted(archive.namelist()) == ["rehabit-data.json", "sessions.csv"]
        data = json.loads(archive.read("rehabit-data.json"))
        text = archive.read("sessions.csv").decode("utf-8-sig")
    return data, list(csv.reader(io.StringIO(text)))


def audit_entries(**filters) -> list[AuditEntry]:
    with unscoped():
        return list(AuditEntry.objects.filter(**filters).order_by("id"))


class TestPortalExport:
    def test_it_gives_the_patient_their_own_data_as_json_and_csv(
        self, client, patient, plan, other_patient, colleague, shared_exercise
    ):
        log_session(plan, 2, comment="=SUM(A1)")
        log_session(plan, 1, pain=5)
        others = factories.make_plan(other_patient, colleague, [shared_exercise], title="Oscar's")
        log_session(others, 1, comment="not Paula's")
        login(client, patient)
        response = client.get(reverse("portal:my_data"))
        assert response.status_code == 200
        assert response["Content-Type"] == "application/zip"
        assert response["Cache-Control"] == "private, no-store"
        assert f"rehabit-data-{patient.pk}-" in response["Content-Disposition"]
        data, rows = unzip(response.content)
        assert data["schema"] == "rehabit-patient-export/1"
        assert data["profile"]["last_name"] == "Reed"
        assert "clinical_notes" not in data["profile"]
        assert [p["title"] for p in data["plans"]] == [plan.title]
        assert data["plans"][0]["items"][0]["exercise"] == shared_exercise.name
        assert [s["pain"] for s in data["sessions"]] == [3, 5]
        with unscoped():
            sets = plan.items.get().sets
        assert data["sessions"][0]["exercises"][0]["sets_done"] == sets
        assert "not Paula's" not in response.content.decode("latin-1")
        assert rows[0][:4] == ["date", "session_of_the_day", "plan", "pain_0_to_10"]
        assert [row[3] for row in rows[1:]] == ["3", "5"]
        assert rows[1][-1] == "'=SUM(A1)"  # a formula stays text in a spreadsheet
        (entry,) = audit_entries(action=AuditEntry.Action.EXPORT)
        assert (entry.patient_id, entry.actor_label) == (patient.pk, f"patient {patient.pk}")

    def test_it_reads_a_fixed_number_of_queries(
        self, client, patient, plan, django_assert_num_queries
    ):
        login(client, patient)
        log_session(plan, 6)
        client.get(reverse("portal:my_data"))  # renews the session (clinic.sessions)
        # The plans' versions and the record's versions are one query each; the user with
        # the patient (clinic.backends) and the items with their exercises' words in the
        # patient's language (prescriptions.localise.with_words_in) are one each.
        with django_assert_num_queries(11) as few:
            client.get(reverse("portal:my_data"))
        for days_ago in range(5):
            log_session(plan, days_ago)
        with django_assert_num_queries(len(few.captured_queries)):
            client.get(reverse("portal:my_data"))

    def test_it_asks_anonymous_visitors_to_sign_in_and_sends_staff_to_the_admin(
        self, client, therapist
    ):
        response = client.get(reverse("portal:my_data"))
        assert response.status_code == 302
        assert reverse("portal:login") in response["Location"]
        login(client, therapist)
        assert client.get(reverse("portal:my_data"))["Location"] == reverse("admin:index")

    def test_the_settings_page_offers_the_download(self, client, patient):
        login(client, patient)
        response = client.get(reverse("portal:settings"))
        assert reverse("portal:my_data").encode() in response.content


class TestAdminExport:
    def url(self, patient: Patient) -> str:
        return reverse("admin:clinic_patient_export", args=[patient.pk])

    def test_the_patients_therapist_and_the_clinic_admin_may_export(
        self, client, therapist, clinic_admin, patient, plan
    ):
        with scope(patient.clinic_id):
            Patient.objects.filter(pk=patient.pk).update(notes=NOTE)
        for who in (therapist, clinic_admin):
            login(client, who)
            response = client.get(self.url(patient))
            assert response.status_code == 200
            data, _rows = unzip(response.content)
            assert data["profile"]["clinical_notes"] == NOTE
        assert len(audit_entries(action=AuditEntry.Action.EXPORT, patient_id=patient.pk)) == 2

    def test_a_colleague_without_the_patient_may_not(self, client, colleague, patient, plan):
        login(client, colleague)
        assert client.get(self.url(patient)).status_code == 403
        page = client.get(reverse("admin:clinic_patient_change", args=[patient.pk]))
        assert page.status_code == 200
        assert self.url(patient).encode() not in page.content

    def test_the_patient_page_offers_export_and_erasure_to_whom_may(
        self, client, therapist, clinic_admin, patient
    ):
        erase = reverse("admin:clinic_patient_erase", args=[patient.pk]).encode()
        login(client, therapist)
        page = client.get(reverse("admin:clinic_patient_change", args=[patient.pk]))
        assert self.url(patient).encode() in page.content
        assert erase not in page.content
        login(client, clinic_admin)
        page = client.get(reverse("admin:clinic_patient_change", args=[patient.pk]))
        assert erase in page.content

    def test_another_clinics_therapist_gets_a_404(self, client, outsider, patient):
        login(client, outsider)
        assert client.get(self.url(patient)).status_code == 404


class TestErasure:
    def url(self, patient: Patient) -> str:
        return reverse("admin:clinic_patient_erase", args=[patient.pk])

    def test_only_a_clinic_administrator_may_erase(self, client, therapist, outsider, patient):
        login(client, therapist)
        assert client.get(self.url(patient)).status_code == 403
        assert client.post(self.url(patient), {"confirmation": "Paula Reed"}).status_code == 403
        login(client, outsider)
        assert client.get(self.url(patient)).status_code == 404
        with unscoped():
            assert Patient.objects.filter(pk=patient.pk).exists()

    def test_a_wrong_confirmation_changes_nothing(self, client, clinic_admin, patient, plan):
        login(client, clinic_admin)
        page = client.get(self.url(patient))
        assert page.status_code == 200
        assert b"Paula Reed" in page.content
        response = client.post(self.url(patient), {"confirmation": "Paula"})
        assert response.status_code == 400
        assert b"nothing was erased" in response.content
        with unscoped():
            assert Patient.objects.filter(pk=patient.pk).exists()
            assert Plan.objects.filter(pk=plan.pk).exists()
        assert not audit_entries(action=AuditEntry.Action.ERASE)

    def test_it_leaves_no_trace_in_a_full_dump_or_the_media_folder(
        self,
        client,
        clinic,
        therapist,
        clinic_admin,
        shared_exercise,
        media,
        django_capture_on_commit_callbacks,
    ):
        first, last = NAME
        victim = factories.make_patient(
            clinic,
            therapist,
            with_login=True,
            first_name=first,
            last_name=last,
            email=EMAIL,
            phone=OLD_PHONE,
        )
        with scope(clinic):
            Patient.objects.filter(pk=victim.pk).update(notes=NOTE)
        plan = factories.make_plan(victim, therapist, [shared_exercise], title=OLD_TITLE)
        plan.title = "Knee plan"
        plan.save()
        log_session(plan, 0, comment=COMMENT)
        with scope(clinic):
            handout_bytes(plan)  # a stored PDF (in the database, by default)
            handout_files = [str(h.pdf.name) for h in Handout.objects.filter(plan=plan)]
        assert handout_files and all(default_storage.exists(name) for name in handout_files)
        # Traces elsewhere: a failed and a good portal sign-in, an invitation,
        # an admin edit (the admin's own history names the patient), a read.
        portal = client.__class__()
        portal.post(reverse("portal:login"), {"username": EMAIL, "password": "wrong-one"})
        portal.post(reverse("portal:login"), {"username": EMAIL, "password": "patient-pass-123"})
        login(client, therapist)
        client.post(reverse("admin:clinic_patient_portal_invitation", args=[victim.pk]))
        change = client.get(reverse("admin:clinic_patient_change", args=[victim.pk]))
        assert change.status_code == 200
        data = {
            **{k: v for k, v in change.context["adminform"].form.initial.items() if v is not None},
            "phone": "0123 456",
            "plans-TOTAL_FORMS": "1",
            "plans-INITIAL_FORMS": "1",
            "plans-MIN_NUM_FORMS": "0",
            "plans-MAX_NUM_FORMS": "1000",
            "plans-0-id": plan.pk,
            "plans-0-patient": victim.pk,
        }
        data.pop("user", None)
        edited = client.post(reverse("admin:clinic_patient_change", args=[victim.pk]), data)
        assert edited.status_code == 302, edited.context["errors"]
        traces = [first, last, EMAIL, COMMENT, NOTE, OLD_PHONE, OLD_TITLE]
        before = full_dump()
        assert all(trace.lower() in before for trace in traces)  # the search can find them
        with scope(clinic):
            # The old phone number and title are in the versions only.
            victim.refresh_from_db()
            plan.refresh_from_db()
            assert (victim.phone, plan.title) == ("0123 456", "Knee plan")
            assert PatientVersion.objects.filter(data__phone=OLD_PHONE).exists()
            assert PlanVersion.objects.filter(data__title=OLD_TITLE).exists()
        trail_before = len(audit_entries(patient_id=victim.pk))
        assert trail_before >= 4

        login(client, clinic_admin)
        # The request commits, then deletes the PDF files (in the test: on leaving
        # this block, in a scope like the request's).
        with unscoped(), django_capture_on_commit_callbacks(execute=True):
            response = client.post(self.url(victim), {"confirmation": f" {first}  {last.upper()}"})
        assert response.status_code == 302

        after = full_dump()
        found = [trace for trace in traces if trace.lower() in after]
        print("erasure search:", {trace: trace.lower() in after for trace in traces})
        assert found == []
        assert not any(default_storage.exists(name) for name in handout_files)
        for path in Path(media).rglob("*"):
            if path.is_file():
                content = path.read_bytes().lower()
                assert not any(trace.lower().encode() in content for trace in traces), path
        with unscoped():
            assert not Patient.objects.filter(pk=victim.pk).exists()
            assert not User.objects.filter(email__iexact=EMAIL).exists()
            assert not PortalInvitation.objects.filter(patient_id=victim.pk).exists()
        # The trail keeps every entry, under the bare id, plus the erasure itself.
        trail = audit_entries(patient_id=victim.pk)
        assert len(trail) == trail_before + 1
        assert trail[-1].action == AuditEntry.Action.ERASE
        assert trail[-1].actor == clinic_admin.user


def full_dump() -> str:
    """Every row of every table as text, lower-cased (SQLite and PostgreSQL alike)."""
    parts: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            parts.extend(repr(row) for row in cursor.fetchall())
    if connection.vendor == "sqlite":
        parts.extend(connection.connection.iterdump())
    return "\n".join(parts).lower()
