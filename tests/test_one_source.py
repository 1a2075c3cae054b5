"""One source per rule: each figure and bound is defined once, and every page agrees.

* Adherence: the admin's panel and chart, the portal's History calendar and its
  figures all come from prescriptions/adherence.py, down to the day-by-day story.
* Sessions a day: the portal, logging, the adherence figures and the handout ask
  the same function (or its SQL twin, which is checked against it).
* Bounds: each `Bound` gives its field the validators and the database the
  constraint, with one message; the portal form and record_session report a
  bad value with that same message.
"""

from __future__ import annotations

import datetime
import re
import uuid
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Model
from django.urls import reverse
from django.utils import translation

from clinic.constraints import Bound
from clinic.models import PAIN_SCALE, PERCENT, Clinic, Patient
from clinic.scoping import scope, unscoped
from portal.forms import SessionForm
from prescriptions import adherence, handouts, models
from prescriptions.adherence import Adherence
from prescriptions.models import Exercise, ExerciseLog, Plan, PlanItem, PlanVersion, SessionLog
from prescriptions.recording import record_session
from tests import factories
from tests.conftest import login

pytestmark = pytest.mark.django_db


def days(n: int) -> datetime.timedelta:
    return datetime.timedelta(days=n)


# --- Adherence: a 3-days-a-week plan logged on its days off ----------------------


@pytest.fixture
def off_days_plan(patient: Patient, therapist: Any, shared_exercise: Exercise) -> Plan:
    """Three days a week from six days ago: days 0, 2 and 4 are due; the patient
    exercised on days 1, 3 and 5 instead."""
    start = patient.clinic.today() - days(6)
    plan = factories.make_plan(patient, therapist, [shared_exercise], start_date=start)
    with unscoped():
        plan.items.update(days_per_week=3)
        for k in (1, 3, 5):
            SessionLog.objects.create(plan=plan, date=start + days(k), pain=3)
    return plan


def test_a_plan_logged_on_its_days_off_gets_the_same_figures_everywhere(
    client, therapist, patient, off_days_plan
):
    plan = off_days_plan
    start, today = plan.start_date, patient.clinic.today()
    with scope(patient.clinic):
        records = adherence.day_by_day(plan, start, today)
        assert [(r.due, r.done) for r in records] == [
            (1, 0), (0, 1), (1, 0), (0, 1), (1, 0), (0, 1), (0, 0)
        ]  # fmt: skip
        # The rule: sessions on days off count towards the period.
        assert adherence.plan_adherence(plan, start, today) == Adherence(3, 3, 100)

    # The plan's adherence panel and the chart beside it.
    login(client, therapist)
    page = client.get(reverse("admin:prescriptions_plan_change", args=[plan.pk]))
    html = page.content.decode()
    found = re.search(r'adherence-summary">(.*?)</p>', html, re.S)
    assert found is not None
    summary = " ".join(found[1].split())
    assert summary == (
        f"Last 7 days: 3 of 3 sessions done (100 %). From {adherence.short_date(start)} "
        f"to {adherence.short_date(today)}: 3 of 3 (100 %)."
    )
    found = re.search(r'<desc id="adherence-[0-9a-f]+-desc">(.*?)</desc>', html)
    assert found is not None
    desc = found[1]
    assert desc == (
        f"7 days from {adherence.short_date(start)} to {adherence.short_date(today)}: "
        "3 of 3 sessions done (100%). 0 days with sessions due had none done. "
        "3 sessions were done on days off."
    )

    # The patient's History: the calendar and the figures above it.
    client.force_login(patient.user)
    history = client.get(reverse("portal:history"))
    cells = {cell.date: cell.status for week in history.context["weeks"] for cell in week}
    assert [cells[start + days(k)] for k in range(7)] == [
        "rest", "done", "rest", "done", "rest", "done", "rest"
    ]  # fmt: skip
    assert 'class="day day-missed"' not in history.content.decode()
    assert history.context["overview"].adherence_7 == Adherence(3, 3, 100)


