"""Every admin changelist runs a fixed number of queries, however many rows it shows."""

from __future__ import annotations

import datetime
from collections.abc import Callable

import pytest
from django.urls import reverse

from clinic.models import Clinic, Therapist
from clinic.scoping import unscoped
from prescriptions.models import SessionLog
from tests import factories
from tests.conftest import login

pytestmark = pytest.mark.django_db


def add_exercises(clinic: Clinic, therapist: Therapist, n: int) -> None:
    for _ in range(n):
        factories.make_exercise(clinic)


def add_templates(clinic: Clinic, therapist: Therapist, n: int) -> None:
    exercise = factories.make_exercise(clinic)
    for _ in range(n):
        factories.make_template(clinic, [exercise, exercise])


def add_therapists(clinic: Clinic, therapist: Therapist, n: int) -> None:
    for _ in range(n):
        factories.make_therapist(clinic)


def add_session_logs(clinic: Clinic, therapist: Therapist, n: int) -> None:
    exercise = factories.make_exercise(clinic)
    for i in range(n):
        patient = factories.make_patient(clinic, therapist)
        plan = factories.make_plan(patient, therapist, [exercise])
        with unscoped():
            SessionLog.objects.create(
                plan=plan, date=datetime.date(2026, 11, 2 + i % 20), pain=i % 11
            )


def add_clinics(clinic: Clinic, therapist: Therapist, n: int) -> None:
    for _ in range(n):
        factories.make_patient(clinic, therapist)


# (changelist, how to add rows, exact query count for the clinic administrator; the
# clinic comes with the therapist in one query, clinic.middleware; the session is not
# written again within a minute, clinic.sessions)
CASES: list[tuple[str, Callable[[Clinic, Therapist, int], None], int]] = [
    ("admin:prescriptions_exercise_changelist", add_exercises, 8),
    ("admin:prescriptions_plantemplate_changelist", add_templates, 8),
    ("admin:clinic_therapist_changelist", add_therapists, 8),
    ("admin:prescriptions_sessionlog_changelist", add_session_logs, 11),  # with its audit entry
    ("admin:clinic_clinic_changelist", add_clinics, 8),
]


@pytest.mark.parametrize(("url_name", "add_rows", "expected"), CASES)
def test_it_keeps_each_changelists_query_count_constant(
    client, clinic, clinic_admin, url_name, add_rows, expected, django_assert_num_queries
):
    login(client, clinic_admin)
    url = reverse(url_name)
    add_rows(clinic, clinic_admin, 1)
    client.get(url)
    with django_assert_num_queries(expected):
        client.get(url)
    add_rows(clinic, clinic_admin, 12)
    with django_assert_num_queries(expected):
        response = client.get(url)
    assert response.status_code == 200
