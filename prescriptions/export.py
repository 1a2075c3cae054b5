"""A patient's data, exported: what the portal's "Download my data" and the admin give.

A zip holding `rehabit-data.json` (everything Rehabit holds about the patient,
in the schema documented in docs/data-export.md, `"schema": "rehabit-patient-export/1"`)
and `sessions.csv` (one row per logged session, readable in a spreadsheet).
The therapist's clinical notes ("only therapists see these") are in the
export the clinic makes from the admin, which decides what to hand over (GDPR
Art. 15 covers them, with exceptions a clinician judges); the portal's export
leaves them out. Password hashes and the audit trail are not exported.

Other parts of Rehabit add their own sections by appending a function to
`SECTIONS`: it takes the patient and returns (key, JSON-ready value).
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import F, Prefetch
from django.utils import timezone

from clinic.models import Patient
from prescriptions.models import (
    PRESCRIBED_FIELD_NAMES,
    ExerciseLog,
    PatientVersion,
    Plan,
    PlanItem,
    PlanVersion,
    QuestionnaireResponse,
    SessionLog,
)

SCHEMA = "rehabit-patient-export/1"
DOSAGE_FIELDS = PRESCRIBED_FIELD_NAMES
SESSION_COLUMNS = (
    "date",
    "session_of_the_day",
    "plan",
    "pain_0_to_10",
    "nerve_symptoms",
    "symptoms_lasted",
    "symptoms_minutes",
    "effort",
    "exercises_logged",
    "comment",
)

Section = Callable[[Patient], tuple[str, Any]]
SECTIONS: list[Section] = []


def _profile(patient: Patient, *, clinical_notes: bool) -> dict[str, Any]:
    therapist = patient.primary_therapist
    profile = {
        "id": patient.pk,
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "date_of_birth": patient.date_of_birth,
        "email": patient.email,
        "phone": patient.phone,
        "preferred_language": patient.preferred_language,
        "large_print": patient.large_print,
        "reminder_time": patient.reminder_time,
        "active": patient.is_active,
        "clinic": patient.clinic.name,
        "primary_therapist": str(therapist) if therapist is not None else None,
        "created_at": patient.created_at,
        "portal_login": patient.user.email if patient.user is not None else None,
    }
    if clinical_notes:
        profile["clinical_notes"] = patient.notes
    return profile


def _item(item: PlanItem) -> dict[str, Any]:
    return {
        "id": item.pk,
        "position": item.order,
        "exercise": item.exercise.name,
        **{name: getattr(item, name) for name in DOSAGE_FIELDS},
        # Set when a change of phase took the exercise out of the plan.
        "ended_on": item.ended_on,
    }


def _changed_by(version: PlanVersion | PatientVersion) -> str | None:
    user = version.changed_by
    return (user.full_name or user.email) if user is not None else None


def _plan_version(version: PlanVersion) -> dict[str, Any]:
    return {
        "recorded_at": version.recorded_at,
        "recorded_on": version.recorded_on,
        "changed_by": _changed_by(version),
        "revision": version.revision,
        "plan": version.data,
    }


def _profile_version(version: PatientVersion, *, clinical_notes: bool) -> dict[str, Any]:
    record = dict(version.data)
    if not clinical_notes:
        record.pop("notes", None)
    return {
        "recorded_at": version.recorded_at,
        "recorded_on": version.recorded_on,
        "changed_by": _changed_by(version),
        "record": record,
    }


def _plan(plan: Plan) -> dict[str, Any]:
    return {
        "id": plan.pk,
        "title": plan.title,
        "condition": plan.condition,
        "goals": plan.goals,
        "status": plan.status,
        "start_date": plan.start_date,
        "end_date": plan.end_date,
        "notes_for_patient": plan.notes_for_patient,
        "therapist": str(plan.therapist),
        "revision": plan.revision,
        "created_at": plan.created_at,
        "updated_at": plan.updated_at,
        "items": [_item(item) for item in plan.items.all()],
        # Oldest first: the plan as it was after each change (prescriptions.history).
        "versions": [_plan_version(version) for version in plan.versions.all()],
    }


def _session(session: SessionLog) -> dict[str, Any]:
    return {
        "id": session.pk,
        "plan_id": session.plan_id,
        "date": session.date,
        "session_of_the_day": session.session_number,
        "pain": session.pain,
        "nerve_symptoms": session.nerve_symptoms,
        "symptoms_lasted": session.symptoms_lasted,
        "symptoms_minutes": session.symptoms_minutes,
        "effort": session.effort,
        "comment": session.comment,
        "recorded_at": session.created_at,
        "updated_at": session.updated_at,
        "exercises": [
            {
                "plan_item_id": log.item_id,
                "exercise": log.item.exercise.name,
                "sets_done": log.sets_done,
                "sets_left": log.sets_left,
                "sets_right": log.sets_right,
            }
            for log in session.exercises.all()
        ],
    }


def _questionnaire(response: QuestionnaireResponse) -> dict[str, Any]:
    return {
        "id": response.pk,
        "plan_id": response.measure.plan_id,
        "questionnaire": response.measure.instrument,
        "asked_for": response.due_date,
        "status": response.status,
        "answers": response.answers,
        "activities": response.activities,
        "score": response.score,
        "answered_at": response.completed_at,
    }


def patient_data(patient: Patient, *, clinical_notes: bool = False) -> dict[str, Any]:
    """Everything Rehabit holds about `patient`, as JSON-ready data. A fixed number of queries.

    Runs in the patient's clinic scope (the caller's request is in it).
    """
    patient = (
        Patient.objects.select_related("clinic", "primary_therapist__user", "user")
        .filter(pk=patient.pk)
        .get()
    )
    plans = list(
        Plan.objects.filter(patient=patient)
        .select_related("therapist__user")
        .prefetch_related(
            Prefetch(
                "items",
                # Ended rows too: what the patient did before a change of phase.
                queryset=PlanItem.with_ended.select_related("exercise").order_by(
                    F("ended_on").desc(nulls_first=True), "order"
                ),
            ),
        )
        .prefetch_related(
            Prefetch(
                "versions",
                queryset=PlanVersion.objects.select_related("changed_by").order_by("pk"),
            ),
        )
        .order_by("start_date", "pk")
    )
    profile_versions = PatientVersion.objects.filter(patient=patient).select_related("changed_by")
    sessions = list(
        SessionLog.objects.filter(plan__patient=patient)
        .prefetch_related(
            Prefetch(
                "exercises",
                queryset=ExerciseLog.objects.select_related("item__exercise").order_by(
                    "item__order"
                ),
            )
        )
        .order_by("date", "session_number", "pk")
    )
    questionnaires = list(
        QuestionnaireResponse.objects.filter(measure__plan__patient=patient)
        .select_related("measure")
        .order_by("due_date", "pk")
    )
    data: dict[str, Any] = {
        "schema": SCHEMA,
        "exported_at": timezone.now(),
        "profile": _profile(patient, clinical_notes=clinical_notes),
        "profile_versions": [
            _profile_version(version, clinical_notes=clinical_notes)
            for version in profile_versions.order_by("pk")
        ],
        "plans": [_plan(plan) for plan in plans],
        "sessions": [_session(session) for session in sessions],
        "questionnaires": [_questionnaire(response) for response in questionnaires],
    }
    for section in SECTIONS:
        key, value = section(patient)
        data[key] = value
    return data


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet reads a cell starting with these as a formula (CSV injection).
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text


def sessions_csv(data: dict[str, Any]) -> str:
    titles = {plan["id"]: plan["title"] for plan in data["plans"]}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(SESSION_COLUMNS)
    for session in data["sessions"]:
        writer.writerow(
            [
                _cell(value)
                for value in (
                    session["date"].isoformat(),
                    session["session_of_the_day"],
                    titles.get(session["plan_id"], ""),
                    session["pain"],
                    session["nerve_symptoms"],
                    "yes" if session["symptoms_lasted"] else "no",
                    session["symptoms_minutes"],
                    session["effort"],
                    len(session["exercises"]),
                    session["comment"],
                )
            ]
        )
    return out.getvalue()


def export_zip(patient: Patient, *, clinical_notes: bool = False) -> bytes:
    """The zip the patient (or their clinic on their behalf) downloads."""
    data = patient_data(patient, clinical_notes=clinical_notes)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "rehabit-data.json",
            json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        )
        # A byte-order mark so that spreadsheet programs read the text as UTF-8.
        archive.writestr("sessions.csv", "\ufeff" + sessions_csv(data))
    return buffer.getvalue()


def export_filename(patient: Patient, day: datetime.date | None = None) -> str:
    day = day or timezone.localdate()
    return f"rehabit-data-{patient.pk}-{day:%Y-%m-%d}.zip"