def test_a_day_off_makes_up_for_a_missed_day_only_as_far_as_the_period_allows():
    d = datetime.date(2026, 11, 1)
    records = [
        adherence.DayRecord(d, 1, 0),
        adherence.DayRecord(d + days(1), 0, 1),
        adherence.DayRecord(d + days(2), 1, 0),
        adherence.DayRecord(d + days(3), 2, 1),
    ]
    assert adherence.credited(records) == [1, 0, 0, 1]
    assert sum(adherence.credited(records)) == adherence.over(records).completed == 2
    assert adherence.day_statuses(records, today=d + days(3)) == [
        "rest", "done", "missed", "partly"
    ]  # fmt: skip
    period = adherence.summarise(records)
    assert (period.adherence, period.missed_days, period.done_on_days_off) == (
        Adherence(4, 2, 50),
        1,
        1,
    )


# --- Sessions a day -------------------------------------------------------------


@pytest.mark.parametrize("times", [[], [1], [2, 1], [1, 3]])
def test_the_database_and_python_count_sessions_a_day_alike(patient, therapist, times):
    exercises = [factories.make_exercise(None, times_per_day=n) for n in times]
    plan = factories.make_plan(patient, therapist, exercises)
    with scope(patient.clinic):
        annotated = Plan.objects.annotate(n=adherence.plan_sessions_per_day()).get(pk=plan.pk)
        expected = adherence.sessions_per_day(plan.items.all())
        assert expected == max(times, default=1)
        assert annotated.n == expected  # type: ignore[attr-defined]


def test_every_part_of_rehabit_asks_the_plan_for_the_same_sessions_a_day(
    client, patient, therapist, shared_exercise
):
    twice = factories.make_exercise(None, slug="twice", times_per_day=2)
    start = patient.clinic.today() - days(1)
    plan = factories.make_plan(patient, therapist, [shared_exercise, twice], start_date=start)
    today = patient.clinic.today()
    with scope(patient.clinic):
        assert adherence.sessions_per_day(plan.items.all()) == 2
        assert [r.due for r in adherence.day_by_day(plan, start, today)] == [2, 2]
        context = handouts.build_context(*handouts.load_plan(plan))
        assert context["how_often"] == "twice a day"
        with pytest.raises(ValidationError, match="does not have that session"):
            record_session(
                plan=plan,
                date=today,
                session_number=3,
                idempotency_key=uuid.uuid4(),
                pain=2,
                nerve_symptoms="none",
                symptoms_lasted=False,
                symptoms_minutes=None,
                effort="",
                comment="",
                sets={},
            )
    login(client, patient)
    assert "Session 1 of 2 today" in client.get(reverse("portal:today")).content.decode()
    assert client.get(reverse("portal:log", args=[plan.pk, today, 3])).status_code == 404


# --- Bounds ------------------------------------------------------------------------

BOUNDS: list[tuple[type[Model], str, Bound, str]] = [
    (Exercise, "sets", models.SETS, "prescriptions_exercise_sets_range"),
    (PlanItem, "reps", models.REPS, "prescriptions_planitem_reps_range"),
    (Exercise, "hold_seconds", models.HOLD_SECONDS, "prescriptions_exercise_hold_range"),
    (
        PlanItem,
        "duration_minutes",
        models.DURATION_MINUTES,
        "prescriptions_planitem_duration_range",
    ),
    (PlanItem, "rest_seconds", models.REST_SECONDS, "prescriptions_planitem_rest_range"),
    (
        Exercise,
        "times_per_day",
        models.TIMES_PER_DAY,
        "prescriptions_exercise_times_per_day_range",
    ),
    (
        PlanItem,
        "days_per_week",
        models.DAYS_PER_WEEK,
        "prescriptions_planitem_days_per_week_range",
    ),
    (SessionLog, "pain", PAIN_SCALE, "sessionlog_pain_scale"),
    (SessionLog, "session_number", models.SESSION_NUMBER, "sessionlog_session_number_range"),
    (
        SessionLog,
        "symptoms_minutes",
        models.SYMPTOM_MINUTES,
        "sessionlog_symptoms_minutes_range",
    ),
    (ExerciseLog, "sets_done", models.SETS_DONE, "exerciselog_sets_range"),
    (Clinic, "attention_pain_at_least", PAIN_SCALE, "clinic_attention_pain_scale"),
    (Clinic, "attention_adherence_below", PERCENT, "clinic_attention_adherence_percent"),
]


