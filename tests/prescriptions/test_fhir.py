"""FHIR export: every bundle parses with fhir.resources, every reference resolves,
the codes are the real ones, and a clinic's export streams in flat memory."""

from __future__ import annotations

import datetime
import gc
import io
import json
import sys

import pytest
from django.core.management import CommandError, call_command
from fhir.resources.R4B.bundle import Bundle

from clinic.models import AuditEntry
from clinic.scoping import scope, unscoped
from prescriptions import fhir
from prescriptions.models import Plan, QuestionnaireResponse, SessionLog
from tests import factories
from tests.conftest import login

TODAY = datetime.date(2026, 11, 15)


def _log(plan: Plan, day: datetime.date, pain: int, **kw) -> SessionLog:
    with unscoped():
        return SessionLog.objects.create(plan=plan, date=day, pain=pain, **kw)


def _parse(text: str) -> Bundle:
    bundle = Bundle.model_validate_json(text)
    urls = {entry.fullUrl for entry in bundle.entry or []}
    data = json.loads(text)
    for entry in data["entry"]:
        for target in fhir.references(entry["resource"]):
            assert target in urls, f"{entry['resource']['id']} -> {target}"
    return bundle


def _resources(bundle: Bundle, kind: str) -> list:
    return [
        e.resource
        for e in bundle.entry or []
        if e.resource is not None and e.resource.get_resource_type() == kind
    ]


@pytest.fixture
def logged_plan(plan):
    _log(plan, datetime.date(2026, 11, 1), 4)
    _log(
        plan,
        datetime.date(2026, 11, 2),
        6,
        nerve_symptoms=SessionLog.NerveSymptoms.TINGLING,
        symptoms_lasted=True,
        symptoms_minutes=20,
    )
    return plan


def test_it_exports_a_patient_as_a_valid_collection(patient, logged_plan, clinic_scope):
    with scope(patient.clinic):
        text = fhir.validated(fhir.patient_bundle(patient, today=TODAY))
    bundle = _parse(text)
    assert bundle.type == "collection"
    kinds = sorted({e.resource.get_resource_type() for e in bundle.entry or [] if e.resource})
    assert kinds == ["CarePlan", "Observation", "Organization", "Patient", "Practitioner"]
    (resource,) = _resources(bundle, "Patient")
    assert resource.name[0].family == "Reed"
    (care_plan,) = _resources(bundle, "CarePlan")
    assert care_plan.status == "active"
    assert care_plan.period.start.isoformat() == "2026-11-01"
    (activity,) = care_plan.activity
    assert activity.detail.code.coding[0].code == "shared-stretch"
    assert activity.detail.description == (
        "Standing hamstring stretch: hold 30 seconds, 3 times, each side, once a day"
    )
    assert activity.detail.scheduledTiming.repeat.duration == 30
    structured = {e.url: e for e in activity.detail.extension[0].extension}
    assert structured["holdSeconds"].valueInteger == 30
    assert structured["side"].valueCode == "each"


def test_it_codes_pain_with_loinc_and_nerve_symptoms_with_snomed(
    patient, logged_plan, clinic_scope
):
    bundle = _parse(fhir.validated(fhir.patient_bundle(patient, today=TODAY)))
    observations = _resources(bundle, "Observation")
    pain = [o for o in observations if o.code.coding[0].system == "http://loinc.org"]
    assert [(o.code.coding[0].code, o.valueInteger) for o in pain] == [
        ("72514-3", 4),
        ("72514-3", 6),
    ]
    nerve = [o for o in observations if o.code.coding[0].code == "nerve-symptoms"]
    assert [o.valueCodeableConcept.coding[0].code for o in nerve] == ["260413007", "62507009"]
    assert nerve[1].component[1].valueQuantity.value == 20


def test_it_reports_adherence_per_finished_week(patient, logged_plan, clinic_scope):
    bundle = _parse(fhir.validated(fhir.patient_bundle(patient, today=TODAY)))
    weeks = [
        o
        for o in _resources(bundle, "Observation")
        if o.code.coding[0].code == "exercise-adherence"
    ]
    # Nov 1-7: 2 of 7 daily sessions; Nov 8-14: none. The week begun today is left out.
    assert [(w.effectivePeriod.start.isoformat(), w.valueQuantity.value) for w in weeks] == [
        ("2026-11-01", 28),
        ("2026-11-08", 0),
    ]
    assert [c.valueInteger for c in weeks[0].component] == [7, 2]


def test_an_ended_plans_last_short_week_is_reported(patient, logged_plan, clinic_scope):
    with unscoped():
        Plan.objects.filter(pk=logged_plan.pk).update(end_date=datetime.date(2026, 11, 10))
    bundle = _parse(fhir.validated(fhir.patient_bundle(patient, today=TODAY)))
    periods = [
        (o.effectivePeriod.start.isoformat(), o.effectivePeriod.end.isoformat())
        for o in _resources(bundle, "Observation")
        if o.code.coding[0].code == "exercise-adherence"
    ]
    assert periods == [("2026-11-01", "2026-11-07"), ("2026-11-08", "2026-11-10")]


def test_a_broken_reference_is_refused(patient, plan, clinic_scope):
    bundle = fhir.patient_bundle(patient, today=TODAY)
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Patient"]
    with pytest.raises(fhir.BrokenReference, match="not in the bundle"):
        fhir.validated(bundle)


