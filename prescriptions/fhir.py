"""FHIR R4 export: one patient's record in Rehabit as a FHIR `Bundle` (type `collection`).

A bundle holds the patient, their clinic (Organization), the therapists who
appear in it (Practitioner), one CarePlan per plan with an activity per
exercise, and Observations: each logged session's pain (LOINC 72514-3, 0-10)
and nerve symptoms, and the plan's adherence for each week. Every resource is
built as plain data and then validated by `fhir.resources` (the R4B models,
which are R4-compatible for every element used here); every reference points at
an entry of the same bundle, by its `urn:uuid:` full URL.

The codes, systems and what each field means are listed in the README
("FHIR export"). A clinic's export is a stream of bundles, one a line
(NDJSON, as in FHIR Bulk Data), built one patient at a time, so memory stays
flat however many patients there are.
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from django.conf import settings
from django.utils import timezone

from clinic.models import Clinic, Patient, Therapist
from prescriptions import adherence, dosage
from prescriptions.models import Plan, PlanItem, QuestionnaireResponse, SessionLog
from prescriptions.outcomes import library as outcome_library

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
LANGUAGE = "urn:ietf:bcp:47"
# Rehabit's own identifiers and codes, where no standard code exists (documented
# in the README). URNs, so that they never depend on one installation's address.
LOCAL = "urn:rehabit:fhir"
PATIENT_ID_SYSTEM = f"{LOCAL}:patient-id"
EXERCISE_SYSTEM = f"{LOCAL}:exercise"
OBSERVATION_SYSTEM = f"{LOCAL}:observation"
DOSAGE_EXTENSION = f"{LOCAL}:StructureDefinition:dosage"
# The outcome questionnaires (prescriptions/outcomes/instruments.toml), by their code.
QUESTIONNAIRE_SYSTEM = f"{LOCAL}:Questionnaire"

PAIN_CODE = ("72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported")
NERVE_SYMPTOM_CODES = {
    SessionLog.NerveSymptoms.NONE: ("260413007", "None (qualifier value)"),
    SessionLog.NerveSymptoms.TINGLING: ("62507009", "Pins and needles (finding)"),
    SessionLog.NerveSymptoms.NUMBNESS: ("44077006", "Numbness (finding)"),
}
CAREPLAN_STATUS = {
    Plan.Status.DRAFT: "draft",
    Plan.Status.ACTIVE: "active",
    Plan.Status.PAUSED: "on-hold",
    Plan.Status.COMPLETED: "completed",
}
ACTIVITY_STATUS = {
    Plan.Status.DRAFT: "not-started",
    Plan.Status.ACTIVE: "in-progress",
    Plan.Status.PAUSED: "on-hold",
    Plan.Status.COMPLETED: "completed",
}
_NAMESPACE = uuid.UUID("6f0f6f5e-7a0c-4f0e-9a55-2f1d3b0c8e11")


def full_url(kind: str, key: object) -> str:
    """A stable `urn:uuid:` for a row: the same row gets the same address in every export."""
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{kind}/{key}')}"


def _ref(url: str, display: str = "") -> dict[str, str]:
    return {"reference": url, **({"display": display} if display else {})}


def _coding(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def _local_code(code: str, display: str) -> dict[str, Any]:
    return _coding(OBSERVATION_SYSTEM, code, display)


def _survey() -> list[dict[str, Any]]:
    return [_coding(OBSERVATION_CATEGORY, "survey", "Survey")]


def _activity() -> list[dict[str, Any]]:
    return [_coding(OBSERVATION_CATEGORY, "activity", "Activity")]


# --- Resources ------------------------------------------------------------------------


def organization(clinic: Clinic) -> dict[str, Any]:
    telecom = [
        {"system": system, "value": value}
        for system, value in (("phone", clinic.phone), ("email", clinic.email))
        if value
    ]
    lines = [line.strip() for line in clinic.address.splitlines() if line.strip()]
    resource: dict[str, Any] = {
        "resourceType": "Organization",
        "id": f"clinic-{clinic.pk}",
        "active": True,
        "name": clinic.name,
    }
    if telecom:
        resource["telecom"] = telecom
    if lines:
        resource["address"] = [{"text": ", ".join(lines), "line": lines}]
    return resource


def practitioner(therapist: Therapist) -> dict[str, Any]:
    user = therapist.user
    resource: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": f"therapist-{therapist.pk}",
        "active": user.is_active,
        "name": [{"text": user.get_full_name()}],
        "telecom": [{"system": "email", "value": user.email, "use": "work"}],
    }
    if therapist.job_title:
        resource["qualification"] = [{"code": {"text": therapist.job_title}}]
    return resource


def patient_resource(patient: Patient) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": f"patient-{patient.pk}",
        "identifier": [{"system": PATIENT_ID_SYSTEM, "value": str(patient.pk)}],
        "active": patient.is_active,
        "name": [
            {
                "text": patient.full_name,
                "family": patient.last_name,
                "given": [patient.first_name],
            }
        ],
        "communication": [
            {
                "language": _coding(
                    LANGUAGE,
                    patient.preferred_language,
                    str(dict(settings.LANGUAGES).get(patient.preferred_language, "")),
                ),
                "preferred": True,
            }
        ],
        "managingOrganization": _ref(full_url("Organization", patient.clinic_id)),
    }
    telecom = [
        {"system": system, "value": value}
        for system, value in (("phone", patient.phone), ("email", patient.email))
        if value
    ]
    if telecom:
        resource["telecom"] = telecom
    if patient.date_of_birth:
        resource["birthDate"] = patient.date_of_birth.isoformat()
    if patient.primary_therapist_id:
        resource["generalPractitioner"] = [
            _ref(full_url("Practitioner", patient.primary_therapist_id))
        ]
    return resource


def _structured_dosage(item: PlanItem) -> dict[str, Any]:
    """Every dosage field as a sub-extension, named as in Rehabit."""
    parts: list[dict[str, Any]] = [
        {"url": "sets", "valueInteger": item.sets},
        {"url": "restSeconds", "valueInteger": item.rest_seconds},
        {"url": "side", "valueCode": item.side},
        {"url": "timesPerDay", "valueInteger": item.times_per_day},
        {"url": "daysPerWeek", "valueInteger": item.days_per_week},
    ]
    for name, key in (
        ("reps", "repetitions"),
        ("hold_seconds", "holdSeconds"),
        ("duration_minutes", "durationMinutes"),
    ):
        value = getattr(item, name)
        if value is not None:
            parts.append({"url": key, "valueInteger": value})
    for name in ("load", "tempo"):
        if getattr(item, name):
            parts.append({"url": name, "valueString": getattr(item, name)})
    return {"url": DOSAGE_EXTENSION, "extension": parts}


def _timing(item: PlanItem) -> dict[str, Any]:
    """The standard form: how often (a day, or a week when fewer than 7 days), how long."""
    if item.days_per_week >= 7:
        repeat: dict[str, Any] = {"frequency": item.times_per_day, "period": 1, "periodUnit": "d"}
    else:
        repeat = {
            "frequency": item.times_per_day * item.days_per_week,
            "period": 1,
            "periodUnit": "wk",
        }
    if item.duration_minutes:
        repeat |= {"duration": item.duration_minutes, "durationUnit": "min"}
    elif item.hold_seconds:
        repeat |= {"duration": item.hold_seconds, "durationUnit": "s"}
    return {"repeat": repeat}


def care_plan(plan: Plan, items: list[PlanItem]) -> dict[str, Any]:
    period: dict[str, str] = {"start": plan.start_date.isoformat()}
    if plan.end_date:
        period["end"] = plan.end_date.isoformat()
    activities = []
    for item in items:
        exercise = item.exercise
        words = dosage.describe(item)
        description = f"{exercise.name}: {words}"
        if item.instructions:
            description += f". {item.instructions}"
        detail: dict[str, Any] = {
            "kind": "ServiceRequest",
            "code": _coding(EXERCISE_SYSTEM, exercise.slug, exercise.name),
            "status": ACTIVITY_STATUS[Plan.Status(plan.status)],
            "description": description,
            "scheduledTiming": _timing(item),
            "extension": [_structured_dosage(item)],
        }
        if item.reps:
            detail["quantity"] = {
                "value": item.reps,
                "unit": "repetitions per set",
                "system": UCUM,
                "code": "{repetitions}",
            }
        activities.append({"detail": detail})
    resource: dict[str, Any] = {
        "resourceType": "CarePlan",
        "id": f"plan-{plan.pk}",
        "status": CAREPLAN_STATUS[Plan.Status(plan.status)],
        "intent": "plan",
        "title": plan.title,
        "subject": _ref(full_url("Patient", plan.patient_id)),
        "period": period,
        "created": plan.created_at.isoformat(),
        "author": _ref(full_url("Practitioner", plan.therapist_id)),
    }
    if plan.goals or plan.condition:
        resource["description"] = "\n".join(t for t in (plan.condition, plan.goals) if t)
    if plan.notes_for_patient:
        resource["note"] = [{"text": plan.notes_for_patient}]
    if activities:
        resource["activity"] = activities
    return resource


def _session_time(log: SessionLog, clinic: Clinic) -> str:
    # The day the patient did it, as a date: the log records a day, not an hour.
    return log.date.isoformat()


def session_observations(log: SessionLog, patient: Patient) -> list[dict[str, Any]]:
    """The session's pain score and its nerve symptoms, each an Observation."""
    subject = _ref(full_url("Patient", patient.pk))
    based_on = [_ref(full_url("CarePlan", log.plan_id))]
    when = _session_time(log, patient.clinic)
    pain = {
        "resourceType": "Observation",
        "id": f"session-{log.pk}-pain",
        "status": "final",
        "category": _survey(),
        "code": _coding(LOINC, *PAIN_CODE),
        "subject": subject,
        "basedOn": based_on,
        "effectiveDateTime": when,
        "performer": [subject],
        "valueInteger": log.pain,
    }
    code, display = NERVE_SYMPTOM_CODES[SessionLog.NerveSymptoms(log.nerve_symptoms)]
    components: list[dict[str, Any]] = [
        {
            "code": _local_code("symptoms-lasted", "Symptoms lasted after the exercise"),
            "valueBoolean": log.symptoms_lasted,
        }
    ]
    if log.symptoms_minutes is not None:
        components.append(
            {
                "code": _local_code("symptoms-minutes", "How long the symptoms lasted"),
                "valueQuantity": {
                    "value": log.symptoms_minutes,
                    "unit": "min",
                    "system": UCUM,
                    "code": "min",
                },
            }
        )
    nerve = {
        "resourceType": "Observation",
        "id": f"session-{log.pk}-nerve",
        "status": "final",
        "category": _survey(),
        "code": _local_code("nerve-symptoms", "Nerve symptoms during home exercise"),
        "subject": subject,
        "basedOn": based_on,
        "effectiveDateTime": when,
        "performer": [subject],
        "valueCodeableConcept": _coding(SNOMED, code, display),
        "component": components,
    }
    return [pain, nerve]


