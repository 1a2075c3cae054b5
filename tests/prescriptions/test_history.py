"""The version history of plans and patient records (prescriptions.history)."""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterator

import pytest
from django.utils import timezone

from clinic.models import Patient
from clinic.scoping import ScopeError, scope
from prescriptions import builder, history, plans
from prescriptions.export import patient_data
from prescriptions.models import (
    EducationPage,
    ExerciseLog,
    PatientVersion,
    Plan,
    PlanItem,
    PlanVersion,
    SessionLog,
)
from tests import factories
from tests.factories import on_day

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clinic_scope")]


def versions(plan: Plan) -> list[PlanVersion]:
    return list(PlanVersion.objects.filter(plan=plan).order_by("pk"))


def test_it_keeps_the_whole_plan_after_each_change(plan, shared_exercise):
    (first,) = versions(plan)
    assert first.data["title"] == plan.title
    assert [row["exercise"] for row in first.data["items"]] == [shared_exercise.name]
    assert (first.status, first.times_per_day, first.days_per_week) == (
        plan.status,
        shared_exercise.times_per_day,
        shared_exercise.days_per_week,
    )
    plan.title = "Sciatica, week 3"
    plan.save()
    item = plan.items.get()
    item.sets += 1
    item.save()
    newest = versions(plan)[-1]
    assert len(versions(plan)) == 3
    assert newest.data["title"] == "Sciatica, week 3"
    assert newest.data["items"][0]["sets"] == item.sets


def test_an_identical_version_is_not_written_twice(plan):
    plan.save()
    plan.items.get().save()
    history.record_plan(plan.pk)
    assert len(versions(plan)) == 1


def test_a_batch_is_one_version(plan, shared_exercise):
    with history.batch():
        plan.title = "New title"
        plan.save()
        item = plan.items.get()
        item.sets = 4
        item.save()
        PlanItem.objects.create(plan=plan, exercise=shared_exercise, order=2, reps=5)
        assert len(versions(plan)) == 1  # nothing yet
    assert len(versions(plan)) == 2
    assert len(versions(plan)[-1].data["items"]) == 2


def test_a_batch_that_fails_writes_nothing(plan):
    with contextlib.suppress(RuntimeError), history.batch():
        Plan.objects.filter(pk=plan.pk).update(title="Half done")
        history.plan_changed(plan)
        raise RuntimeError
    assert len(versions(plan)) == 1


def test_status_changes_and_revisions_made_with_update_are_recorded(plan):
    plans.set_status([plan], Plan.Status.PAUSED)
    assert versions(plan)[-1].status == Plan.Status.PAUSED
    PlanItem.objects.filter(plan=plan).update(sets=9)
    plans.bump_revision(plan)
    newest = versions(plan)[-1]
    assert newest.data["items"][0]["sets"] == 9
    assert newest.revision == plan.revision


def test_the_builder_saves_one_version(plan, shared_exercise):
    items = list(plan.items.all())
    items[0].sets = 7
    items.append(PlanItem(exercise=shared_exercise, reps=8, sets=1))
    plan.title = "Built"
    assert builder.save_plan(plan, items, revision=plan.revision)
    assert len(versions(plan)) == 2
    newest = versions(plan)[-1]
    assert newest.data["title"] == "Built"
    assert [row["sets"] for row in newest.data["items"]] == [7, 1]
    # Removing a row is a version without it.
    assert builder.save_plan(plan, items[:1], revision=plan.revision)
    assert len(versions(plan)[-1].data["items"]) == 1


def test_copies_and_plans_from_a_protocol_start_with_their_exercises(
    plan, patient, therapist, clinic, shared_exercise
):
    copy = plans.duplicate_plan(plan)
    (first,) = versions(copy)  # one version, with the exercises
    assert [row["exercise_id"] for row in first.data["items"]] == [shared_exercise.pk]
    template = factories.make_template(clinic, [shared_exercise])
    started = plans.start_plan_from_template(template, patient=patient, therapist=therapist)
    (first,) = versions(started)
    assert len(first.data["items"]) == 1


def test_a_version_is_in_force_from_its_day_and_a_same_day_change_replaces_it(
    patient, therapist, shared_exercise
):
    day1 = datetime.date(2026, 11, 2)
    with on_day(day1):
        plan = factories.make_plan(patient, therapist, [shared_exercise])
        plans.set_status([plan], Plan.Status.PAUSED)
    first, second = versions(plan)
    plan.refresh_from_db()
    # Changed on its first day: the plan as it was that evening counts from the start.
    assert plan.current_since is None
    assert (second.in_force_from, second.in_force_until) == (None, None)
    assert first.in_force_from == day1
    assert first.in_force_until == day1 - datetime.timedelta(days=1)  # in force on no day
    day5 = day1 + datetime.timedelta(days=4)
    with on_day(day5):
        plans.set_status([plan], Plan.Status.ACTIVE)
    plan.refresh_from_db()
    second.refresh_from_db()
    third = versions(plan)[-1]
    assert plan.current_since == day5
    assert (second.in_force_from, second.in_force_until) == (None, day5 - datetime.timedelta(1))
    assert (third.in_force_from, third.in_force_until, third.recorded_on) == (day5, None, day5)


