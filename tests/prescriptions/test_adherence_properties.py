"""Bounds and invariants of adherence, checked over generated plans and logs.

The database examples share one test transaction: each example runs inside a
savepoint that is rolled back, so examples never see each other's rows.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from clinic.models import Patient
from prescriptions import adherence
from prescriptions.models import Plan, SessionLog
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clinic_scope")]

START = datetime.date(2026, 3, 1)
DB_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def day(n: int) -> datetime.date:
    return START + datetime.timedelta(days=n)


@contextlib.contextmanager
def rolled_back() -> Iterator[None]:
    savepoint = transaction.savepoint_create()
    try:
        yield
    finally:
        transaction.savepoint_rollback(savepoint)


plans = st.fixed_dictionaries(
    {
        "times": st.integers(1, 4),
        "days": st.integers(1, 7),
        "length": st.one_of(st.none(), st.integers(0, 40)),
        "status": st.sampled_from(list(Plan.Status)),
    }
)
# Logs as (day offset from the plan start, session number); duplicates collapse.
logs = st.sets(st.tuples(st.integers(0, 45), st.integers(1, 4)), max_size=40)
windows = st.tuples(st.integers(-5, 50), st.integers(0, 30))


def build(patient, therapist, exercise, spec, entries) -> Plan:
    end = day(spec["length"]) if spec["length"] is not None else None
    plan = factories.make_plan(
        patient, therapist, [exercise], start_date=START, end_date=end, status=spec["status"]
    )
    plan.items.update(times_per_day=spec["times"], days_per_week=spec["days"])
    SessionLog.objects.bulk_create(
        SessionLog(plan=plan, date=day(k), session_number=n, pain=(k * n) % 11)
        for k, n in entries
        if end is None or day(k) <= end
    )
    return plan


# -- pure arithmetic ------------------------------------------------------------


@given(st.integers(1, 7), st.integers(0, 400))
def test_any_seven_days_hold_exactly_the_weekly_days(days_per_week, offset):
    first = day(offset)
    last = first + datetime.timedelta(days=6)
    assert adherence.due_days(START, first, last, days_per_week) == days_per_week


@given(st.integers(1, 7), st.integers(0, 100), st.integers(0, 100), st.integers(0, 100))
def test_due_days_add_up_over_split_periods(days_per_week, a, b, c):
    lo, mid, hi = sorted((a, b, c))
    whole = adherence.due_days(START, day(lo), day(hi), days_per_week)
    left = adherence.due_days(START, day(lo), day(mid), days_per_week)
    right = adherence.due_days(START, day(mid + 1), day(hi), days_per_week)
    assert whole == left + right
    assert 0 <= whole <= hi - lo + 1


@given(st.integers(0, 500), st.integers(0, 500))
def test_percent_stays_between_0_and_100(completed, prescribed):
    value = adherence.percent(completed, prescribed)
    if prescribed == 0:
        assert value is None
    else:
        assert value is not None
        assert 0 <= value <= 100
        assert (value == 100) == (completed >= prescribed)


@given(st.integers(0, 50), st.integers(0, 50))
def test_more_done_never_lowers_the_percent(completed, prescribed):
    before = adherence.percent(completed, prescribed)
    after = adherence.percent(completed + 1, prescribed)
    assert (before is None and after is None) or after >= before  # type: ignore[operator]


# -- against the database -------------------------------------------------------------


@DB_SETTINGS
@given(spec=plans, entries=logs, window=windows)
def test_plan_adherence_bounds(patient, therapist, shared_exercise, spec, entries, window):
    with rolled_back():
        plan = build(patient, therapist, shared_exercise, spec, entries)
        first, length = window
        lo, hi = day(first), day(first + length)
        result = adherence.plan_adherence(plan, lo, hi)
        records = adherence.day_by_day(plan, lo, hi)

        assert 0 <= result.completed <= result.prescribed
        logged_in_window = SessionLog.objects.filter(plan=plan, date__range=(lo, hi)).count()
        assert result.completed <= logged_in_window
        if result.prescribed == 0:
            assert result.percent is None
        else:
            assert result.percent is not None and 0 <= result.percent <= 100
        # The database and the day-by-day arithmetic agree.
        assert len(records) == length + 1
        assert sum(r.due for r in records) == result.prescribed
        assert min(sum(r.done for r in records), result.prescribed) == result.completed
        # Nothing is due outside the plan's dates or while it is not running.
        counted = spec["status"] == Plan.Status.ACTIVE or (
            spec["status"] == Plan.Status.COMPLETED and spec["length"] is not None
        )
        if not counted:
            assert result.prescribed == 0
        for r in records:
            assert r.due <= spec["times"]
            if r.date < START or (plan.end_date and r.date > plan.end_date):
                assert r.due == 0 and r.done == 0
        if counted and spec["days"] == 7:
            running = [r for r in records if START <= r.date <= (plan.end_date or hi)]
            assert result.prescribed == spec["times"] * len(running)


@DB_SETTINGS
@given(
    spec=plans,
    entries=logs,
    window=windows,
    inner=st.tuples(st.integers(0, 30), st.integers(0, 30)),
)
def test_a_shorter_period_never_has_more_done(
    patient, therapist, shared_exercise, spec, entries, window, inner
):
    with rolled_back():
        plan = build(patient, therapist, shared_exercise, spec, entries)
        first, length = window
        a, b = sorted(min(x, length) for x in inner)
        whole = adherence.plan_adherence(plan, day(first), day(first + length))
        part = adherence.plan_adherence(plan, day(first + a), day(first + b))
        assert part.prescribed <= whole.prescribed
        assert part.completed <= whole.completed


@DB_SETTINGS
@given(
    spec=plans, entries=logs, window=windows, extra=st.tuples(st.integers(0, 45), st.integers(1, 4))
)
def test_adding_a_log_never_lowers_adherence(
    patient, therapist, shared_exercise, spec, entries, window, extra
):
    with rolled_back():
        plan = build(patient, therapist, shared_exercise, spec, entries - {extra})
        first, length = window
        lo, hi = day(first), day(first + length)
        before = adherence.plan_adherence(plan, lo, hi)
        SessionLog.objects.create(plan=plan, date=day(extra[0]), session_number=extra[1], pain=1)
        after = adherence.plan_adherence(plan, lo, hi)
        assert after.prescribed == before.prescribed
        assert before.completed <= after.completed <= before.completed + 1
        if before.percent is not None:
            assert after.percent is not None and after.percent >= before.percent


@DB_SETTINGS
@given(spec=plans, entries=logs, today_offset=st.integers(0, 50))
def test_the_patient_overview_agrees_with_the_plan_and_the_calendar(
    patient, therapist, shared_exercise, spec, entries, today_offset
):
    with rolled_back():
        plan = build(patient, therapist, shared_exercise, spec, entries)
        today = day(today_offset)
        overview = adherence.patient_overview(patient, today)
        week = adherence.plan_adherence(plan, today - datetime.timedelta(days=6), today)
        month = adherence.plan_adherence(plan, today - datetime.timedelta(days=27), today)
        assert overview.adherence_7 == week
        assert overview.adherence_28 == month

        dates = set(
            SessionLog.objects.filter(plan=plan, date__lte=today).values_list("date", flat=True)
        )
        # The streak, counted the slow way.
        anchor = today if today in dates else today - datetime.timedelta(days=1)
        streak = 0
        while anchor - datetime.timedelta(days=streak) in dates:
            streak += 1
        assert overview.streak_days == streak
        assert 0 <= overview.streak_days <= (today - START).days + 1
        assert overview.streak_days <= len(dates)

        if dates:
            assert overview.last_log_date == max(dates)
            assert overview.days_since_last_log == (today - max(dates)).days
            assert overview.latest_pain is not None and 0 <= overview.latest_pain <= 10
        else:
            assert overview.last_log_date is None and overview.latest_pain is None
        if overview.pain_change_7d is not None:
            assert -10 <= overview.pain_change_7d <= 10
        assert all(0 <= p <= 10 for _, p in overview.pain_series)
        assert [d for d, _ in overview.pain_series] == sorted(
            d for d in dates if d > today - datetime.timedelta(days=28)
        )


# Logs of two plans of one patient as (plan 0 or 1, day offset, session, pain).
# Few days and sessions, so that two plans often share the newest day and session.
two_plan_logs = st.lists(
    st.tuples(st.integers(0, 1), st.integers(0, 20), st.integers(1, 2), st.integers(0, 10)),
    max_size=30,
    # One row per plan, day and session (the table's unique constraint).
    unique_by=lambda entry: entry[:3],
)


@DB_SETTINGS
@given(entries=two_plan_logs, today_offset=st.integers(0, 30))
def test_the_newest_log_columns_follow_the_newest_first_rule(
    patient, other_patient, therapist, shared_exercise, entries, today_offset
):
    """latest_pain, last_log_date and the pain change (NewestLog, a LATERAL lookup
    per plan on PostgreSQL) name the newest log by NEWEST_FIRST over all of the
    patient's plans, as Python does over the same rows; another patient's logs
    never count."""
    with rolled_back():
        first = factories.make_plan(patient, therapist, [shared_exercise], start_date=START)
        second = factories.make_plan(patient, therapist, [shared_exercise], start_date=START)
        elsewhere = factories.make_plan(
            other_patient, therapist, [shared_exercise], start_date=START
        )
        plans_of = (first, second)
        SessionLog.objects.bulk_create(
            SessionLog(plan=plans_of[which], date=day(k), session_number=n, pain=pain)
            for which, k, n, pain in entries
        )
        # A newer, more painful log of someone else.
        SessionLog.objects.create(plan=elsewhere, date=day(today_offset), pain=10)
        today = day(today_offset)
        row: Any = adherence.annotate_patients(
            type(patient).objects.filter(pk=patient.pk), today
        ).get()
        logs = [
            (day(k), n, plans_of[which].pk, pain)
            for which, k, n, pain in entries
            if day(k) <= today
        ]

        def newest(lo: datetime.date | None, hi: datetime.date) -> tuple | None:
            found = [log for log in logs if (lo is None or lo <= log[0]) and log[0] <= hi]
            return max(found) if found else None

        latest = newest(None, today)
        assert row.last_log_date == (latest[0] if latest else None)
        assert row.latest_pain == (latest[3] if latest else None)
        this_week = newest(today - datetime.timedelta(days=6), today)
        before = newest(today - datetime.timedelta(days=14), today - datetime.timedelta(days=7))
        expected_change = this_week[3] - before[3] if this_week and before else None
        assert row.pain_change_7d == expected_change


@DB_SETTINGS
@given(
    spec=plans,
    entries=logs,
    today_offset=st.integers(0, 60),
    lasted_every=st.integers(1, 5),
)
# The week's first day holds the only log of the week, and the week before has one.
@example(
    spec={"times": 1, "days": 7, "length": None, "status": Plan.Status.ACTIVE},
    entries={(10, 1), (7, 1)},
    today_offset=16,
    lasted_every=1,
)
def test_the_patient_overview_agrees_with_the_admin_lists_figures(
    patient, therapist, shared_exercise, spec, entries, today_offset, lasted_every
):
    # The History page reads the pain and nerve figures in Python; the admin list
    # (annotate_patients) in SQL. They must say the same.
    with rolled_back():
        plan = build(patient, therapist, shared_exercise, spec, entries)
        SessionLog.objects.filter(plan=plan, session_number=lasted_every).update(
            nerve_symptoms=SessionLog.NerveSymptoms.TINGLING, symptoms_lasted=True
        )
        today = day(today_offset)
        overview = adherence.patient_overview(patient, today)
        row: Any = adherence.annotate_patients(Patient.objects.filter(pk=patient.pk), today).get()
        assert overview.adherence_7 == adherence.Adherence.of(
            row.adherence_7_completed, row.adherence_7_prescribed
        )
        assert overview.adherence_7.percent == row.adherence_7
        assert overview.adherence_28.percent == row.adherence_28
        assert overview.last_log_date == row.last_log_date
        assert overview.latest_pain == row.latest_pain
        assert overview.pain_change_7d == row.pain_change_7d
        assert overview.lasting_nerve_symptoms is bool(row.lasting_nerve_symptoms)
        logs_of_patient = SessionLog.objects.filter(plan__patient=patient)
        assert overview.pain_series == adherence.pain_series(
            logs_of_patient, today - datetime.timedelta(days=27), today
        )


# -- needs attention -----------------------------------------------------------


def attention_q_before_2026_12_05(today: datetime.date) -> Any:
    """attention_q as it was written until 5 Dec 2026, from annotate_patients' own
    columns (four newest-log lookups): the reference the one-lookup form must match."""
    from django.db.models import Exists, F, OuterRef, Q
    from django.db.models.lookups import GreaterThanOrEqual, LessThan

    no_log = GreaterThanOrEqual(
        adherence._days_without_log(today), F("clinic__attention_days_without_log")
    )
    low = LessThan(F("adherence_7"), F("clinic__attention_adherence_below"))
    pain_high = GreaterThanOrEqual(F("latest_pain"), F("clinic__attention_pain_at_least"))
    pain_rise = GreaterThanOrEqual(F("pain_change_7d"), F("clinic__attention_pain_rise"))
    started = Exists(
        Plan._base_manager.filter(
            patient=OuterRef("pk"), status=Plan.Status.ACTIVE, start_date__lte=today
        )
    )
    return (
        Q(is_active=True)
        & Q(started)
        & (
            Q(no_log)
            | Q(low)
            | Q(pain_high)
            | Q(pain_rise)
            | Q(lasting_nerve_symptoms=True)
            | Q(outcome_worse=True)
        )
    )


# One patient's plans as (status, start offset from today, logs), a log being
# (days before today, negative: after today; session; pain; symptoms lasted).
# Offsets reach past RECENT_DAYS and PAIN_LOOKBACK_DAYS, so that the newest log is
# found in either range, or in both the week and the week before.
patient_plans = st.lists(
    st.tuples(
        st.sampled_from(list(Plan.Status)),
        st.integers(-3, 40),
        st.lists(
            st.tuples(st.integers(-2, 40), st.integers(1, 2), st.integers(0, 10), st.booleans()),
            max_size=12,
            unique_by=lambda log: log[:2],
        ),
    ),
    max_size=2,
)
thresholds = st.fixed_dictionaries(
    {
        "attention_days_without_log": st.integers(1, 20),
        "attention_adherence_below": st.sampled_from([0, 50, 80, 100]),
        "attention_pain_at_least": st.integers(0, 10),
        "attention_pain_rise": st.integers(1, 4),
    }
)


@DB_SETTINGS
@given(
    people=st.lists(st.tuples(st.booleans(), patient_plans), min_size=1, max_size=3),
    limits=thresholds,
)
# Never logged, the plan started today: one day without a log.
@example(
    people=[(True, [(Plan.Status.ACTIVE, 0, [])])],
    limits={
        "attention_days_without_log": 1,
        "attention_adherence_below": 0,
        "attention_pain_at_least": 10,
        "attention_pain_rise": 4,
    },
)
# The newest log just past RECENT_DAYS, painful; a paused plan logged today; a log
# tomorrow (not yet counted).
@example(
    people=[
        (True, [(Plan.Status.ACTIVE, 30, [(15, 1, 9, False)])]),
        (True, [(Plan.Status.PAUSED, 30, [(0, 1, 9, False)]), (Plan.Status.ACTIVE, 30, [])]),
        (True, [(Plan.Status.ACTIVE, 30, [(-1, 1, 9, True), (2, 1, 1, False)])]),
    ],
    limits={
        "attention_days_without_log": 16,
        "attention_adherence_below": 0,
        "attention_pain_at_least": 9,
        "attention_pain_rise": 4,
    },
)
# Pain up over the week: the newest on the week's first day, the one before 7 days back.
@example(
    people=[(True, [(Plan.Status.ACTIVE, 30, [(6, 1, 6, False), (7, 1, 2, False)])])],
    limits={
        "attention_days_without_log": 20,
        "attention_adherence_below": 0,
        "attention_pain_at_least": 10,
        "attention_pain_rise": 4,
    },
)
def test_needs_attention_means_what_it_meant(clinic, therapist, shared_exercise, people, limits):
    """attention_q flags the same patients as its earlier form and as the reasons
    written out in Python (attention_reasons), for active patients with a started
    active plan."""
    today = clinic.today()
    with rolled_back():
        for field, value in limits.items():
            setattr(clinic, field, value)
        clinic.save()
        made = []
        for active, specs in people:
            patient = factories.make_patient(clinic, therapist, is_active=active)
            for status, start, entries in specs:
                plan = factories.make_plan(
                    patient,
                    therapist,
                    [shared_exercise],
                    start_date=today - datetime.timedelta(days=start),
                    status=status,
                )
                SessionLog.objects.bulk_create(
                    SessionLog(
                        plan=plan,
                        date=today - datetime.timedelta(days=back),
                        session_number=n,
                        pain=pain,
                        nerve_symptoms="tingling" if lasted else "none",
                        symptoms_lasted=lasted,
                    )
                    for back, n, pain, lasted in entries
                )
            made.append(patient)
        rows = adherence.annotate_patients(Patient.objects.filter(clinic=clinic), today)
        now = set(rows.filter(adherence.attention_q(today)).values_list("pk", flat=True))
        before = set(rows.filter(attention_q_before_2026_12_05(today)).values_list("pk", flat=True))
        started = set(
            Plan.objects.filter(
                status=Plan.Status.ACTIVE, start_date__lte=today, patient__in=made
            ).values_list("patient", flat=True)
        )
        in_words = {
            row.pk
            for row in rows
            if row.is_active
            and row.pk in started
            and adherence.attention_reasons(row, clinic, today)
        }
        assert now == before == in_words
        # The admin's list and the index's attention list use the same rule.
        entries, total = adherence.patients_needing_attention(clinic, today, limit=10)
        assert {entry.patient.pk for entry in entries} == now
        assert total == len(now)