def weekly_adherence(plan: Plan, today: datetime.date) -> list[dict[str, Any]]:
    """One Observation per finished week of the plan (weeks counted from its start
    date; the plan's last, shorter week once the plan has ended), with the
    percentage and the sessions due and done, by the adherence rules. The week in
    progress is left out: its figure would change by the evening. A plan paused or
    drafted now still reports the weeks it was active (by its versions)."""
    last = adherence.counting_end(plan)
    end = today - datetime.timedelta(days=1)
    if last is not None:
        end = min(last, end)
    elif plan.end_date is not None:
        end = min(plan.end_date, end)
    records = adherence.day_by_day(plan, plan.start_date, end)
    out = []
    for week, first in enumerate(range(0, len(records), 7), start=1):
        days = records[first : first + 7]
        if len(days) < 7 and days[-1].date != last:
            continue
        figure = adherence.over(days)
        if figure.percent is None:
            continue
        out.append(
            {
                "resourceType": "Observation",
                "id": f"plan-{plan.pk}-week-{week}",
                "status": "final",
                "category": _activity(),
                "code": _local_code("exercise-adherence", "Home-exercise adherence, one week"),
                "subject": _ref(full_url("Patient", plan.patient_id)),
                "basedOn": [_ref(full_url("CarePlan", plan.pk))],
                "effectivePeriod": {
                    "start": days[0].date.isoformat(),
                    "end": days[-1].date.isoformat(),
                },
                "valueQuantity": {
                    "value": figure.percent,
                    "unit": "%",
                    "system": UCUM,
                    "code": "%",
                },
                "component": [
                    {
                        "code": _local_code("sessions-due", "Sessions due"),
                        "valueInteger": figure.prescribed,
                    },
                    {
                        "code": _local_code("sessions-done", "Sessions done"),
                        "valueInteger": figure.completed,
                    },
                ],
            }
        )
    return out


