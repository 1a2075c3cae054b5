"""The version history of plans (with their exercises) and of patient records.

After every change Rehabit keeps the whole plan as it then was: a `PlanVersion`
holds every current exercise with its dose and the education pages (as JSON)
and, as columns, what
adherence reads for the days the version was in force (status, start and end
dates, sessions a day, days a week). A `PatientVersion` holds the fields of a
patient's record. So "what did this plan say on 3 March" has an answer, and
adherence over a period counts each day by the plan as it was that day
(prescriptions.adherence).

A version is written after each saved change, from the model signals (a plan,
an exercise of a plan or a patient saved, an exercise removed, education pages
added or removed) and explicitly
on the paths that change rows with `.update()` or `bulk_create()`, which send
no signals (`plan_changed`: status changes, revisions, the plan builder,
copies, starting from a protocol, the next phase, reordering). Inside
`batch()` the versions wait until the block ends, so a change of many rows (the
builder's save, the admin's form with its exercise rows) is one version. A
version identical to the newest one is not written again.

Which day a version is in force from: the clinic's day it was written. A day
counts with the plan as it was at the end of that day (a plan paused on the
10th has nothing due on the 10th), and the days before the first version with
the plan as it was at the end of its first day, so the rows added just after
creating a plan, or a plan started on an earlier date, change nothing.
`Plan.current_since` is the day the newest version began (empty while every
version is from the plan's first day): adherence for days from then on reads
the plan itself, and a plan that never changed reads no version.

Why not django-simple-history (the usual choice):
* adherence needs the whole plan as it was on a day, in one row: the plan's
  status with the highest "times a day" and "days a week" of the exercises it
  had then. simple-history keeps one history table per model, so the plan on a
  day would be a join of the plan's and its items' histories by timestamp, per
  plan and per day, in every adherence query;
* erasing a patient must take their versions with them: here they are rows
  that cascade from the patient and the plan; simple-history's tables have no
  foreign keys to the live rows and would need rewriting by hand;
* every query of patient data is scoped to a clinic and fails closed
  (clinic.scoping): these models have scoped managers like the others, which
  simple-history's generated models do not;
* plan statuses and revisions change through `.update()` (prescriptions.plans),
  which model signals, and so simple-history, never see.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import receiver
from django.utils import timezone

from clinic import audit
from clinic.models import Patient
from prescriptions.adherence import days_per_week, sessions_per_day
from prescriptions.models import DOSAGE_FIELD_NAMES, PatientVersion, Plan, PlanItem, PlanVersion

PLAN_FIELDS = (
    "title",
    "condition",
    "goals",
    "notes_for_patient",
    "status",
    "start_date",
    "end_date",
)
ITEM_FIELDS = (*DOSAGE_FIELD_NAMES, "order", "load", "tempo", "instructions")
PATIENT_FIELDS = (
    "first_name",
    "last_name",
    "date_of_birth",
    "email",
    "phone",
    "preferred_language",
    "primary_therapist_id",
    "is_active",
    "large_print",
    "reminder_time",
    "notes",
)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return value


def plan_data(
    plan: Plan, items: Sequence[PlanItem], education: Sequence[str] = ()
) -> dict[str, Any]:
    """The plan with its current exercises and education pages (titles), as a version
    holds it (JSON)."""
    return {
        **{name: _plain(getattr(plan, name)) for name in PLAN_FIELDS},
        "therapist_id": plan.therapist_id,
        "phase": plan.phase.number if plan.phase is not None else None,
        "education": list(education),
        "items": [
            {
                "id": item.pk,
                "exercise_id": item.exercise_id,
                "exercise": item.exercise.name,
                **{name: getattr(item, name) for name in ITEM_FIELDS},
            }
            for item in items
        ],
    }


def patient_data(patient: Patient) -> dict[str, Any]:
    return {name: _plain(getattr(patient, name)) for name in PATIENT_FIELDS}


# ---------------------------------------------------------------------------
# Writing versions


def record_plan(plan_id: int) -> PlanVersion | None:
    """Write the plan's version as it is now, unless the newest one says the same.

    Follows a plan the caller has already chosen (no clinic scope is needed, as for
    `Model.save()`). Returns the new version, or None.
    """
    with transaction.atomic():
        plan = (
            Plan._base_manager.select_related("patient__clinic", "phase").filter(pk=plan_id).first()
        )
        if plan is None:
            return None
        items = list(
            PlanItem._base_manager.filter(plan_id=plan_id, ended_on=None)
            .select_related("exercise")
            .order_by("order", "pk")
        )
        # Through the link table: the pages' own manager would need a clinic scope.
        education = (
            Plan.education.through._base_manager.filter(plan_id=plan_id)
            .order_by("educationpage__title")
            .values_list("educationpage__title", flat=True)
        )
        data = plan_data(plan, items, list(education))
        newest = PlanVersion._base_manager.filter(plan_id=plan_id, in_force_until=None).first()
        if newest is not None and newest.data == data:
            return None
        today = plan.patient.clinic.today()
        since = None
        if newest is not None:
            if newest.recorded_on >= today:
                # Replaced on its own day: in force on no day, its start passes on.
                since = newest.in_force_from
                newest.in_force_from = today
            else:
                since = today
            newest.in_force_until = today - datetime.timedelta(days=1)
            newest.save(update_fields=["in_force_from", "in_force_until"])
        version = PlanVersion(
            plan=plan,
            recorded_at=timezone.now(),
            recorded_on=today,
            changed_by=audit.acting_user(),
            in_force_from=since,
            status=plan.status,
            start_date=plan.start_date,
            end_date=plan.end_date,
            times_per_day=sessions_per_day(items),
            days_per_week=days_per_week(items),
            revision=plan.revision,
            data=data,
        )
        version.save()
        if plan.current_since != since:
            Plan._base_manager.filter(pk=plan_id).update(current_since=since)
        return version


def record_patient(patient_id: int) -> PatientVersion | None:
    """Write the patient's record as it is now, unless the newest version says the same."""
    patient = Patient._base_manager.select_related("clinic").filter(pk=patient_id).first()
    if patient is None:
        return None
    data = patient_data(patient)
    newest = PatientVersion._base_manager.filter(patient_id=patient_id).order_by("-pk").first()
    if newest is not None and newest.data == data:
        return None
    version = PatientVersion(
        patient=patient,
        recorded_at=timezone.now(),
        recorded_on=patient.clinic.today(),
        changed_by=audit.acting_user(),
        data=data,
    )
    version.save()
    return version


