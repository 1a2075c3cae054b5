"""The adherence rules (prescriptions/adherence.py), in the clinic's scope like their pages."""

from __future__ import annotations

import datetime

import pytest
from django.template import Context, Template
from django.utils import translation

from clinic.models import Patient
from clinic.scoping import unscoped
from prescriptions import adherence
from prescriptions.adherence import Adherence, DayRecord
from prescriptions.models import ExerciseLog, Plan, PlanItem, SessionLog
from tests import factories

pytestmark = pytest.mark.usefixtures("clinic_scope")

D = datetime.date
START = D(2026, 11, 1)


def log(plan: Plan, day: datetime.date, number: int = 1, pain: int = 3, **kw) -> SessionLog:
    return SessionLog.objects.create(plan=plan, date=day, session_number=number, pain=pain, **kw)


def days(n: int) -> datetime.timedelta:
    return datetime.timedelta(days=n)


@pytest.fixture
def daily(plan: Plan) -> Plan:
    """The persona plan: one stretch, once a day, every day, from 1 November."""
    return plan


@pytest.fixture
def twice_daily(patient, therapist, shared_exercise) -> Plan:
    plan = factories.make_plan(patient, therapist, [shared_exercise], title="Twice")
    plan.items.update(times_per_day=2)
    return plan


# -- pure arithmetic --------------------------------------------------------


def test_it_spreads_three_days_a_week_evenly_from_the_start():
    due = [adherence.due_days(START, START + days(k), START + days(k), 3) for k in range(14)]
    assert due == [1, 0, 1, 0, 1, 0, 0] * 2


def test_it_counts_every_day_for_seven_days_a_week():
    assert adherence.due_days(START, START, START + days(27), 7) == 28


def test_it_counts_nothing_when_the_window_is_empty():
    assert adherence.due_days(START, START + days(3), START, 7) == 0


def test_percent_rounds_down_and_caps():
    assert adherence.percent(2, 3) == 66
    assert adherence.percent(5, 3) == 100
    assert adherence.percent(0, 0) is None


# -- one plan -----------------------------------------------------------------


def test_it_counts_due_and_done_sessions_of_a_daily_plan(daily):
    for k in (0, 1, 3):
        log(daily, START + days(k))
    result = adherence.plan_adherence(daily, START, START + days(6))
    assert result == Adherence(prescribed=7, completed=3, percent=42)


def test_it_ignores_days_before_the_plan_started(daily):
    result = adherence.plan_adherence(daily, START - days(10), START + days(1))
    assert result.prescribed == 2


def test_it_stops_counting_at_the_end_date(daily):
    daily.end_date = START + days(2)
    daily.save()
    assert adherence.plan_adherence(daily, START, START + days(9)).prescribed == 3


def test_extra_sessions_do_not_push_adherence_past_100(daily):
    log(daily, START, 1)
    log(daily, START, 2)  # a second session on a once-a-day plan
    result = adherence.plan_adherence(daily, START, START)
    assert result == Adherence(prescribed=1, completed=1, percent=100)


def test_it_uses_the_most_frequent_exercise_for_sessions_a_day(twice_daily, shared_exercise):
    PlanItem.objects.create(
        plan=twice_daily, exercise=shared_exercise, order=2, hold_seconds=30, times_per_day=1
    )
    log(twice_daily, START, 1)
    log(twice_daily, START, 2)
    assert adherence.plan_adherence(twice_daily, START, START + days(1)) == Adherence(4, 2, 50)


@pytest.mark.parametrize("status", [Plan.Status.DRAFT, Plan.Status.PAUSED, Plan.Status.COMPLETED])
def test_it_has_nothing_due_for_plans_not_running(daily, status):
    daily.status = status
    daily.save()
    log(daily, START)
    assert adherence.plan_adherence(daily, START, START + days(6)) == Adherence(0, 0, None)


def test_a_completed_plan_counts_up_to_its_end_date(daily):
    daily.status = Plan.Status.COMPLETED
    daily.end_date = START + days(3)
    daily.save()
    log(daily, START)
    assert adherence.plan_adherence(daily, START, START + days(20)) == Adherence(4, 1, 25)


def test_a_plan_without_exercises_has_nothing_due(patient, therapist):
    empty = factories.make_plan(patient, therapist, [])
    assert adherence.plan_adherence(empty, START, START + days(6)).percent is None