# --- Bundles --------------------------------------------------------------------------


def _entry(resource: dict[str, Any], kind: str, key: object) -> dict[str, Any]:
    return {"fullUrl": full_url(kind, key), "resource": resource}


def patient_bundle(patient: Patient, today: datetime.date | None = None) -> dict[str, Any]:
    """The patient's record as a FHIR Bundle (plain data, validated by `fhir.resources`).

    Call inside the patient's clinic scope. A fixed number of queries per patient
    and two per plan (its day-by-day adherence).
    """
    clinic = patient.clinic
    today = today or clinic.today()
    plans = list(
        Plan.objects.filter(patient=patient)
        .select_related("therapist__user")
        .order_by("start_date", "pk")
    )
    items_by_plan: dict[int, list[PlanItem]] = {plan.pk: [] for plan in plans}
    for item in (
        PlanItem.objects.filter(plan__patient=patient)
        .select_related("exercise")
        .order_by("plan_id", "order", "pk")
    ):
        items_by_plan[item.plan_id].append(item)
    therapists: dict[int, Therapist] = {plan.therapist_id: plan.therapist for plan in plans}
    if patient.primary_therapist_id and patient.primary_therapist_id not in therapists:
        primary = Therapist.objects.select_related("user").get(pk=patient.primary_therapist_id)
        therapists[primary.pk] = primary

    entries = [
        _entry(patient_resource(patient), "Patient", patient.pk),
        _entry(organization(clinic), "Organization", clinic.pk),
    ]
    entries += [_entry(practitioner(t), "Practitioner", pk) for pk, t in sorted(therapists.items())]
    for plan in plans:
        entries.append(_entry(care_plan(plan, items_by_plan[plan.pk]), "CarePlan", plan.pk))
    for log in SessionLog.objects.filter(plan__patient=patient).order_by("date", "pk"):
        for observation in session_observations(log, patient):
            entries.append(_entry(observation, "Observation", observation["id"]))
    for plan in plans:
        plan.patient = patient
        for observation in weekly_adherence(plan, today):
            entries.append(_entry(observation, "Observation", observation["id"]))
    entries += questionnaire_entries(patient)
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(_NAMESPACE, f"bundle/{patient.pk}/{today.isoformat()}")),
        "type": "collection",
        "timestamp": timezone.now().isoformat(),
        "entry": entries,
    }


