"""Shared personas: a therapist, a colleague in the same clinic, an outsider in
another clinic, a clinic administrator, a patient and another patient."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from clinic.models import Clinic, Patient, Therapist
from prescriptions.models import Exercise, Plan
from tests import factories


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


def login(client: Client, who: Therapist | Patient) -> Client:
    user = who.user
    assert user is not None
    client.force_login(user)
    return client