@pytest.mark.parametrize(
    ("model", "field", "bound", "constraint"),
    BOUNDS,
    ids=[f"{b[0].__name__}.{b[1]}" for b in BOUNDS],
)
def test_each_bound_gives_the_validators_and_the_constraint_one_message(
    model, field, bound, constraint
):
    text = str(bound.text)
    assert str(bound.high) in text
    limits = [
        (type(v), v.limit_value, str(v.message))
        for v in model._meta.get_field(field).validators
        if isinstance(v, (MinValueValidator, MaxValueValidator))
    ]
    assert limits == [
        (MinValueValidator, bound.low, text),
        (MaxValueValidator, bound.high, text),
    ]
    [check] = [c for c in model._meta.constraints if c.name == constraint]
    assert str(check.violation_error_message) == text
    with translation.override("de"):
        assert str(bound.text) != text
        assert str(bound.high) in str(bound.text)


def test_a_value_past_a_bound_gets_the_bounds_message_from_the_form_and_the_database(
    plan, shared_exercise
):
    exercise = Exercise(name="Too many", slug="too-many", category="mobility", body_region="knee")
    exercise.purpose, exercise.steps, exercise.sets, exercise.reps = "x", "x", 11, 10
    with unscoped():
        with pytest.raises(ValidationError) as error:
            exercise.full_clean()
        assert error.value.message_dict == {"sets": ["Sets must be between 1 and 10."]}
        # Past the validators, the database refuses it with the same rule.
        with pytest.raises(IntegrityError), transaction.atomic():
            PlanItem.objects.filter(plan=plan).update(sets=11)


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        (
            {"symptoms_lasted": True, "nerve_symptoms": "none", "symptoms_minutes": 5},
            "nerve_symptoms",
            "You said symptoms lasted: choose tingling or numbness.",
        ),
        ({"comment": "x" * 2001}, "comment", "Keep the comment to at most 2000 characters."),
        (
            {"symptoms_lasted": True, "nerve_symptoms": "tingling", "symptoms_minutes": 2000},
            "symptoms_minutes",
            "Minutes must be at most a day (1440).",
        ),
    ],
)
def test_the_portal_form_and_record_session_say_the_same(
    patient, therapist, plan, values, field, message
):
    session: dict[str, Any] = {
        "pain": 3,
        "nerve_symptoms": "none",
        "symptoms_lasted": False,
        "symptoms_minutes": None,
        "effort": "",
        "comment": "",
        **values,
    }
    data = {
        "idempotency_key": str(uuid.uuid4()),
        **{k: ("on" if v is True else "" if v in (None, False) else v) for k, v in session.items()},
    }
    form = SessionForm(data, items=[])
    assert not form.is_valid()
    assert form.errors[field] == [message]

    today = patient.clinic.today()
    with unscoped():
        Plan.objects.filter(pk=plan.pk).update(start_date=today)
    plan.refresh_from_db()
    with scope(patient.clinic), pytest.raises(ValidationError) as error:
        record_session(
            plan=plan,
            date=today,
            session_number=1,
            idempotency_key=uuid.uuid4(),
            sets={},
            **session,
        )
    assert error.value.message_dict == {field: [message]}


def test_the_raw_adherence_sql_names_tables_from_the_models(patient, monkeypatch):
    renamed = {
        Plan: "renamed_plan",
        PlanItem: "renamed_planitem",
        SessionLog: "renamed_log",
        PlanVersion: "renamed_planversion",
    }
    for model, table in renamed.items():
        monkeypatch.setattr(model._meta, "db_table", table)
    week = (datetime.date(2026, 11, 4), datetime.date(2026, 11, 10))
    with scope(patient.clinic):
        figure = adherence.PatientSessions(F("pk"), "prescribed", *week)
        sql = str(Patient.objects.annotate(due=figure).query)
    for table in renamed.values():
        assert connection.ops.quote_name(table) in sql
    assert re.findall(r"prescriptions_\w+", sql) == []