@dataclass
class _Pending:
    # dicts as ordered sets
    plans: dict[int, None] = field(default_factory=dict)
    patients: dict[int, None] = field(default_factory=dict)


_pending: ContextVar[_Pending | None] = ContextVar("rehabit_history_batch", default=None)
# Plans being deleted: their exercises' deletions record nothing.
_deleting: ContextVar[frozenset[int]] = ContextVar("rehabit_plans_deleted", default=frozenset())


@contextmanager
def batch() -> Iterator[None]:
    """Within this block, changes are written as one version per plan and patient,
    when the outermost block ends without an error."""
    if _pending.get() is not None:
        yield
        return
    pending = _Pending()
    token = _pending.set(pending)
    try:
        yield
    finally:
        _pending.reset(token)
    for plan_id in pending.plans:
        record_plan(plan_id)
    for patient_id in pending.patients:
        record_patient(patient_id)


def plan_changed(plan: Plan | int) -> None:
    """The plan or its exercises changed: write a version now, or when the batch ends."""
    plan_id = plan if isinstance(plan, int) else plan.pk
    pending = _pending.get()
    if pending is not None:
        pending.plans[plan_id] = None
    else:
        record_plan(plan_id)


def patient_changed(patient: Patient | int) -> None:
    patient_id = patient if isinstance(patient, int) else patient.pk
    pending = _pending.get()
    if pending is not None:
        pending.patients[patient_id] = None
    else:
        record_patient(patient_id)


# ---------------------------------------------------------------------------
# Signals (connected on import, from PrescriptionsConfig.ready)


@receiver(post_save, sender=Plan, dispatch_uid="history.plan_saved")
def _plan_saved(sender: Any, instance: Plan, raw: bool = False, **kwargs: Any) -> None:
    if not raw:
        plan_changed(instance.pk)


@receiver(post_save, sender=PlanItem, dispatch_uid="history.item_saved")
def _item_saved(sender: Any, instance: PlanItem, raw: bool = False, **kwargs: Any) -> None:
    if not raw:
        plan_changed(instance.plan_id)


@receiver(m2m_changed, sender=Plan.education.through, dispatch_uid="history.plan_pages")
def _plan_pages_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: Any, **kwargs: Any
) -> None:
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if not reverse:
        plan_changed(instance.pk)
    elif pk_set:  # pages added to or taken from plans from the page's side
        for plan_id in pk_set:
            plan_changed(plan_id)


@receiver(pre_delete, sender=Plan, dispatch_uid="history.plan_deleting")
def _plan_deleting(sender: Any, instance: Plan, **kwargs: Any) -> None:
    _deleting.set(_deleting.get() | {instance.pk})


@receiver(post_delete, sender=Plan, dispatch_uid="history.plan_deleted")
def _plan_deleted(sender: Any, instance: Plan, **kwargs: Any) -> None:
    _deleting.set(_deleting.get() - {instance.pk})
    pending = _pending.get()
    if pending is not None:
        pending.plans.pop(instance.pk, None)


@receiver(post_delete, sender=PlanItem, dispatch_uid="history.item_deleted")
def _item_deleted(sender: Any, instance: PlanItem, **kwargs: Any) -> None:
    if instance.plan_id not in _deleting.get():
        plan_changed(instance.plan_id)


@receiver(post_save, sender=Patient, dispatch_uid="history.patient_saved")
def _patient_saved(sender: Any, instance: Patient, raw: bool = False, **kwargs: Any) -> None:
    if not raw:
        patient_changed(instance.pk)


@receiver(post_delete, sender=Patient, dispatch_uid="history.patient_deleted")
def _patient_deleted(sender: Any, instance: Patient, **kwargs: Any) -> None:
    pending = _pending.get()
    if pending is not None:
        pending.patients.pop(instance.pk, None)
