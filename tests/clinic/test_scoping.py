"""Clinic scoping (clinic/scoping.py, clinic/middleware.py): a forgotten scope raises.

A query of clinic-owned rows outside any scope raises ScopeError, whichever
way it reaches the database; inside a clinic's scope it sees that clinic's rows
(and the shared library); `unscoped()` sees every clinic's. Each request runs
in the signed-in user's scope, starting from none, whatever the test around it
entered.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import EmptyResultSet
from django.db import transaction
from django.db.models import Count, Exists, Model, OuterRef, Q
from django.test import Client

from clinic import scoping
from clinic.models import Clinic, Patient, Therapist, User
from clinic.scoping import (
    Scope,
    ScopedManager,
    ScopeError,
    current_scope,
    scope,
    unscoped,
)
from prescriptions.models import Exercise, Plan, SessionLog
from tests import factories
from tests.conftest import login

pytestmark = pytest.mark.django_db

# A queryset made when this module is imported, outside any scope, like the
# choices of a form field declared on a class.
AT_IMPORT = Patient.objects.order_by("first_name")


@pytest.fixture
def own_exercise(clinic: Clinic) -> Exercise:
    return factories.make_exercise(clinic, slug="own-curl")


@pytest.fixture
def outside_exercise(other_clinic: Clinic) -> Exercise:
    return factories.make_exercise(other_clinic, slug="secret-drill")


@pytest.fixture
def logged(plan: Plan) -> SessionLog:
    with unscoped():
        return SessionLog.objects.create(plan=plan, date=plan.start_date, pain=3)


# Every way a query reaches the database, outside any scope.
READS: dict[str, Callable[[], Any]] = {
    "iterate": lambda: list(Patient.objects.all()),
    "count": lambda: Patient.objects.count(),
    "exists after exclude": lambda: Patient.objects.exclude(pk=0).exists(),
    "first": lambda: Patient.objects.first(),
    "get": lambda: Patient.objects.get(first_name="Paula"),
    "values": lambda: list(Patient.objects.values_list("first_name", flat=True)),
    "aggregate": lambda: Plan.objects.aggregate(n=Count("pk")),
    "in_bulk": lambda: Patient.objects.in_bulk(),
    "contains": lambda: Patient.objects.exclude(pk=0).contains(Patient(pk=1)),
    "update": lambda: Patient.objects.update(notes="changed"),
    "delete": lambda: SessionLog.objects.all().delete(),
    "create": lambda: SessionLog.objects.create(plan_id=1, date=datetime.date(2026, 11, 1), pain=1),
    "bulk_create": lambda: Exercise.objects.bulk_create([Exercise(name="x", slug="x")]),
    "get_or_create": lambda: Clinic.objects.get_or_create(slug="new", name="New"),
    "a subquery of an unscoped model": lambda: list(
        User.objects.filter(pk__in=Patient.objects.exclude(pk=0).values("user"))
    ),
    "Exists() in an unscoped model's query": lambda: User.objects.filter(
        Exists(Patient.objects.exclude(user=None).filter(user=OuterRef("pk")))
    ).count(),
    "select_related": lambda: list(Plan.objects.select_related("patient")),
    "a union": lambda: list(
        Patient.objects.order_by().filter(pk=1).union(Patient.objects.order_by().filter(pk=2))
    ),
    "the shared library": lambda: list(Exercise.objects.shared()),
}


@pytest.mark.parametrize("read", READS.values(), ids=READS.keys())
def test_a_query_outside_any_scope_raises(read, patient, logged, shared_exercise):
    assert current_scope() is None
    # In a savepoint: a write that raised leaves the test's transaction usable.
    with pytest.raises(ScopeError, match="rows belong to clinics"), transaction.atomic():
        read()
    with unscoped():
        assert Patient.objects.get(pk=patient.pk).notes == ""
        assert SessionLog.objects.count() == 1


def test_a_related_manager_raises_outside_any_scope(patient, plan):
    with pytest.raises(ScopeError):
        list(patient.plans.all())
    with pytest.raises(ScopeError):
        plan.items.count()


def test_following_a_row_the_asker_has_needs_no_scope(plan):
    # Forward relations use the base manager: the plan is already the asker's.
    assert plan.patient.clinic.name == "Riverside Physio"
    plan.refresh_from_db()


def test_a_clinics_scope_shows_its_own_rows_and_the_shared_library(
    clinic, patient, other_patient, outside_patient, shared_exercise, own_exercise,
    outside_exercise,
):  # fmt: skip
    with scope(clinic):
        assert {p.first_name for p in Patient.objects.all()} == {"Paula", "Oscar"}
        assert set(Exercise.objects.values_list("slug", flat=True)) == {
            "shared-stretch",
            "own-curl",
        }
        assert not Patient.objects.filter(pk=outside_patient.pk).exists()
        assert list(Clinic.objects.all()) == [clinic]
        # Scoped by the owning relation, however deep.
        assert set(Therapist.objects.values_list("clinic", flat=True)) == {clinic.pk}


def test_updates_and_deletes_stay_inside_the_scope(clinic, patient, outside_patient):
    with scope(clinic):
        assert Patient.objects.update(notes="seen") == 1
    with unscoped():
        outside_patient.refresh_from_db()
        assert outside_patient.notes == ""
        assert Patient.objects.get(pk=patient.pk).notes == "seen"


def test_the_scope_of_no_clinic_shows_only_the_shared_library(
    patient, shared_exercise, own_exercise
):
    with scope(None):
        assert list(Exercise.objects.values_list("slug", flat=True)) == ["shared-stretch"]
        assert not Patient.objects.exists()
        assert Patient.objects.count() == 0


def test_unscoped_sees_every_clinic(patient, outside_patient, own_exercise, outside_exercise):
    with unscoped():
        assert Patient.objects.count() == 2
        assert Exercise.objects.count() == 2


def test_scopes_nest_and_restore(clinic, other_clinic):
    with scope(clinic):
        with unscoped():
            assert current_scope() == Scope(clinic_id=None, every_clinic=True)
            with scope(other_clinic):
                assert current_scope() == Scope(clinic_id=other_clinic.pk)
        assert current_scope() == Scope(clinic_id=clinic.pk)
    assert current_scope() is None


def test_a_queryset_follows_the_scope_it_is_evaluated_in(
    clinic, other_clinic, patient, outside_patient
):
    with scope(other_clinic):
        assert [p.first_name for p in AT_IMPORT.all()] == ["Hugo"]
    with scope(clinic):
        assert [p.first_name for p in AT_IMPORT.all()] == ["Paula"]
    with pytest.raises(ScopeError):
        list(AT_IMPORT.all())


def test_test_bodies_and_fixtures_leave_no_scope_behind(patient, plan, shared_exercise):
    # Fixtures build their rows unscoped, for their own setup only.
    assert current_scope() is None


# --- Requests -----------------------------------------------------------------


@pytest.fixture
def scoping_urls(settings) -> None:
    settings.ROOT_URLCONF = "tests.clinic.scoping_urls"


def names(client: Client) -> list[str]:
    response = client.get("/patients/")
    assert response.status_code == 200
    names: list[str] = response.json()["names"]
    return names


@pytest.mark.usefixtures("scoping_urls")
class TestRequests:
    def test_a_therapists_request_sees_their_clinic_only(
        self, client, therapist, patient, other_patient, outside_patient
    ):
        login(client, therapist)
        assert names(client) == ["Oscar Lane", "Paula Reed"]

    def test_a_patients_request_runs_in_their_clinic(self, client, patient, outside_patient):
        login(client, patient)
        assert names(client) == ["Paula Reed"]

    def test_a_superusers_request_sees_every_clinic_explicitly(
        self, client, patient, outside_patient
    ):
        client.force_login(User.objects.create_superuser("root@example.org", "root-pass-123"))
        assert names(client) == ["Hugo Hill", "Paula Reed"]
        assert client.get("/scope/").json() == {"scope": [None, True]}

    def test_a_login_of_no_clinic_sees_the_shared_library_and_nothing_else(
        self, client, patient, shared_exercise, own_exercise
    ):
        client.force_login(User.objects.create_user("staff@example.org", "pass", is_staff=True))
        assert names(client) == []
        assert client.get("/exercises/").json() == {"slugs": ["shared-stretch"]}

    def test_a_view_that_forgot_its_scope_fails_for_anonymous_visitors(self, client, patient):
        with pytest.raises(ScopeError):
            client.get("/patients/")

    def test_the_tests_own_scope_never_reaches_the_view(self, client, clinic, patient):
        with unscoped():
            with pytest.raises(ScopeError):
                client.get("/patients/")
            assert client.get("/scope/").json() == {"scope": None}
        with scope(clinic), pytest.raises(ScopeError):
            client.get("/patients/")


def _scoped_models() -> list[type[Model]]:
    return [m for m in apps.get_models() if isinstance(m._default_manager, ScopedManager)]


class _Forgetful(dict[Any, Any]):
    def __setitem__(self, key: Any, value: Any) -> None:
        pass


def _sql_in_scopes(model: type[Model], clinic: Clinic) -> list[str]:
    sqls = []
    for asked in (scope(clinic), scope(None), unscoped()):
        with asked:
            try:
                sqls.append(str(model._default_manager.all().query))
            except EmptyResultSet:
                sqls.append("nothing")
    return sqls


@pytest.mark.parametrize("model", _scoped_models(), ids=lambda model: model._meta.label)
def test_each_queryset_has_the_sql_of_a_scoped_query_built_afresh(model, clinic, monkeypatch):
    # The scoped query is built once per model and copied (clinic.scoping._SCOPED_QUERIES).
    with monkeypatch.context() as patched:
        patched.setattr(scoping, "_SCOPED_QUERIES", _Forgetful())
        fresh = _sql_in_scopes(model, clinic)
    assert _sql_in_scopes(model, clinic) == fresh
    assert _sql_in_scopes(model, clinic) == fresh
    with pytest.raises(ScopeError):
        list(model._default_manager.all())


def test_a_querysets_filters_and_joins_stay_its_own(clinic, patient, plan):
    with scope(clinic):
        plain = str(SessionLog.objects.all().query)
        related = str(plan.session_logs.all().query)
        # An OR across a join (promoted to LEFT OUTER), a filter, an exclusion, an update.
        list(SessionLog.objects.filter(Q(pain=3) | Q(plan__patient__first_name="Nobody")))
        list(SessionLog.objects.filter(pain=3).exclude(comment="").order_by("-date"))
        plan.session_logs.filter(pain=9).update(comment="x")
        assert str(SessionLog.objects.all().query) == plain
        assert str(plan.session_logs.all().query) == related
        assert "pain" not in plain.split("WHERE")[1]