def questionnaire_entries(patient: Patient) -> list[dict[str, Any]]:
    """The patient's questionnaire answers (outcome measures), each a QuestionnaireResponse
    with its items in English, the answers as integers and the score. One query."""
    responses = (
        QuestionnaireResponse.objects.filter(measure__plan__patient=patient)
        .select_related("measure")
        .order_by("due_date", "pk")
    )
    entries = []
    for response in responses:
        resource = questionnaire_response(response, patient)
        entries.append(_entry(resource, "QuestionnaireResponse", response.pk))
    return entries


def questionnaire_response(response: QuestionnaireResponse, patient: Patient) -> dict[str, Any]:
    measure = response.measure
    instrument = outcome_library.get(measure.instrument)
    items = []
    for item in instrument.items(list(response.activities or [])):
        value = response.answers.get(item.link_id) if isinstance(response.answers, dict) else None
        entry: dict[str, Any] = {"linkId": item.link_id, "text": item.text_en}
        if isinstance(value, int) and not isinstance(value, bool):
            entry["answer"] = [{"valueInteger": value}]
        items.append(entry)
    when = response.completed_at or response.updated_at
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": f"questionnaire-{response.pk}",
        "identifier": {"system": f"{LOCAL}:questionnaire-response", "value": str(response.pk)},
        "questionnaire": f"{QUESTIONNAIRE_SYSTEM}:{measure.instrument}",
        "status": response.status,
        "subject": _ref(full_url("Patient", patient.pk)),
        "basedOn": [_ref(full_url("CarePlan", measure.plan_id))],
        "author": _ref(full_url("Patient", patient.pk)),
        "source": _ref(full_url("Patient", patient.pk)),
        "authored": when.isoformat(),
        "extension": [
            {
                "url": f"{LOCAL}:StructureDefinition:asked-for",
                "valueDate": response.due_date.isoformat(),
            }
        ],
    }
    if response.score is not None:
        resource["extension"].append(
            {"url": f"{LOCAL}:StructureDefinition:score", "valueDecimal": float(response.score)}
        )
    if items:
        resource["item"] = items
    return resource


