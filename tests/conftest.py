"""Shared personas: a therapist, a colleague in the same clinic, an outsider in
another clinic, a clinic administrator, a patient and another patient.

Clinic scoping (clinic.scoping) is on in tests as in production. Fixtures build
their rows outside any clinic's scope (`pytest_fixture_setup` below, as pretix
does); test bodies are not: a test that reads clinic-owned rows itself says in
which scope, and every request through the test client starts from no scope at
all (clinic.middleware), so a view that forgot its scope fails its test.
"""

from __future__ import annotations

import inspect
from collections.abc import Generator, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from clinic.models import Clinic, Patient, Therapist
from clinic.scoping import scope, unscoped
from prescriptions.models import Exercise, Plan
from tests import factories


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: Any, request: Any) -> Generator[None, Any, Any]:
    """Plain fixtures build their rows in `unscoped()`. Yield fixtures are left
    alone: a scope entered around their setup would outlive it or cut it short."""
    if inspect.isgeneratorfunction(fixturedef.func):
        return (yield)
    with unscoped():
        return (yield)


@pytest.fixture
def clinic_scope(clinic: Clinic) -> Iterator[None]:
    """The test body runs in the clinic's scope, as the views that call the code under
    test do. For tests of that code, never of an entry point (a view, a command, a
    task), which must enter a scope of its own."""
    with scope(clinic):
        yield


@pytest.fixture(autouse=True)
def english_afterwards():
    """The test client leaves the last request's language active in this thread;
    the next test expects the default (English) again."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def clinic(db) -> Clinic:
    return factories.make_clinic("Riverside Physio")


@pytest.fixture
def other_clinic(db) -> Clinic:
    return factories.make_clinic("Hilltop Sports Clinic")


@pytest.fixture
def therapist(clinic) -> Therapist:
    return factories.make_therapist(clinic, email="tess@riverside.example")


@pytest.fixture
def colleague(clinic) -> Therapist:
    return factories.make_therapist(clinic, email="colin@riverside.example")


@pytest.fixture
def clinic_admin(clinic) -> Therapist:
    return factories.make_therapist(
        clinic, email="ada@riverside.example", role=Therapist.Role.CLINIC_ADMIN
    )


@pytest.fixture
def outsider(other_clinic) -> Therapist:
    return factories.make_therapist(other_clinic, email="otto@hilltop.example")


@pytest.fixture
def patient(clinic, therapist) -> Patient:
    return factories.make_patient(
        clinic, therapist, with_login=True, first_name="Paula", last_name="Reed"
    )


@pytest.fixture
def other_patient(clinic, colleague) -> Patient:
    return factories.make_patient(
        clinic, colleague, with_login=True, first_name="Oscar", last_name="Lane"
    )


@pytest.fixture
def outside_patient(other_clinic, outsider) -> Patient:
    return factories.make_patient(
        other_clinic, outsider, with_login=True, first_name="Hugo", last_name="Hill"
    )


@pytest.fixture
def shared_exercise(db) -> Exercise:
    return factories.make_exercise(
        None,
        name="Standing hamstring stretch",
        slug="shared-stretch",
        category=Exercise.Category.STATIC_STRETCH,
        reps=None,
        hold_seconds=30,
        side=Exercise.Side.EACH,
    )


@pytest.fixture
def plan(patient, therapist, shared_exercise) -> Plan:
    return factories.make_plan(patient, therapist, [shared_exercise])


@pytest.fixture
def admin_client(db: None, admin_user: Any) -> Client:
    """pytest-django's signed-in superuser, with the second factor superusers need
    outside DEBUG (clinic.two_factor)."""
    return factories.sign_in_staff(Client(), admin_user)


def login(client: Client, who: Therapist | Patient) -> Client:
    """Sign in as a persona; staff whose admin asks for a second factor get a verified one."""
    user = who.user
    assert user is not None
    if user.is_staff:
        return factories.sign_in_staff(client, user)
    client.force_login(user)
    return client
