"""Queries compiled once and run with new values (clinic.prepared): the same rows as
the ORM's, one statement a call, and never another clinic's rows."""

from __future__ import annotations

import datetime
import uuid
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinic.models import Patient, User
from clinic.prepared import PreparedQuery
from clinic.scoping import ScopeError, scope, unscoped
from prescriptions.models import SessionLog
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
    with pytest.raises(TypeError, match="whole numbers, strings, dates, datetimes and UUIDs"):
        by_flag(True)
    # A moment turned into the day it falls on.
    born_on = PreparedQuery(lambda day: Patient.objects.filter(date_of_birth=day))
    with unscoped(), pytest.raises(TypeError, match="does not reach the SQL"):
        born_on(timezone.now())


born_on = PreparedQuery(
    lambda clinic_id, day: Patient.objects.filter(clinic_id=clinic_id, date_of_birth=day)
)
joined_since = PreparedQuery(
    lambda moment: User.objects.filter(date_joined__gte=moment).order_by("pk")
)


def test_it_takes_dates_as_the_orm_writes_them(clinic, patient, other_patient):
    # SQLite takes a date as text, PostgreSQL as a date: either way, the ORM's rows.
    day = datetime.date(1950, 3, 1)
    with scope(clinic):
        Patient.objects.filter(pk=patient.pk).update(date_of_birth=day)
        Patient.objects.filter(pk=other_patient.pk).update(date_of_birth=day.replace(day=2))
        for asked in (day, day.replace(day=2), day.replace(day=3), day):
            assert born_on(clinic.pk, asked) == list(
                Patient.objects.filter(clinic_id=clinic.pk, date_of_birth=asked)
            )
        assert born_on(clinic.pk, day) == [patient]
        # Prepared for a date: a datetime or a string is refused, not compared as text.
        with pytest.raises(TypeError, match="prepared for a date"):
            born_on(clinic.pk, datetime.datetime(1950, 3, 1, tzinfo=datetime.UTC))
        with pytest.raises(TypeError, match="prepared for a date"):
            born_on(clinic.pk, "1950-03-01")


def test_it_takes_aware_datetimes_as_the_orm_writes_them(patient, other_patient):
    User.objects.update(date_joined=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
    User.objects.filter(pk=patient.user_id).update(
        date_joined=datetime.datetime(2026, 1, 1, 12, tzinfo=datetime.UTC)
    )
    User.objects.filter(pk=other_patient.user_id).update(
        date_joined=datetime.datetime(2026, 1, 2, 12, tzinfo=datetime.UTC)
    )
    # The same moments in another time zone: SQLite is given them in UTC.
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    for moment in (
        datetime.datetime(2026, 1, 1, 13, 0, 1, tzinfo=berlin),
        datetime.datetime(2026, 1, 2, 12, tzinfo=datetime.UTC),
        datetime.datetime(2026, 1, 2, 13, 0, 1, tzinfo=berlin),
        datetime.datetime(2025, 12, 31, tzinfo=datetime.UTC),
    ):
        expected = list(User.objects.filter(date_joined__gte=moment).order_by("pk"))
        assert joined_since(moment) == expected
    assert [u.pk for u in joined_since(datetime.datetime(2026, 1, 2, 13, 0, 0, tzinfo=berlin))] == [
        other_patient.user_id
    ]


def test_it_refuses_naive_datetimes(db):
    since = PreparedQuery(lambda moment: User.objects.filter(date_joined__gte=moment))
    with pytest.raises(TypeError, match="aware datetimes"):
        since(datetime.datetime(2026, 1, 1))
    assert since(datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)) == []
    with pytest.raises(TypeError, match="prepared for a datetime"):
        since(datetime.datetime(2026, 1, 1))


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (set DATABASE_URL)")
def test_on_postgresql_the_server_plans_a_repeated_query_once(patient):
    """Server-side binding (settings): the same text each call, so psycopg prepares it."""
    for _ in range(6):
        [user] = users_with_patient(patient.user_id)
        assert user.patient == patient
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [statement for (statement,) in cursor.fetchall()]
    assert [s for s in prepared if '"clinic_user"' in s and "$1" in s], prepared


sessions_by_key = PreparedQuery(lambda key: SessionLog.objects.filter(idempotency_key=key))


@pytest.fixture
def two_sessions(clinic, plan) -> tuple[SessionLog, SessionLog]:
    """Sessions 1 and 2 of the plan's first day."""
    with scope(clinic):
        first, second = (
            SessionLog.objects.create(
                plan=plan, date=plan.start_date, session_number=n, pain=1, nerve_symptoms="none"
            )
            for n in (1, 2)
        )
    return first, second


def test_it_takes_uuids_as_the_orm_writes_them(clinic, two_sessions):
    # SQLite is given a UUID as its hex digits, PostgreSQL as a uuid.
    first, second = two_sessions
    with scope(clinic):
        assert sessions_by_key(second.idempotency_key) == [second]
        assert sessions_by_key(first.idempotency_key) == [first]
        assert sessions_by_key(uuid.uuid4()) == []
        # Prepared for a UUID: its text is refused, not compared as text.
        with pytest.raises(TypeError, match="prepared for a UUID"):
            sessions_by_key(str(first.idempotency_key))


sessions_numbered = PreparedQuery(
    lambda plan_id, number: SessionLog.objects.filter(plan_id=plan_id, session_number=number)
)


def test_it_takes_small_integers_as_the_backend_writes_them(clinic, plan, two_sessions):
    # PostgreSQL (psycopg 3) is given a small integer column's value as an Int2.
    first, second = two_sessions
    with scope(clinic):
        assert sessions_numbered(plan.pk, 2) == [second]
        assert sessions_numbered(plan.pk, 1) == [first]
        assert sessions_numbered(plan.pk, 3) == []