def test_deleting_a_row_is_recorded_and_deleting_the_plan_leaves_nothing(plan, shared_exercise):
    PlanItem.objects.create(plan=plan, exercise=shared_exercise, order=2, reps=5)
    plan.items.get(order=2).delete()
    assert len(versions(plan)[-1].data["items"]) == 1
    plan_id = plan.pk
    Plan.objects.filter(pk=plan_id).delete()
    assert not PlanVersion.objects.filter(plan_id=plan_id).exists()


def test_ending_a_logged_row_is_a_version_without_it(plan, shared_exercise):
    second = PlanItem.objects.create(plan=plan, exercise=shared_exercise, order=2, reps=5)
    session = SessionLog.objects.create(
        plan=plan, date=plan.patient.clinic.today(), session_number=1, pain=1
    )
    ExerciseLog.objects.create(session=session, item=second, sets_done=1)
    before = len(versions(plan))
    plans.remove_items(plan, [second.pk])  # ended, not deleted: it has a log
    assert PlanItem.with_ended.get(pk=second.pk).ended_on is not None
    assert len(versions(plan)) == before + 1
    assert [row["id"] for row in versions(plan)[-1].data["items"]] == [plan.items.get().pk]


def test_education_pages_are_part_of_the_plan(plan, clinic):
    page = EducationPage.objects.create(
        clinic=clinic, slug="sitting", title="Sitting and driving", summary="s", body="b"
    )
    plan.education.add(page)
    assert versions(plan)[-1].data["education"] == ["Sitting and driving"]
    before = len(versions(plan))
    plan.education.remove(page)
    assert len(versions(plan)) == before + 1
    assert versions(plan)[-1].data["education"] == []
    from prescriptions.admin.history import plan_changes

    assert plan_changes(versions(plan)[-2].data, versions(plan)[-1].data) == [
        "Education page removed: Sitting and driving."
    ]


def test_versions_are_clinic_scoped_and_fail_closed(plan, other_clinic):
    assert PlanVersion.objects.filter(plan=plan).exists()
    assert PatientVersion.objects.filter(patient=plan.patient).exists()
    with scope(other_clinic):
        assert not PlanVersion.objects.exists()
        assert not PatientVersion.objects.exists()
    with scope(None):
        assert not PlanVersion.objects.exists()
    with history_outside_scope(), pytest.raises(ScopeError):
        list(PlanVersion.objects.all())


@contextlib.contextmanager
def history_outside_scope() -> Iterator[None]:
    from clinic.scoping import outside_any_scope

    with outside_any_scope():
        yield


def test_the_patient_record_keeps_its_versions(patient):
    (first,) = PatientVersion.objects.filter(patient=patient)
    assert first.data["first_name"] == patient.first_name
    patient.phone = "0160 1234567"
    patient.save()
    patient.save()  # the same again: no new version
    # The reminder claim is not part of the record.
    Patient.objects.filter(pk=patient.pk).update(last_reminded_on=timezone.localdate())
    patient.save()
    newest = PatientVersion.objects.filter(patient=patient).order_by("-pk")
    assert newest.count() == 2
    assert newest[0].data["phone"] == "0160 1234567"


def test_the_admin_records_who_changed_the_record(client, therapist, patient):
    from django.urls import reverse

    from tests.conftest import login

    login(client, therapist)
    url = reverse("admin:clinic_patient_change", args=[patient.pk])
    page = client.get(url)
    data = {k: v for k, v in page.context["adminform"].form.initial.items() if v is not None}
    data.update(
        {
            "phone": "0301 5551234",
            "plans-TOTAL_FORMS": "0",
            "plans-INITIAL_FORMS": "0",
            "plans-MIN_NUM_FORMS": "0",
            "plans-MAX_NUM_FORMS": "1000",
        }
    )
    data.pop("user", None)
    response = client.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    newest = PatientVersion.objects.filter(patient=patient).order_by("-pk").first()
    assert newest is not None
    assert (newest.data["phone"], newest.changed_by) == ("0301 5551234", therapist.user)


def test_the_export_holds_the_versions_without_clinical_notes_for_the_patient(plan, patient):
    patient.notes = "Therapist-only remark"
    patient.save()
    plan.title = "Renamed"
    plan.save()
    data = patient_data(patient)
    titles = [v["plan"]["title"] for v in data["plans"][0]["versions"]]
    assert titles == ["Hamstring rehabilitation", "Renamed"]
    assert len(data["profile_versions"]) == 2
    assert all("notes" not in v["record"] for v in data["profile_versions"])
    staff = patient_data(patient, clinical_notes=True)
    assert staff["profile_versions"][-1]["record"]["notes"] == "Therapist-only remark"


def test_the_admin_form_with_its_rows_is_one_version(client, therapist, plan, patient):
    from django.urls import reverse

    from tests.conftest import login
    from tests.prescriptions.test_admin import item_rows, plan_form

    item = plan.items.get()
    before = len(versions(plan))
    login(client, therapist)
    data = plan_form(
        patient,
        therapist,
        status=plan.status,
        start_date=str(plan.start_date),
        end_date="",
        title="Renamed in the admin",
    ) | item_rows(
        [{"id": item.pk, "plan": plan.pk, "exercise": item.exercise_id, "order": 1, "sets": 5}],
        initial=1,
    )
    response = client.post(reverse("admin:prescriptions_plan_change", args=[plan.pk]), data)
    assert response.status_code == 302, response.context["errors"]
    assert len(versions(plan)) == before + 1
    newest = versions(plan)[-1]
    assert (newest.data["title"], newest.data["items"][0]["sets"]) == ("Renamed in the admin", 5)
    assert newest.changed_by == therapist.user