def validated(bundle: dict[str, Any]) -> str:
    """The bundle as JSON, after `fhir.resources` has validated every resource in it.

    Raises pydantic's ValidationError when a resource breaks the R4 rules.
    """
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)
    check_references(bundle)
    # The data validated is the data written (the model's own serialiser takes
    # as long again as the validation, and adds nothing).
    return json.dumps(bundle, ensure_ascii=False, separators=(",", ":"))


def references(value: Any) -> Iterator[str]:
    """Every `reference` string anywhere inside a resource."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "reference" and isinstance(inner, str):
                yield inner
            else:
                yield from references(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from references(inner)


class BrokenReference(ValueError):
    """A reference in a bundle that no entry of the bundle answers."""


def check_references(bundle: dict[str, Any]) -> None:
    urls = {entry["fullUrl"] for entry in bundle.get("entry", [])}
    for entry in bundle.get("entry", []):
        for target in references(entry["resource"]):
            if target not in urls:
                raise BrokenReference(
                    f"{entry['resource']['resourceType']}/{entry['resource'].get('id')} "
                    f"refers to {target}, which is not in the bundle."
                )


def export_patient(patient: Patient) -> str:
    """One patient's validated bundle as JSON text. Call inside the patient's clinic scope."""
    return validated(patient_bundle(patient))


def export_patients(patients: Iterable[Patient]) -> Iterator[str]:
    """Validated bundles, one JSON line each (NDJSON), built one patient at a time."""
    for patient in patients:
        yield validated(patient_bundle(patient)) + "\n"


def clinic_patients(clinic: Clinic) -> Iterator[Patient]:
    """The clinic's patients, read from the database in chunks (never all at once)."""
    return (
        Patient.objects.filter(clinic=clinic)
        .select_related("clinic")
        .order_by("pk")
        .iterator(chunk_size=100)
    )


def pretty(text: str) -> str:
    return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