def test_day_by_day_lists_due_and_done_per_day(twice_daily):
    log(twice_daily, START + days(1), 1)
    records = adherence.day_by_day(twice_daily, START - days(1), START + days(2))
    assert records == [
        DayRecord(START - days(1), 0, 0),
        DayRecord(START, 2, 0),
        DayRecord(START + days(1), 2, 1),
        DayRecord(START + days(2), 2, 0),
    ]


def test_day_by_day_adds_up_to_plan_adherence(twice_daily):
    twice_daily.items.update(days_per_week=3)
    for k in (0, 1, 2, 5, 9):
        log(twice_daily, START + days(k))
    end = START + days(12)
    records = adherence.day_by_day(twice_daily, START, end)
    total = adherence.plan_adherence(twice_daily, START, end)
    assert sum(r.due for r in records) == total.prescribed == 12
    assert min(sum(r.done for r in records), total.prescribed) == total.completed == 5


def test_exercise_adherence_counts_sessions_with_sets_ticked(daily, shared_exercise):
    second = PlanItem.objects.create(
        plan=daily, exercise=shared_exercise, order=2, hold_seconds=30, days_per_week=7
    )
    first = daily.items.get(order=1)
    for k in range(4):
        session = log(daily, START + days(k))
        ExerciseLog.objects.create(session=session, item=first, sets_left=1, sets_right=1)
        ExerciseLog.objects.create(session=session, item=second, sets_done=0)
    result = adherence.exercise_adherence(daily, START, START + days(7))
    assert [(r.item.pk, r.adherence) for r in result] == [
        (first.pk, Adherence(8, 4, 50)),
        (second.pk, Adherence(8, 0, 0)),
    ]


def test_exercise_adherence_adds_up_sets_and_each_side_separately(daily, shared_exercise):
    per_side = daily.items.get(order=1)  # the stretch: 3 sets on each side
    assert (per_side.side, per_side.sets) == (PlanItem.Side.EACH, 3)
    plain = PlanItem.objects.create(
        plan=daily, exercise=shared_exercise, order=2, sets=2, reps=10, days_per_week=7
    )
    for k in range(3):
        session = log(daily, START + days(k))
        ExerciseLog.objects.create(
            session=session, item=per_side, sets_done=k, sets_left=3, sets_right=k
        )
        ExerciseLog.objects.create(session=session, item=plain, sets_done=2)
    # A second session on a once-a-day plan does not count, as for adherence.
    extra = log(daily, START, number=2)
    ExerciseLog.objects.create(session=extra, item=per_side, sets_done=3, sets_left=3, sets_right=3)
    first, second = adherence.exercise_adherence(daily, START, START + days(6))
    assert (first.sets_prescribed, first.sets_done, first.sets_left, first.sets_right) == (
        21,
        3,
        9,
        3,
    )
    assert (second.sets_prescribed, second.sets_done, second.sets_left, second.sets_right) == (
        14,
        6,
        None,
        None,
    )


def test_nerve_series_lists_every_session_oldest_first(daily):
    log(daily, START + days(1), nerve_symptoms=SessionLog.NerveSymptoms.TINGLING)
    log(
        daily,
        START,
        nerve_symptoms=SessionLog.NerveSymptoms.NUMBNESS,
        symptoms_lasted=True,
        symptoms_minutes=20,
    )
    log(daily, START + days(9))  # after the period
    points = adherence.nerve_series(SessionLog.objects.filter(plan=daily), START, START + days(6))
    assert [(p.date, p.kind, p.lasted, p.minutes) for p in points] == [
        (START, SessionLog.NerveSymptoms.NUMBNESS, True, 20),
        (START + days(1), SessionLog.NerveSymptoms.TINGLING, False, None),
    ]


# -- patients -----------------------------------------------------------------


def test_patient_overview_sums_the_patients_plans(patient, daily, twice_daily):
    today = START + days(6)
    for k in range(7):
        log(daily, START + days(k), pain=2)
    log(twice_daily, today, 1, pain=4)
    overview = adherence.patient_overview(patient, today)
    assert overview.adherence_7 == Adherence(prescribed=21, completed=8, percent=38)
    assert overview.last_log_date == today
    assert overview.days_since_last_log == 0
    # Both sessions are session 1 of today: the newer plan's wins (NEWEST_FIRST).
    assert twice_daily.pk > daily.pk
    assert overview.latest_pain == 4


def test_patient_overview_with_no_logs(patient, daily):
    overview = adherence.patient_overview(patient, START + days(2))
    assert overview.adherence_7 == Adherence(3, 0, 0)
    assert overview.streak_days == 0
    assert overview.last_log_date is None
    assert overview.days_since_last_log is None
    assert overview.latest_pain is None
    assert overview.pain_change_7d is None
    assert overview.lasting_nerve_symptoms is False
    assert overview.pain_series == []


