"""The audit trail: what it records, that it is append-only, who reads it, pruning."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from clinic import audit
from clinic.models import AppendOnlyError, AuditEntry, Patient, User
from clinic.scoping import unscoped
from prescriptions.models import Plan
from tests import factories
from tests.conftest import login
from tests.prescriptions.test_admin import item_rows, plan_form

pytestmark = pytest.mark.django_db

Action = AuditEntry.Action


def entries(**filters) -> list[AuditEntry]:
    with unscoped():
        return list(AuditEntry.objects.filter(**filters).order_by("id"))


def old_entry(days: int, **kw) -> AuditEntry:
    entry = AuditEntry(
        action=Action.VIEW,
        timestamp=timezone.now() - datetime.timedelta(days=days),
        **kw,
    )
    entry.save()
    return entry


class TestRecord:
    def test_it_records_who_their_clinic_what_which_patient_and_from_where(
        self, therapist, plan, patient
    ):
        request = RequestFactory().get("/admin/", REMOTE_ADDR="192.0.2.7")
        request.user = therapist.user
        entry = audit.record(request, Action.VIEW, obj=plan)
        assert entry.actor == therapist.user
        assert entry.actor_label == "tess@riverside.example"
        assert entry.clinic_id == therapist.clinic_id
        assert entry.patient_id == patient.pk
        assert (entry.object_type, entry.object_id) == ("prescriptions.plan", str(plan.pk))
        assert entry.ip_address == "192.0.2.7"

    def test_it_names_a_patient_login_by_the_record_not_the_email(self, patient):
        request = RequestFactory().get("/portal/")
        request.user = patient.user
        entry = audit.record(request, Action.EXPORT, patient=patient)
        assert entry.actor_label == f"patient {patient.pk}"
        assert entry.clinic_id == patient.clinic_id

    def test_it_keeps_no_personal_or_free_text_values(self):
        changes = audit.value_changes(
            Patient,
            {"last_name": "Reed", "large_print": False},
            {"last_name": "Read", "large_print": True},
        )
        assert changes == {
            "last_name": audit.CHANGED,
            "large_print": {"before": False, "after": True},
        }
        assert audit.value_changes(Plan, {"goals": "a"}, {"goals": "b"}) == {"goals": audit.CHANGED}
        # A textarea sent back untouched by a browser (CRLF line breaks) is no change.
        assert audit.value_changes(Plan, {"goals": "a\nb"}, {"goals": "a\r\nb"}) == {}


class TestAppendOnly:
    def test_it_refuses_to_change_or_delete_an_entry(self, therapist):
        entry = audit.record(None, Action.VIEW, actor=therapist.user)
        entry.detail = "rewritten"
        with pytest.raises(AppendOnlyError):
            entry.save()
        with pytest.raises(AppendOnlyError):
            entry.delete()
        with unscoped():
            with pytest.raises(AppendOnlyError):
                AuditEntry.objects.filter(pk=entry.pk).update(detail="rewritten")
            with pytest.raises(AppendOnlyError):
                AuditEntry.objects.filter(pk=entry.pk).delete()
        assert entries(pk=entry.pk)[0].detail == ""

    def test_even_a_superuser_gets_no_add_change_or_delete_in_the_admin(self, client, therapist):
        entry = audit.record(None, Action.VIEW, actor=therapist.user, clinic_id=therapist.clinic_id)
        superuser = User.objects.create_superuser("root@example.org", "root-pass-123")
        factories.sign_in_staff(client, superuser)  # with the second factor superusers need
        change = reverse("admin:clinic_auditentry_change", args=[entry.pk])
        page = client.get(change)
        assert page.status_code == 200
        assert b'name="_save"' not in page.content
        response = client.post(change, {"detail": "rewritten"})
        assert response.status_code == 403
        delete = reverse("admin:clinic_auditentry_delete", args=[entry.pk])
        assert client.post(delete, {"post": "yes"}).status_code == 403
        assert client.get(reverse("admin:clinic_auditentry_add")).status_code == 403
        assert entries(pk=entry.pk)[0].detail == ""


@pytest.mark.postgres
@pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
    reason="needs PostgreSQL (set DATABASE_URL)",
)
class TestPostgresTrigger:
    def test_it_refuses_update_and_delete_in_sql(self, therapist):
        entry = audit.record(None, Action.VIEW, actor=therapist.user)
        for sql in (
            "UPDATE clinic_auditentry SET detail = 'x' WHERE id = %s",
            "DELETE FROM clinic_auditentry WHERE id = %s",
        ):
            with (
                pytest.raises(DatabaseError, match="append-only"),
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                cursor.execute(sql, [entry.pk])
        assert entries(pk=entry.pk)

    def test_the_prune_command_gets_through_for_old_rows_only(self):
        old, new = old_entry(400), old_entry(10)
        call_command("prune_audit", "--days", "365", stdout=io.StringIO())
        assert [e.pk for e in entries(pk__in=[old.pk, new.pk])] == [new.pk]


class TestPrune:
    def test_it_removes_entries_past_the_retention_period(self, settings):
        settings.AUDIT_RETENTION_DAYS = 30
        old, new = old_entry(31), old_entry(29)
        out = io.StringIO()
        call_command("prune_audit", stdout=out)
        assert [e.pk for e in entries(pk__in=[old.pk, new.pk])] == [new.pk]
        assert "Removed 1 audit entries older than 30 days." in out.getvalue()


class TestAdminHooks:
    def test_it_records_reading_a_patients_page_a_plan_and_the_logs(
        self, client, therapist, patient, plan
    ):
        login(client, therapist)
        assert (
            client.get(reverse("admin:clinic_patient_change", args=[patient.pk])).status_code == 200
        )
        assert (
            client.get(reverse("admin:prescriptions_plan_change", args=[plan.pk])).status_code
            == 200
        )
        assert client.get(reverse("admin:prescriptions_sessionlog_changelist")).status_code == 200
        views = entries(action=Action.VIEW, actor=therapist.user)
        assert [(e.object_type, e.patient_id) for e in views] == [
            ("clinic.patient", patient.pk),
            ("prescriptions.plan", patient.pk),
            ("", None),
        ]
        assert views[2].detail == "list of prescriptions.sessionlog"
        assert all(e.clinic_id == therapist.clinic_id for e in views)

    def test_it_records_a_handout_download(self, client, therapist, plan):
        login(client, therapist)
        url = reverse("admin:prescriptions_plan_handout", args=[plan.pk])
        assert client.get(url).status_code == 200
        (entry,) = entries(action=Action.DOWNLOAD)
        assert (entry.object_id, entry.detail) == (str(plan.pk), "handout")

    def test_it_records_plan_and_dosage_changes_with_before_and_after(
        self, client, therapist, patient, shared_exercise
    ):
        plan = factories.make_plan(patient, therapist, [shared_exercise], end_date=None)
        with unscoped():
            item = plan.items.get()
        login(client, therapist)
        data = plan_form(
            patient,
            therapist,
            status=plan.status,
            title="Evening routine",
            condition="",
            goals="Secret goal text",
            start_date=str(plan.start_date),
            end_date="",
        ) | item_rows(
            [
                {
                    "id": item.pk,
                    "plan": plan.pk,
                    "exercise": shared_exercise.pk,
                    "order": 1,
                    "sets": item.sets + 1,
                    "reps": "",
                    "hold_seconds": 30,
                    "side": "each",
                }
            ],
            initial=1,
        )
        response = client.post(reverse("admin:prescriptions_plan_change", args=[plan.pk]), data)
        assert response.status_code == 302, response.context["errors"]
        (plan_entry,) = entries(action=Action.CHANGE, object_type="prescriptions.plan")
        assert plan_entry.changes is not None
        assert plan_entry.changes["title"] == {"before": plan.title, "after": "Evening routine"}
        assert plan_entry.changes["goals"] == audit.CHANGED
        assert plan_entry.patient_id == patient.pk
        (item_entry,) = entries(action=Action.CHANGE, object_type="prescriptions.planitem")
        assert item_entry.changes == {"sets": {"before": item.sets, "after": item.sets + 1}}
        assert item_entry.patient_id == patient.pk

    def test_it_records_a_status_change_from_an_action(self, client, therapist, plan):
        login(client, therapist)
        client.post(
            reverse("admin:prescriptions_plan_changelist"),
            {"action": "pause", "_selected_action": [plan.pk]},
        )
        (entry,) = entries(action=Action.CHANGE)
        assert entry.changes == {"status": {"before": "active", "after": "paused"}}

    def test_it_records_a_refused_lookup_of_another_clinics_patient(
        self, client, therapist, outside_patient
    ):
        login(client, therapist)
        url = reverse("admin:clinic_patient_change", args=[outside_patient.pk])
        assert client.get(url).status_code == 404
        (entry,) = entries(action=Action.REFUSED)
        assert entry.actor == therapist.user
        assert entry.clinic_id == therapist.clinic_id  # the asker's clinic, not the target's
        assert entry.patient_id is None
        assert entry.detail == f"clinic.patient {outside_patient.pk}: outside the asker's clinic"

    def test_it_records_a_patient_deletion(self, client, therapist, clinic):
        lone = factories.make_patient(clinic, therapist, first_name="Del", last_name="Eted")
        login(client, therapist)
        url = reverse("admin:clinic_patient_delete", args=[lone.pk])
        assert client.post(url, {"post": "yes"}).status_code == 302
        (entry,) = entries(action=Action.DELETE)
        assert (entry.patient_id, entry.object_type) == (lone.pk, "clinic.patient")


class TestSignInsAndInvitations:
    def test_it_records_portal_sign_ins_and_failures(self, client, patient):
        url = reverse("portal:login")
        client.post(url, {"username": patient.email, "password": "wrong-password"})
        client.post(url, {"username": "nobody@example.org", "password": "wrong-password"})
        client.post(url, {"username": patient.email, "password": "patient-pass-123"})
        failed = entries(action=Action.SIGN_IN_FAILED)
        assert [(e.patient_id, e.detail) for e in failed] == [
            (patient.pk, "portal"),
            (None, "portal (unknown address)"),
        ]
        assert "nobody" not in str([e.__dict__ for e in failed])
        (signed_in,) = entries(action=Action.SIGN_IN)
        assert (signed_in.patient_id, signed_in.clinic_id) == (patient.pk, patient.clinic_id)
        assert signed_in.actor_label == f"patient {patient.pk}"

    def test_it_records_an_invitation(self, client, therapist, clinic):
        invitee = factories.make_patient(clinic, therapist, first_name="New", last_name="Comer")
        login(client, therapist)
        url = reverse("admin:clinic_patient_portal_invitation", args=[invitee.pk])
        assert client.post(url).status_code == 200
        (entry,) = entries(action=Action.INVITE)
        assert (entry.patient_id, entry.actor) == (invitee.pk, therapist.user)
        assert entry.detail == "link shown to print"


class TestTrailInTheAdmin:
    def test_a_clinic_admin_sees_their_clinics_trail_only(
        self, client, clinic_admin, therapist, outsider
    ):
        audit.record(None, Action.VIEW, actor=therapist.user, detail="ours")
        audit.record(None, Action.VIEW, actor=outsider.user, detail="theirs")
        login(client, clinic_admin)
        response = client.get(reverse("admin:clinic_auditentry_changelist"))
        assert response.status_code == 200
        assert b"ours" in response.content
        assert b"theirs" not in response.content

    def test_a_therapist_cannot_read_the_trail(self, client, therapist):
        login(client, therapist)
        response = client.get(reverse("admin:clinic_auditentry_changelist"))
        assert response.status_code == 403
        assert client.get(reverse("admin:clinic_auditentry_export")).status_code == 403

    def test_it_filters_by_patient(self, client, clinic_admin, therapist, patient, other_patient):
        audit.record(None, Action.VIEW, actor=therapist.user, patient=patient, detail="paula")
        audit.record(None, Action.VIEW, actor=therapist.user, patient=other_patient, detail="oscar")
        login(client, clinic_admin)
        url = reverse("admin:clinic_auditentry_changelist")
        response = client.get(url, {"patient_id": patient.pk})
        assert b"paula" in response.content
        assert b"oscar" not in response.content

    def test_it_exports_the_filtered_trail_as_csv_with_formulas_neutralised(
        self, client, clinic_admin, therapist, patient
    ):
        audit.record(None, Action.VIEW, actor=therapist.user, patient=patient, detail="=1+1")
        audit.record(None, Action.CHANGE, actor=therapist.user, detail="not this one")
        login(client, clinic_admin)
        url = reverse("admin:clinic_auditentry_export")
        response = client.get(url, {"action__exact": "view"})
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv"
        rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
        assert rows[0][:2] == ["timestamp", "actor_label"]
        assert [(row[3], row[8]) for row in rows[1:]] == [(str(patient.pk), "'=1+1")]
        # The export itself is on the trail.
        assert entries(action=Action.EXPORT, actor=clinic_admin.user)


def test_it_records_an_exercise_removed_from_a_plan_with_its_dosage(
    client, therapist, patient, shared_exercise
):
    plan = factories.make_plan(patient, therapist, [shared_exercise], end_date=None)
    with unscoped():
        item = plan.items.get()
    login(client, therapist)
    data = plan_form(
        patient,
        therapist,
        status=plan.status,
        title=plan.title,
        condition="",
        goals="",
        start_date=str(plan.start_date),
        end_date="",
    ) | item_rows(
        [
            {
                "id": item.pk,
                "plan": plan.pk,
                "exercise": shared_exercise.pk,
                "order": 1,
                "sets": item.sets,
                "reps": "",
                "hold_seconds": 30,
                "side": "each",
                "DELETE": "on",
            }
        ],
        initial=1,
    )
    response = client.post(reverse("admin:prescriptions_plan_change", args=[plan.pk]), data)
    assert response.status_code == 302, response.context["errors"]
    (entry,) = entries(action=Action.DELETE)
    assert (entry.object_type, entry.object_id) == ("prescriptions.planitem", str(item.pk))
    assert entry.patient_id == patient.pk
    assert entry.changes is not None
    assert entry.changes["sets"] == {"before": item.sets, "after": None}


def test_the_clinic_exports_are_on_the_trail(client, clinic_admin, patient, other_patient):
    login(client, clinic_admin)
    client.post(
        reverse("admin:clinic_patient_changelist"),
        {"action": "export_fhir", "_selected_action": [patient.pk, other_patient.pk]},
    )
    b"".join(client.get(reverse("rehabit_export_patients")).streaming_content)
    exports = entries(action=Action.EXPORT)
    assert [(e.patient_id, e.detail) for e in exports] == [
        (patient.pk, "FHIR bundle"),
        (other_patient.pk, "FHIR bundle"),
        (None, "patients with adherence as CSV"),
    ]
    assert all(e.clinic_id == clinic_admin.clinic_id for e in exports)