def test_the_command_writes_one_patients_bundle(patient, logged_plan, tmp_path):
    target = tmp_path / "paula.json"
    call_command("fhir_export", str(patient.pk), "-o", str(target), stdout=io.StringIO())
    bundle = _parse(target.read_text())
    assert _resources(bundle, "Patient")[0].id == f"patient-{patient.pk}"


def test_the_command_refuses_an_unknown_patient(db, tmp_path):
    with pytest.raises(CommandError, match="no patient with ID 999"):
        call_command("fhir_export", "999", "-o", str(tmp_path / "x.json"))


def test_the_command_exports_a_clinic_one_bundle_a_line(
    clinic, patient, other_patient, outside_patient, logged_plan, tmp_path
):
    target = tmp_path / "clinic.ndjson"
    out = io.StringIO()
    call_command("fhir_export", "--clinic", clinic.slug, "-o", str(target), stdout=out)
    lines = target.read_text().splitlines()
    names = sorted(_resources(_parse(line), "Patient")[0].name[0].family for line in lines)
    assert names == ["Lane", "Reed"]
    assert "2 patients" in out.getvalue()


def test_the_admin_action_downloads_only_the_own_clinics_patients(
    client, therapist, patient, outside_patient, logged_plan
):
    login(client, therapist)
    response = client.post(
        "/admin/clinic/patient/",
        {"action": "export_fhir", "_selected_action": [patient.pk, outside_patient.pk]},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    body = b"".join(response.streaming_content).decode()
    bundle = _parse(body)
    assert [p.id for p in _resources(bundle, "Patient")] == [f"patient-{patient.pk}"]
    with unscoped():
        exported = AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT)
        assert list(exported.values_list("patient_id", "detail")) == [(patient.pk, "FHIR bundle")]


def test_a_clinics_export_streams_in_flat_memory(clinic, therapist, shared_exercise):
    with unscoped():
        for n in range(200):
            p = factories.make_patient(clinic, therapist, first_name=f"P{n}")
            plan = factories.make_plan(p, therapist, [shared_exercise])
            SessionLog.objects.bulk_create(
                SessionLog(plan=plan, date=datetime.date(2026, 11, d), pain=d % 10)
                for d in range(1, 6)
            )
    blocks: list[int] = []
    written = 0
    with scope(clinic):
        for n, line in enumerate(fhir.export_patients(fhir.clinic_patients(clinic))):
            written += 1
            assert json.loads(line)["type"] == "collection"
            if n in (20, 199):
                gc.collect()
                blocks.append(sys.getallocatedblocks())
    assert written == 200
    # The interpreter holds as many memory blocks after 200 patients as after 20,
    # give or take: nothing accumulates per patient. (A bundle of one patient
    # kept as data is about 1,100 blocks, so keeping them would add some 200,000.)
    assert blocks[1] - blocks[0] < 5_000, blocks


def test_questionnaire_answers_are_exported_as_questionnaire_responses(patient, plan, clinic_scope):
    measure = factories.make_measure(plan, "nprs")
    with unscoped():
        QuestionnaireResponse.objects.create(
            measure=measure,
            due_date=datetime.date(2026, 11, 1),
            status=QuestionnaireResponse.Status.COMPLETED,
            answers={"worst": 6, "average": 4},
            score=5,
            completed_at=datetime.datetime(2026, 11, 1, 9, 30, tzinfo=datetime.UTC),
        )
        QuestionnaireResponse.objects.create(
            measure=measure, due_date=datetime.date(2026, 11, 8), answers={"worst": 3}
        )
    bundle = _parse(fhir.validated(fhir.patient_bundle(patient, today=TODAY)))
    done, started = _resources(bundle, "QuestionnaireResponse")
    assert done.status == "completed" and started.status == "in-progress"
    assert done.questionnaire == "urn:rehabit:fhir:Questionnaire:nprs"
    assert [(i.linkId, i.answer[0].valueInteger) for i in done.item] == [
        ("worst", 6),
        ("average", 4),
    ]
    assert [i.answer for i in started.item] == [started.item[0].answer, None]
    assert {e.url.rsplit(":", 1)[1]: e for e in done.extension}["score"].valueDecimal == 5


def test_a_plan_paused_now_still_reports_the_weeks_it_was_active(
    patient, therapist, shared_exercise, clinic_scope
):
    from prescriptions import history, plans
    from tests.factories import on_day

    start = datetime.date(2026, 3, 2)
    with on_day(start):
        plan = factories.make_plan(patient, therapist, [shared_exercise], start_date=start)
        plan.items.update(times_per_day=1, days_per_week=7)
        history.plan_changed(plan)
    for n in range(14):
        _log(plan, start + datetime.timedelta(days=n), 2)
    with on_day(start + datetime.timedelta(days=14)):
        plans.set_status(Plan.objects.filter(pk=plan.pk), Plan.Status.PAUSED)
    plan.refresh_from_db()
    weeks = fhir.weekly_adherence(plan, start + datetime.timedelta(days=25))
    # Two weeks active and done in full; the paused days after them have nothing due.
    assert [(w["effectivePeriod"]["start"], w["valueQuantity"]["value"]) for w in weeks] == [
        ("2026-03-02", 100),
        ("2026-03-09", 100),
    ]