def test_streak_counts_back_from_today(patient, daily):
    today = START + days(10)
    for k in (2, 3, 5, 6, 7, 8, 9, 10):
        log(daily, START + days(k))
    assert adherence.patient_overview(patient, today).streak_days == 6


def test_streak_counts_back_from_yesterday_before_todays_log(patient, daily):
    today = START + days(10)
    for k in (7, 8, 9):
        log(daily, START + days(k))
    assert adherence.patient_overview(patient, today).streak_days == 3


def test_streak_counts_days_not_sessions(patient, twice_daily):
    today = START + days(10)
    for k in (6, 7, 8, 9, 10):
        log(twice_daily, START + days(k), 1)
        log(twice_daily, START + days(k), 2)
    assert adherence.patient_overview(patient, today).streak_days == 5


def test_streak_is_broken_after_a_missed_day(patient, daily):
    today = START + days(10)
    for k in (6, 7, 8):
        log(daily, START + days(k))
    assert adherence.patient_overview(patient, today).streak_days == 0


def test_streak_counts_the_newest_run_only_and_not_later_logs(patient, daily, twice_daily):
    today = START + days(12)
    for k in (0, 1, 2, 3, 5, 6, 8, 9, 10, 11):  # runs of 4, 2 and 4 days
        log(daily, START + days(k))
    log(twice_daily, START + days(7), 2)  # another plan closes the gap on day 7
    log(daily, START + days(14))  # after "today": not counted, and not the newest day
    assert adherence.patient_overview(patient, today).streak_days == 7


def test_streak_reads_only_the_patients_own_logs(
    patient, daily, clinic, therapist, shared_exercise
):
    other = factories.make_patient(clinic, therapist, first_name="Other")
    other_plan = factories.make_plan(other, therapist, [shared_exercise])
    for k in range(5):
        log(other_plan, START + days(k))
    log(daily, START + days(4))
    assert adherence.patient_overview(patient, START + days(4)).streak_days == 1


def test_pain_change_compares_with_a_week_before(patient, daily):
    today = START + days(14)
    log(daily, today - days(9), pain=3)
    log(daily, today - days(1), pain=6)
    overview = adherence.patient_overview(patient, today)
    assert overview.latest_pain == 6
    assert overview.pain_change_7d == 3
    assert overview.pain_series == [(today - days(9), 3), (today - days(1), 6)]


def test_pain_change_needs_a_recent_score(patient, daily):
    today = START + days(20)
    log(daily, today - days(12), pain=3)
    log(daily, today - days(8), pain=6)
    assert adherence.patient_overview(patient, today).pain_change_7d is None


def test_latest_pain_is_the_last_session_of_the_newest_day_across_plans(
    patient, daily, twice_daily
):
    today = START + days(10)
    log(daily, today - days(1), pain=2)
    log(twice_daily, today - days(1), number=2, pain=7)
    log(twice_daily, today - days(1), number=1, pain=4)
    log(daily, today - days(2), pain=9)
    overview = adherence.patient_overview(patient, today)
    assert overview.latest_pain == 7
    assert overview.last_log_date == today - days(1)


def test_a_last_log_older_than_the_recent_window_is_still_found(patient, daily):
    today = START + days(adherence.RECENT_DAYS + 20)
    log(daily, START + days(2), pain=5)
    log(daily, today + days(1), pain=1)  # a future day never counts as the last log
    overview = adherence.patient_overview(patient, today)
    assert overview.last_log_date == START + days(2)
    assert overview.latest_pain == 5
    assert overview.days_since_last_log == adherence.RECENT_DAYS + 18
    assert overview.pain_change_7d is None


def test_lasting_nerve_symptoms_only_within_a_week(patient, daily):
    today = START + days(20)
    log(
        daily,
        today - days(8),
        nerve_symptoms=SessionLog.NerveSymptoms.TINGLING,
        symptoms_lasted=True,
    )
    assert adherence.patient_overview(patient, today).lasting_nerve_symptoms is False
    log(
        daily,
        today - days(2),
        nerve_symptoms=SessionLog.NerveSymptoms.NUMBNESS,
        symptoms_lasted=True,
    )
    assert adherence.patient_overview(patient, today).lasting_nerve_symptoms is True


