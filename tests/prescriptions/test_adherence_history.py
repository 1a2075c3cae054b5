"""Adherence by the plan as it was on each day (prescriptions.history's versions).

Scenarios a therapist would check by hand, then properties over generated
histories: the database's figures (PlanSessions, PatientSessions) and the
day-by-day arithmetic agree over many windows, per plan and per exercise.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.db.models import F, Q
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from clinic.models import Patient
from prescriptions import adherence, history, plans
from prescriptions.models import ExerciseLog, Plan, PlanItem, SessionLog
from tests import factories
from tests.factories import on_day

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clinic_scope")]

START = datetime.date(2026, 3, 2)


def day(n: int) -> datetime.date:
    return START + datetime.timedelta(days=n)


def patient_figures(patient: Patient, lo: datetime.date, hi: datetime.date) -> adherence.Adherence:
    row = Patient.objects.annotate(
        due=adherence.PatientSessions(F("pk"), "prescribed", lo, hi),
        done=adherence.PatientSessions(F("pk"), "completed", lo, hi),
        pct=adherence.PatientSessions(F("pk"), "percent", lo, hi),
    ).get(pk=patient.pk)
    result = adherence.Adherence(row.due, row.done, row.pct)  # type: ignore[attr-defined]
    return result


def grouped_figures(
    patients: list[Patient], lo: datetime.date, hi: datetime.date, among: Any
) -> dict[int, adherence.Adherence]:
    """The figures of PatientFigures (one grouped pass, as the admin list and the
    attention list read them on PostgreSQL) over the patients `among`, by patient,
    with the percent sorted and filtered on as the admin does."""
    qs = Patient.objects.filter(pk__in=[p.pk for p in patients]).annotate(
        due=adherence.PatientSessions(F("pk"), "prescribed", lo, hi),
        done=adherence.PatientSessions(F("pk"), "completed", lo, hi),
        pct=adherence.PatientSessions(F("pk"), "percent", lo, hi),
    )
    filtered = qs.filter(Q(pct__lt=101) | Q(pct__isnull=True)).order_by("pct", "pk")
    if among == "unfiltered":
        among = adherence.unfiltered_by_figures(filtered)
        assert among is not None
    grouped = adherence.with_patient_figures(filtered, [(lo, hi)], among)
    # The grouped pass is in the query, and the figures are read from it.
    assert adherence.periods_read(grouped) == [(lo, hi)]
    assert "rehabit_figures" in str(grouped.query)
    return {
        row.pk: adherence.Adherence(row.due, row.done, row.pct)  # type: ignore[attr-defined]
        for row in grouped
    }


def log_every_day(plan: Plan, first: int, last: int, items: list[PlanItem] | None = None) -> None:
    for n in range(first, last + 1):
        session = SessionLog.objects.create(plan=plan, date=day(n), session_number=1, pain=2)
        for item in items or []:
            ExerciseLog.objects.create(session=session, item=item, sets_done=1)


@pytest.fixture
def daily(patient, therapist, shared_exercise) -> Plan:
    with on_day(START):
        plan = factories.make_plan(patient, therapist, [shared_exercise], start_date=START)
        plan.items.update(times_per_day=1, days_per_week=7)
        history.plan_changed(plan)
    return plan


def test_a_week_the_plan_was_paused_has_nothing_due(daily, patient):
    with on_day(day(7)):
        plans.set_status(Plan.objects.filter(pk=daily.pk), Plan.Status.PAUSED)
    with on_day(day(14)):
        plans.set_status(Plan.objects.filter(pk=daily.pk), Plan.Status.ACTIVE)
    daily.refresh_from_db()
    assert daily.current_since == day(14)
    log_every_day(daily, 0, 20)
    records = adherence.day_by_day(daily, day(0), day(20))
    assert [r.due for r in records] == [1] * 7 + [0] * 7 + [1] * 7
    expected = adherence.Adherence(14, 14, 100)
    assert adherence.plan_adherence(daily, day(0), day(20)) == expected
    assert adherence.over(records) == expected
    assert patient_figures(patient, day(0), day(20)) == expected
    # Today the plan is active: before the versions, the whole period counted.
    assert adherence.plan_adherence(daily, day(14), day(20)) == adherence.Adherence(7, 7, 100)


def test_a_plan_paused_today_still_counts_the_days_it_was_active(daily):
    with on_day(day(10)):
        plans.set_status(Plan.objects.filter(pk=daily.pk), Plan.Status.PAUSED)
    daily.refresh_from_db()
    log_every_day(daily, 0, 4)
    result = adherence.plan_adherence(daily, day(0), day(13))
    assert (result.prescribed, result.completed, result.percent) == (10, 5, 50)


def test_an_exercise_added_on_day_14_is_due_from_day_14(daily, shared_exercise):
    first = daily.items.get()
    calf = factories.make_exercise(name="Calf raise")
    with on_day(day(14)):
        added = PlanItem.objects.create(
            plan=daily, exercise=calf, order=2, reps=10, times_per_day=2, days_per_week=7
        )
    daily.refresh_from_db()
    log_every_day(daily, 0, 20, [first])
    per_item = {row.item.pk: row for row in adherence.exercise_adherence(daily, day(0), day(20))}
    assert per_item[first.pk].adherence == adherence.Adherence(21, 21, 100)
    assert per_item[added.pk].adherence.prescribed == 7 * 2
    assert per_item[added.pk].sets_prescribed == 7 * 2 * added.sets
    # The plan asks for two sessions a day from day 14 only.
    records = adherence.day_by_day(daily, day(0), day(20))
    assert [r.due for r in records] == [1] * 14 + [2] * 7
    assert adherence.plan_adherence(daily, day(0), day(20)).prescribed == 14 + 14


def test_an_exercise_ended_later_is_due_until_the_day_before_it_ended(daily):
    calf = factories.make_exercise(name="Calf raise")
    with on_day(day(14)):
        added = PlanItem.objects.create(plan=daily, exercise=calf, order=2, reps=10)
    with on_day(day(18)):
        # As plans.move_to_next_phase ends an exercise the next phase leaves out.
        PlanItem.objects.filter(pk=added.pk).update(ended_on=day(18))
        plans.bump_revision(daily)
    daily.refresh_from_db()
    rows = adherence.exercise_adherence(daily, day(0), day(27), include_ended=True)
    ended = next(row for row in rows if row.item.pk == added.pk)
    assert ended.adherence.prescribed == 4  # days 14 to 17
    # Until the day before: the same for a plan whose history started after it ended.
    assert daily.current_since == day(18)


def test_plans_that_never_changed_read_no_version(plan, django_assert_num_queries):
    plan.refresh_from_db()
    assert plan.current_since is None
    lo, hi = datetime.date(2026, 11, 1), datetime.date(2026, 11, 28)
    with django_assert_num_queries(2):
        adherence.day_by_day(plan, lo, hi)
    with django_assert_num_queries(1):
        adherence.exercise_adherence(plan, lo, hi)
    with django_assert_num_queries(1):
        adherence.plan_adherence(plan, lo, hi)


def test_a_changed_plan_reads_its_versions_in_one_more_query(daily, django_assert_num_queries):
    with on_day(day(7)):
        plans.set_status(Plan.objects.filter(pk=daily.pk), Plan.Status.PAUSED)
    daily.refresh_from_db()
    with django_assert_num_queries(3):
        adherence.day_by_day(daily, day(0), day(20))
    with django_assert_num_queries(3):
        adherence.exercise_adherence(daily, day(0), day(20))
    with django_assert_num_queries(1):
        adherence.plan_adherence(daily, day(0), day(20))
    # A period after the change reads the plan only.
    with django_assert_num_queries(2):
        adherence.day_by_day(daily, day(8), day(20))


# -- properties over generated histories ------------------------------------------

DB_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@contextlib.contextmanager
def rolled_back() -> Iterator[None]:
    savepoint = transaction.savepoint_create()
    try:
        yield
    finally:
        transaction.savepoint_rollback(savepoint)


statuses = st.sampled_from(list(Plan.Status))
changes = st.lists(
    st.tuples(
        st.integers(0, 40),
        st.one_of(
            st.tuples(st.just("status"), statuses),
            st.tuples(st.just("times"), st.integers(1, 4)),
            st.tuples(st.just("days"), st.integers(1, 7)),
            st.tuples(st.just("end"), st.one_of(st.none(), st.integers(0, 45))),
            st.tuples(st.just("add"), st.integers(1, 3)),
            st.tuples(st.just("drop"), st.just(0)),
        ),
    ),
    max_size=6,
)
sessions = st.sets(st.tuples(st.integers(-3, 45), st.integers(1, 4)), max_size=40)
windows = st.tuples(st.integers(-5, 45), st.integers(0, 30))


def build(patient, therapist, exercise, spec, steps, entries) -> Plan:
    times, days, status = spec
    with on_day(START):
        plan = factories.make_plan(patient, therapist, [exercise], start_date=START, status=status)
        plan.items.update(times_per_day=times, days_per_week=days)
        history.plan_changed(plan)
    for offset, (kind, value) in sorted(steps, key=lambda step: step[0]):
        with on_day(day(offset)):
            first = plan.items.order_by("order").first()
            if kind == "status":
                plans.set_status([Plan.objects.get(pk=plan.pk)], value)
            elif kind == "end":
                Plan.objects.filter(pk=plan.pk).update(end_date=day(value) if value else None)
                plans.bump_revision(plan)
            elif kind == "add":
                top = max((i.order for i in plan.items.all()), default=0)
                PlanItem.objects.create(
                    plan=plan, exercise=exercise, order=top + 1, reps=5, times_per_day=value
                )
            elif kind == "drop" and first is not None and plan.items.count() > 1:
                PlanItem.objects.filter(pk=first.pk).update(ended_on=day(offset))
                plans.bump_revision(plan)
            elif first is not None and kind in ("times", "days"):
                setattr(first, f"{kind}_per_day" if kind == "times" else "days_per_week", value)
                first.save()
    plan.refresh_from_db()
    items = list(PlanItem.with_ended.filter(plan=plan))
    for k, n in entries:
        session = SessionLog.objects.create(plan=plan, date=day(k), session_number=n, pain=1)
        for item in items:
            if (k + n + item.pk) % 3:
                ExerciseLog.objects.create(session=session, item=item, sets_done=(k + n) % 3)
    return plan


specs = st.tuples(st.integers(1, 4), st.integers(1, 7), statuses)


@DB_SETTINGS
@given(spec=specs, steps=changes, entries=sessions, window=windows)
def test_the_database_and_the_day_by_day_arithmetic_agree(
    patient, therapist, shared_exercise, spec, steps, entries, window
):
    with rolled_back():
        plan = build(patient, therapist, shared_exercise, spec, steps, entries)
        first, length = window
        lo, hi = day(first), day(first + length)
        records = adherence.day_by_day(plan, lo, hi)
        by_day = adherence.over(records)
        assert adherence.plan_adherence(plan, lo, hi) == by_day
        assert patient_figures(patient, lo, hi) == by_day
        alone = Patient.objects.filter(pk=patient.pk)
        assert grouped_figures([patient], lo, hi, alone) == {patient.pk: by_day}
        # Per exercise: the one-query path and the day-by-day path agree on a plan
        # that never changed; on any plan the day-by-day figures stay in bounds.
        rows = adherence._exercise_adherence_by_day(plan, lo, hi, include_ended=True)
        changed = plan.current_since is not None and plan.current_since > lo
        event("read versions" if changed else "read the plan only")
        if not changed:
            sql = adherence.exercise_adherence(plan, lo, hi, include_ended=True)
            assert [(r.item.pk, r.adherence, r.sets_prescribed, r.sets_done) for r in sql] == [
                (r.item.pk, r.adherence, r.sets_prescribed, r.sets_done) for r in rows
            ]
        for row in rows:
            assert 0 <= row.adherence.completed <= row.adherence.prescribed
        # Each day is counted by one state of the plan: a day's due is at most
        # the highest sessions a day the plan ever asked for.
        assert all(r.due <= 4 for r in records)


@DB_SETTINGS
@given(
    first=st.tuples(specs, changes, sessions),
    second=st.tuples(specs, changes, sessions),
    third=st.tuples(specs, changes, sessions),
    window=windows,
)
def test_the_grouped_pass_and_the_subquery_per_patient_agree(
    clinic, patient, other_patient, therapist, shared_exercise, first, second, third, window
):
    """PatientFigures (two plans for one patient, one for another, a patient with
    none) gives each patient the figures of PatientSessions, bounded by the clinic,
    by the list without its figure filter, or not at all."""
    with rolled_back():
        build(patient, therapist, shared_exercise, *first)
        build(patient, therapist, shared_exercise, *second)
        build(other_patient, therapist, shared_exercise, *third)
        nobody = factories.make_patient(clinic, therapist, first_name="No", last_name="Plan")
        everyone = [patient, other_patient, nobody]
        start, length = window
        lo, hi = day(start), day(start + length)
        expected = {p.pk: patient_figures(p, lo, hi) for p in everyone}
        assert expected[nobody.pk] == adherence.Adherence(0, 0, None)
        assert grouped_figures(everyone, lo, hi, Patient.objects.filter(clinic=clinic)) == expected
        assert grouped_figures(everyone, lo, hi, None) == expected
        # Bounded by the list itself without its figure filter, as the admin does.
        assert grouped_figures(everyone, lo, hi, "unfiltered") == expected
