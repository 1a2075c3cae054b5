"""Erasing a patient (GDPR Art. 17): every row and file that says who they were goes.

What goes, in one transaction: the patient's record (name, contact details,
clinical notes), their plans with exercises, every session and exercise log,
their handouts (rows, and the PDF files once the transaction commits), portal
invitations, their portal login with its sessions and sign-in records
(django-axes), the versions of their record and plans (prescriptions.history:
they cascade with the patient and the plans, and deleting the plans' exercises
records no new version), and the admin's own history rows that name them.

What stays: the audit trail (clinic.audit), whose entries hold the patient
only as a bare id that names nobody once the record is gone, plus one new
entry saying who erased patient <id> and when. The trail keeps no names,
contact details or free text of a patient, so nothing in it needs rewriting.

A clinic's legal duty to keep medical records for a period may outweigh a
request for erasure; deciding that is the clinic administrator's job, before
they type the confirmation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Q

from clinic import audit
from clinic.models import Patient, PortalInvitation, User
from prescriptions.models import ExerciseLog, Handout, Plan, PlanItem, SessionLog

if TYPE_CHECKING:
    from django.http import HttpRequest


def confirmation_matches(patient: Patient, typed: str) -> bool:
    """The typed confirmation is the patient's full name (case and spacing aside)."""

    def norm(text: str) -> str:
        return " ".join(text.split()).casefold()

    return bool(typed.strip()) and norm(typed) == norm(patient.full_name)


def _admin_history(patient: Patient) -> Q:
    """The admin's LogEntry rows about the patient or their data (they hold names)."""
    plan_ids = list(Plan.objects.filter(patient=patient).values_list("pk", flat=True))
    owned: list[tuple[type, list[int]]] = [
        (Patient, [patient.pk]),
        (Plan, plan_ids),
        (
            PlanItem,
            list(PlanItem.with_ended.filter(plan_id__in=plan_ids).values_list("pk", flat=True)),
        ),
        (
            SessionLog,
            list(SessionLog.objects.filter(plan_id__in=plan_ids).values_list("pk", flat=True)),
        ),
        (PortalInvitation, list(patient.invitations.values_list("pk", flat=True))),
    ]
    if patient.user_id is not None:
        owned.append((User, [patient.user_id]))
    condition = Q(pk__in=[])
    for model, ids in owned:
        if ids:
            content_type = ContentType.objects.get_for_model(model)
            condition |= Q(content_type=content_type, object_id__in=[str(pk) for pk in ids])
    if patient.full_name:
        condition |= Q(object_repr__icontains=patient.full_name)
    return condition


def _delete_sign_in_records(user: User) -> None:
    # django-axes keeps the address typed at sign-in; the login's sessions name its id.
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        model.objects.filter(username__iexact=user.email).delete()
    for session in Session.objects.iterator():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()


@transaction.atomic
def erase_patient(*, patient: Patient, request: HttpRequest | None) -> int:
    """Erase `patient` and everything that names them; returns the id the trail keeps.

    Runs in the patient's clinic scope (the admin's request is in it).
    """
    patient_id = patient.pk
    clinic_id = patient.clinic_id
    LogEntry.objects.filter(_admin_history(patient)).delete()
    # Logs before plans, plans before the patient: each step through the scoped
    # managers, so that a patient of another clinic cannot be reached from here.
    ExerciseLog.objects.filter(session__plan__patient=patient).delete()
    SessionLog.objects.filter(plan__patient=patient).delete()
    # Each handout row's PDF file is deleted once the transaction commits.
    for handout in Handout.objects.filter(plan__patient=patient):
        handout.delete()
    Plan.objects.filter(patient=patient).delete()
    patient.invitations.all().delete()
    user = patient.user
    Patient.objects.filter(pk=patient_id).delete()
    if user is not None and not (user.is_staff or user.is_superuser):
        _delete_sign_in_records(user)
        user.delete()
    audit.record(request, audit.Action.ERASE, patient=patient_id, clinic_id=clinic_id)
    return patient_id