def test_patient_overview_takes_constant_queries(
    patient, daily, twice_daily, django_assert_num_queries
):
    for k in range(20):
        log(daily, START + days(k))
        log(twice_daily, START + days(k), 2)
    # The figures with the streak, and the last four weeks' logs.
    with django_assert_num_queries(2):
        overview = adherence.patient_overview(patient, START + days(20))
    # Daily plans, one logged once a day and one (twice a day) only in its second session.
    assert overview.adherence_28 == Adherence(prescribed=63, completed=40, percent=63)
    assert overview.streak_days == 20


# -- dates --------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("fmt", ["l j F", "j F", "j M", "D", "l"])
def test_format_day_writes_what_the_date_filter_writes(language, fmt):
    template = Template("{{ day|date:fmt }}")
    with translation.override(language):
        for day in (START, START + days(40), D(2027, 2, 28)):
            expected = template.render(Context({"day": day, "fmt": fmt}))
            assert adherence.format_day(day, fmt) == expected
            assert adherence.format_day(day, fmt) == expected  # and again, from the cache


def test_format_day_keeps_each_language_apart():
    with translation.override("de"):
        german = adherence.format_day(START, "l j F")
    with translation.override("en"):
        english = adherence.format_day(START, "l j F")
    assert (german, english) == ("Sonntag 1 November", "Sunday 1 November")


# -- attention ----------------------------------------------------------------


def attention(clinic, today):
    entries, total = adherence.patients_needing_attention(clinic, today)
    return {e.patient.pk: e.reasons for e in entries}, total


def test_it_flags_a_patient_without_logs_for_three_days(clinic, patient, daily):
    today = START + days(10)
    for k in range(8):
        log(daily, START + days(k))
    flagged, _ = attention(clinic, today)
    assert flagged == {patient.pk: ["No session logged for 3 days"]}


def test_it_does_not_flag_a_patient_who_is_on_track(clinic, patient, daily):
    today = START + days(10)
    for k in range(11):
        log(daily, START + days(k))
    assert attention(clinic, today) == ({}, 0)


def test_it_flags_low_adherence_high_pain_and_lasting_symptoms(clinic, patient, daily):
    today = START + days(10)
    log(daily, today - days(1), pain=8)
    log(
        daily,
        today,
        pain=7,
        nerve_symptoms=SessionLog.NerveSymptoms.TINGLING,
        symptoms_lasted=True,
    )
    flagged, total = attention(clinic, today)
    assert total == 1
    assert flagged[patient.pk] == [
        "Adherence 28% over 7 days",
        "Pain 7/10 on 11 Nov",
        "Nerve symptoms lasted after exercise",
    ]


def test_it_flags_rising_pain(clinic, patient, daily):
    today = START + days(14)
    for k in range(15):
        log(daily, START + days(k), pain=2 if k < 8 else 4)
    assert attention(clinic, today)[0] == {patient.pk: ["Pain up 2 points in a week"]}


def test_it_uses_the_clinics_own_thresholds(clinic, patient, daily):
    clinic.attention_pain_rise = 3
    clinic.attention_adherence_below = 90
    clinic.save()
    today = START + days(14)
    for k in range(15):
        if k != 12:
            log(daily, START + days(k), pain=2 if k < 8 else 4)
    assert attention(clinic, today)[0] == {patient.pk: ["Adherence 85% over 7 days"]}


def test_it_ignores_patients_without_an_active_plan(clinic, patient, daily):
    daily.status = Plan.Status.PAUSED
    daily.save()
    assert attention(clinic, START + days(10)) == ({}, 0)


def test_it_flags_a_plan_never_logged(clinic, patient, daily):
    flagged, _ = attention(clinic, START + days(2))
    assert flagged == {
        patient.pk: [
            "No session logged since the plan started 3 days ago",
            "Adherence 0% over 7 days",
        ]
    }


def test_it_hides_other_clinics_patients(clinic, patient, daily, outside_patient, outsider):
    factories.make_plan(outside_patient, outsider, [])
    flagged, total = attention(clinic, START + days(10))
    assert set(flagged) == {patient.pk}
    assert total == 1
    with unscoped():
        assert Patient.objects.count() == 2


def test_attention_list_takes_constant_queries(
    clinic, therapist, shared_exercise, django_assert_num_queries
):
    for n in range(6):
        p = factories.make_patient(clinic, therapist)
        plan = factories.make_plan(p, therapist, [shared_exercise])
        for k in range(n):
            log(plan, START + days(k), pain=n)
    with django_assert_num_queries(1):
        entries, total = adherence.patients_needing_attention(clinic, START + days(10))
        assert [len(e.reasons) for e in entries]
    assert total == 6
    entries, total = adherence.patients_needing_attention(clinic, START + days(10), limit=2)
    assert (len(entries), total) == (2, 6)
