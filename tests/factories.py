"""Small builders for test data. Plain functions: explicit beats magic here.

Each builds its rows in `unscoped()`: setting up a test is not a query that a
clinic's scope should guard, while the code under test still is.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import itertools
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

from django.contrib.auth.models import Group
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic import two_factor
from clinic.models import Clinic, Patient, Therapist, User
from clinic.scoping import unscoped
from prescriptions import history
from prescriptions.models import (
    Exercise,
    OutcomeMeasure,
    Plan,
    PlanItem,
    PlanTemplate,
    TemplateItem,
)

_seq = itertools.count(1)


def _unscoped[**P, R](builder: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(builder)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with unscoped():
            return builder(*args, **kwargs)

    return wrapper


@_unscoped
def make_clinic(name: str = "Riverside Physio", **kw: Any) -> Clinic:
    n = next(_seq)
    kw.setdefault("slug", f"clinic-{n}")
    return Clinic.objects.create(name=name, **kw)


@_unscoped
def make_therapist(
    clinic: Clinic,
    email: str | None = None,
    role: str = Therapist.Role.THERAPIST,
    password: str = "therapist-pass-123",
) -> Therapist:
    n = next(_seq)
    user = User.objects.create_user(
        email=email or f"therapist{n}@example.org",
        password=password,
        full_name=f"Therapist {n}",
        is_staff=True,
    )
    group = "Clinic administrators" if role == Therapist.Role.CLINIC_ADMIN else "Therapists"
    user.groups.add(Group.objects.get(name=group))
    return Therapist.objects.create(user=user, clinic=clinic, role=role)


@_unscoped
def make_patient(
    clinic: Clinic,
    therapist: Therapist | None = None,
    with_login: bool = False,
    password: str = "patient-pass-123",
    **kw: Any,
) -> Patient:
    n = next(_seq)
    kw.setdefault("first_name", f"Pat{n}")
    kw.setdefault("last_name", "Example")
    kw.setdefault("email", f"patient{n}@example.org")
    patient = Patient.objects.create(clinic=clinic, primary_therapist=therapist, **kw)
    if with_login:
        patient.user = User.objects.create_user(
            email=patient.email, password=password, full_name=patient.full_name
        )
        patient.save(update_fields=["user"])
    return patient


@_unscoped
def make_exercise(clinic: Clinic | None = None, **kw: Any) -> Exercise:
    n = next(_seq)
    kw.setdefault("name", f"Exercise {n}")
    kw.setdefault("slug", f"exercise-{n}")
    kw.setdefault("category", Exercise.Category.STRENGTHENING)
    kw.setdefault("body_region", Exercise.BodyRegion.BACK_OF_THIGH)
    kw.setdefault("purpose", "Builds strength in the back of the thigh.")
    kw.setdefault("steps", "Stand tall.\nMove slowly.\nReturn to the start.")
    kw.setdefault("reps", 10)
    kw.setdefault("sets", 3)
    return Exercise.objects.create(clinic=clinic, **kw)


@_unscoped
def make_plan(
    patient: Patient,
    therapist: Therapist,
    exercises: list[Exercise] | None = None,
    **kw: Any,
) -> Plan:
    kw.setdefault("title", "Hamstring rehabilitation")
    kw.setdefault("start_date", datetime.date(2026, 11, 1))
    kw.setdefault("status", Plan.Status.ACTIVE)
    with history.batch():
        plan = Plan.objects.create(patient=patient, therapist=therapist, **kw)
        for order, exercise in enumerate(exercises or [], start=1):
            PlanItem.objects.create(
                plan=plan, exercise=exercise, order=order, **exercise.dosage_dict()
            )
    return plan


@_unscoped
def make_template(
    clinic: Clinic | None, exercises: list[Exercise], name: str = "Protocol"
) -> PlanTemplate:
    n = next(_seq)
    template = PlanTemplate.objects.create(clinic=clinic, name=name, slug=f"template-{n}")
    for order, exercise in enumerate(exercises, start=1):
        TemplateItem.objects.create(
            template=template, exercise=exercise, order=order, **exercise.dosage_dict()
        )
    return template


@_unscoped
def make_measure(plan: Plan, instrument: str = "nprs", **kw: Any) -> OutcomeMeasure:
    if instrument == "psfs":
        kw.setdefault("activities", "Sitting through a film\nWalking the dog")
    return OutcomeMeasure.objects.create(plan=plan, instrument=instrument, **kw)


@_unscoped
def verify_second_factor(client: Client, user: User) -> TOTPDevice:
    """Give `user` a confirmed authenticator and mark the client's session as
    verified by it, as signing in with a code would (clinic.two_factor)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Test phone", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session[two_factor.ENROLLED] = True
    session.save()
    return device


@_unscoped
def sign_in_staff(client: Client, user: User) -> Client:
    """force_login, plus a verified second factor when the admin would ask for one
    (superusers, staff of a clinic that requires it); other staff as they are."""
    client.force_login(user)
    therapist = Therapist.objects.filter(user=user).select_related("clinic").first()
    if user.is_superuser or (therapist is not None and therapist.clinic.require_staff_two_factor):
        verify_second_factor(client, user)
    return client


@contextlib.contextmanager
def on_day(day: datetime.date) -> Iterator[None]:
    """The clock at noon (UTC) on `day`, so that a clinic's today is `day`: the
    version history (prescriptions.history) dates its versions by it."""
    noon = datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC)
    with mock.patch("django.utils.timezone.now", return_value=noon):
        yield
