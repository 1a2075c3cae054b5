"""Queries compiled once and run with new values (clinic.prepared): the same rows as
the ORM's, one statement a call, and never another clinic's rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic.models import Patient, User
from clinic.prepared import PreparedQuery
from clinic.scoping import ScopeError, scope, unscoped
from tests import factories

users_with_patient = PreparedQuery(
    lambda pk: User._default_manager.select_related("patient__clinic").filter(pk=pk)
)
patients_by_name = PreparedQuery(
    lambda clinic_id, first_name: Patient.objects.filter(clinic_id=clinic_id, first_name=first_name)
)


def test_it_returns_the_rows_the_orm_returns_with_their_relations(patient, other_patient):
    for someone in (patient, other_patient):
        expected = User.objects.select_related("patient__clinic").get(pk=someone.user_id)
        with CaptureQueriesContext(connection) as queries:
            [user] = users_with_patient(someone.user_id)
            assert user.patient.clinic.name == expected.patient.clinic.name
        assert len(queries) == 1
        assert [(f.attname, getattr(user, f.attname)) for f in User._meta.concrete_fields] == [
            (f.attname, getattr(expected, f.attname)) for f in User._meta.concrete_fields
        ]
        assert user.patient == someone
    assert users_with_patient(10**9) == []


def test_it_runs_the_sql_compiled_for_the_scope_it_is_called_in(
    clinic, other_clinic, patient, outside_patient
):
    with scope(clinic):
        assert patients_by_name(clinic.pk, patient.first_name) == [patient]
    # Compiled again for the other clinic: its patient, and none of the first clinic's.
    with scope(other_clinic):
        assert patients_by_name(clinic.pk, patient.first_name) == []
        assert patients_by_name(other_clinic.pk, outside_patient.first_name) == [outside_patient]
    with scope(clinic):
        assert patients_by_name(other_clinic.pk, outside_patient.first_name) == []
    with unscoped():
        assert patients_by_name(other_clinic.pk, outside_patient.first_name) == [outside_patient]
    with pytest.raises(ScopeError):
        patients_by_name(clinic.pk, patient.first_name)
    # A user of no clinic: nothing, as the ORM would say.
    with scope(None):
        assert patients_by_name(clinic.pk, patient.first_name) == []


def test_it_puts_each_argument_in_its_own_place(clinic):
    # The clinic's id and a name that is the same number: each goes where it belongs.
    same = factories.make_patient(clinic, first_name=str(clinic.pk))
    with scope(clinic):
        assert patients_by_name(clinic.pk, str(clinic.pk)) == [same]
        assert patients_by_name(clinic.pk + 1, str(clinic.pk)) == []


def test_it_refuses_sql_that_depends_on_the_values(db):
    first = PreparedQuery(lambda n: User.objects.order_by("pk")[:n])
    with pytest.raises(TypeError, match="depends on its arguments"):
        first(2)


def test_it_refuses_arguments_the_sql_changes(db):
    containing = PreparedQuery(lambda text: User.objects.filter(email__contains=text))
    with pytest.raises(TypeError, match="does not reach the SQL"):
        containing("example")
    by_flag = PreparedQuery(lambda flag: User.objects.filter(is_active=flag))
    with pytest.raises(TypeError, match="whole numbers and strings"):
        by_flag(True)
