"""Recording a session (prescriptions/recording.py): the portal's one write."""

from __future__ import annotations

import datetime
import threading
import uuid
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from clinic.scoping import scope
from prescriptions.models import ExerciseLog, Plan, SessionLog
from prescriptions.recording import Recorded, record_session
from tests import factories

# Reading back what was recorded happens in the clinic's scope; each recording
# enters the scope of its plan's clinic itself (_record), as the portal does.
pytestmark = pytest.mark.usefixtures("clinic_scope")


def _today(plan: Plan) -> datetime.date:
    return plan.patient.clinic.today()


def _record(plan: Plan, **overrides: Any) -> SessionLog:
    return _recorded(plan, **overrides).log


def _recorded(plan: Plan, **overrides: Any) -> Recorded:
    values: dict[str, Any] = {
        "plan": plan,
        "date": _today(plan),
        "session_number": 1,
        "idempotency_key": uuid.uuid4(),
        "pain": 3,
        "nerve_symptoms": SessionLog.NerveSymptoms.NONE,
        "symptoms_lasted": False,
        "symptoms_minutes": None,
        "effort": SessionLog.Effort.ABOUT_RIGHT,
        "comment": "",
        "sets": {},
    }
    values.update(overrides)
    with scope(plan.patient.clinic_id):
        return record_session(**values)


@pytest.fixture
def running_plan(patient, therapist, shared_exercise) -> Plan:
    strength = factories.make_exercise(None, name="Bridge", slug="bridge", sets=3, reps=10)
    start = patient.clinic.today() - datetime.timedelta(days=20)
    return factories.make_plan(patient, therapist, [shared_exercise, strength], start_date=start)


def test_it_records_a_session_with_its_exercises(running_plan):
    stretch, bridge = running_plan.items.all()
    log = _record(
        running_plan,
        pain=4,
        comment="  felt fine  ",
        sets={stretch.pk: (None, 2, 1), bridge.pk: (3, None, None)},
    )
    assert log.pain == 4
    assert log.comment == "felt fine"
    rows = {row.item_id: row for row in ExerciseLog.objects.filter(session=log)}
    # Each side: a set counts when both sides did it.
    assert (
        rows[stretch.pk].sets_done,
        rows[stretch.pk].sets_left,
        rows[stretch.pk].sets_right,
    ) == (1, 2, 1)
    assert (rows[bridge.pk].sets_done, rows[bridge.pk].sets_left, rows[bridge.pk].sets_right) == (
        3,
        None,
        None,
    )


def test_it_returns_the_same_record_when_the_same_form_is_sent_twice(running_plan):
    key = uuid.uuid4()
    first = _record(running_plan, idempotency_key=key, pain=2)
    second = _record(running_plan, idempotency_key=key, pain=9)
    assert first.pk == second.pk
    assert SessionLog.objects.count() == 1
    assert SessionLog.objects.get().pain == 2


def test_it_corrects_the_session_when_a_new_form_is_sent_for_it(running_plan):
    bridge = running_plan.items.get(exercise__slug="bridge")
    first = _record(running_plan, pain=2, sets={bridge.pk: (1, None, None)})
    second = _record(running_plan, pain=5, sets={bridge.pk: (3, None, None)})
    assert first.pk == second.pk
    assert SessionLog.objects.get().pain == 5
    assert list(ExerciseLog.objects.values_list("sets_done", flat=True)) == [3]


def test_it_says_whether_the_session_was_recorded_already(running_plan):
    key = uuid.uuid4()
    assert _recorded(running_plan, idempotency_key=key).already_recorded is False
    # The same form again (the portal says the changes are saved, as for a correction).
    assert _recorded(running_plan, idempotency_key=key).already_recorded is True
    assert _recorded(running_plan, pain=6).already_recorded is True
    yesterday = _today(running_plan) - datetime.timedelta(days=1)
    assert _recorded(running_plan, date=yesterday).already_recorded is False
    assert SessionLog.objects.count() == 2


def test_a_correction_replaces_every_exercise_row_of_its_session_only(running_plan):
    stretch, bridge = running_plan.items.all()
    yesterday = _today(running_plan) - datetime.timedelta(days=1)
    kept = _record(running_plan, date=yesterday, sets={bridge.pk: (2, None, None)})
    _record(running_plan, sets={stretch.pk: (None, 1, 1), bridge.pk: (1, None, None)})
    log = _record(running_plan, sets={bridge.pk: (3, None, None)})
    assert sorted(ExerciseLog.objects.values_list("session_id", "item_id", "sets_done")) == [
        (kept.pk, bridge.pk, 2),
        (log.pk, bridge.pk, 3),
    ]


def test_it_judges_every_exercise_row_even_when_their_numbers_repeat(running_plan):
    stretch, bridge = running_plan.items.all()
    # Three sets done both times; the second row's right side is out of range.
    with pytest.raises(ValidationError, match="between 0 and 10"):
        _record(running_plan, sets={bridge.pk: (3, None, None), stretch.pk: (None, 3, 11)})
    assert not SessionLog.objects.exists()


def test_it_judges_the_values_before_taking_the_write_lock(running_plan, monkeypatch):
    """On SQLite the transaction holds the database's one write lock from its start:
    the model's rules, which read nothing from the database, are judged before it."""
    depths: list[int] = []
    for model in (SessionLog, ExerciseLog):
        full_clean = model.full_clean

        def judging(self: Any, *args: Any, full_clean: Any = full_clean, **kwargs: Any) -> None:
            depths.append(len(connection.atomic_blocks))
            full_clean(self, *args, **kwargs)

        monkeypatch.setattr(model, "full_clean", judging)
    bridge = running_plan.items.get(exercise__slug="bridge")
    outside = len(connection.atomic_blocks)
    _record(running_plan, sets={bridge.pk: (3, None, None)})
    assert depths == [outside, outside]


def test_a_form_sent_again_gets_its_first_record_whatever_it_holds_now(running_plan):
    key = uuid.uuid4()
    first = _record(running_plan, idempotency_key=key, pain=2)
    # Refused on its own (the pain is off the scale), but it is the same form again.
    assert _record(running_plan, idempotency_key=key, pain=11).pk == first.pk
    running_plan.status = Plan.Status.PAUSED
    assert _record(running_plan, idempotency_key=key).pk == first.pk
    with pytest.raises(ValidationError, match="not active"):
        _record(running_plan)


def test_it_keeps_separate_sessions_of_one_day_apart(running_plan):
    running_plan.items.update(times_per_day=2)
    _record(running_plan, session_number=1)
    _record(running_plan, session_number=2)
    assert SessionLog.objects.filter(plan=running_plan).count() == 2


def test_it_refuses_a_session_number_the_plan_does_not_have(running_plan):
    with pytest.raises(ValidationError) as error:
        _record(running_plan, session_number=2)
    assert "session_number" in error.value.message_dict
    assert not SessionLog.objects.exists()


def test_it_refuses_future_days(running_plan):
    with pytest.raises(ValidationError, match="not happened yet"):
        _record(running_plan, date=_today(running_plan) + datetime.timedelta(days=1))
    assert not SessionLog.objects.exists()


def test_it_refuses_days_before_the_plan_started(patient, therapist, shared_exercise):
    plan = factories.make_plan(
        patient, therapist, [shared_exercise], start_date=patient.clinic.today()
    )
    with pytest.raises(ValidationError, match="started on"):
        _record(plan, date=_today(plan) - datetime.timedelta(days=1))
    assert not SessionLog.objects.exists()


def test_it_refuses_days_after_the_plan_ended(patient, therapist, shared_exercise):
    today = patient.clinic.today()
    plan = factories.make_plan(
        patient,
        therapist,
        [shared_exercise],
        start_date=today - datetime.timedelta(days=10),
        end_date=today - datetime.timedelta(days=3),
    )
    with pytest.raises(ValidationError, match="ended on"):
        _record(plan, date=today - datetime.timedelta(days=2))
    _record(plan, date=today - datetime.timedelta(days=3))
    assert SessionLog.objects.count() == 1


def test_it_accepts_seven_days_back_and_refuses_eight(running_plan):
    today = _today(running_plan)
    _record(running_plan, date=today - datetime.timedelta(days=7))
    with pytest.raises(ValidationError, match="7 days"):
        _record(running_plan, date=today - datetime.timedelta(days=8))
    assert SessionLog.objects.count() == 1


@pytest.mark.parametrize("status", [Plan.Status.DRAFT, Plan.Status.PAUSED, Plan.Status.COMPLETED])
def test_it_refuses_plans_that_are_not_active(running_plan, status):
    running_plan.status = status
    running_plan.save()
    with pytest.raises(ValidationError, match="not active"):
        _record(running_plan)
    assert not SessionLog.objects.exists()


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("pain", {"pain": 11}),
        ("pain", {"pain": -1}),
        ("nerve_symptoms", {"nerve_symptoms": "burning"}),
        ("nerve_symptoms", {"symptoms_lasted": True, "nerve_symptoms": "none"}),
        (
            "symptoms_minutes",
            {"nerve_symptoms": "tingling", "symptoms_lasted": True, "symptoms_minutes": 5000},
        ),
        ("effort", {"effort": "brutal"}),
        ("comment", {"comment": "x" * 2001}),
    ],
)
def test_it_refuses_bad_values_and_saves_nothing(running_plan, field, overrides):
    with pytest.raises(ValidationError) as error:
        _record(running_plan, **overrides)
    assert field in error.value.message_dict
    assert not SessionLog.objects.exists()


def test_it_refuses_items_from_another_plan(
    running_plan, other_patient, colleague, shared_exercise
):
    foreign = factories.make_plan(other_patient, colleague, [shared_exercise]).items.get()
    with pytest.raises(ValidationError, match="not in your plan"):
        _record(running_plan, sets={foreign.pk: (1, None, None)})
    assert not SessionLog.objects.exists()
    assert not ExerciseLog.objects.exists()


def test_it_refuses_too_many_sets(running_plan):
    bridge = running_plan.items.get(exercise__slug="bridge")
    with pytest.raises(ValidationError, match="between 0 and 10"):
        _record(running_plan, sets={bridge.pk: (11, None, None)})
    assert not SessionLog.objects.exists()


def test_it_refuses_a_key_already_used_for_another_plan(
    running_plan, other_patient, colleague, shared_exercise
):
    other = factories.make_plan(
        other_patient, colleague, [shared_exercise], start_date=running_plan.start_date
    )
    key = uuid.uuid4()
    _record(other, idempotency_key=key)
    with pytest.raises(ValidationError, match="expired"):
        _record(running_plan, idempotency_key=key)
    assert not SessionLog.objects.filter(plan=running_plan).exists()


def test_it_forgets_minutes_when_symptoms_did_not_last(running_plan):
    log = _record(
        running_plan, nerve_symptoms="tingling", symptoms_lasted=False, symptoms_minutes=20
    )
    assert log.symptoms_minutes is None


def test_it_judges_today_in_the_clinics_time_zone(monkeypatch, therapist, shared_exercise):
    # 20:00 in London is already 10:00 the next morning on Kiritimati (UTC+14).
    moment = datetime.datetime(2026, 11, 22, 20, 0, tzinfo=datetime.UTC)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    ahead = factories.make_clinic("Line Islands Physio", time_zone="Pacific/Kiritimati")
    london = factories.make_clinic("London Physio", time_zone="Europe/London")
    start = datetime.date(2026, 11, 1)
    tomorrow_in_london = datetime.date(2026, 11, 23)
    plans = [
        factories.make_plan(
            factories.make_patient(c), therapist, [shared_exercise], start_date=start
        )
        for c in (ahead, london)
    ]
    assert _record(plans[0], date=tomorrow_in_london).date == tomorrow_in_london
    with pytest.raises(ValidationError, match="not happened yet"):
        _record(plans[1], date=tomorrow_in_london)


def test_the_loser_of_a_race_to_create_the_session_gets_the_winners_record(
    running_plan, monkeypatch
):
    """The race the threads below run on PostgreSQL, staged: the read under the lock
    missed the winner's row, so the insert meets the unique constraint."""
    from prescriptions import recording

    winner = _record(running_plan, pain=2)
    monkeypatch.setattr(recording, "_replay_or_session", lambda *args: [])
    lost = _recorded(running_plan, pain=8)
    assert (lost.log.pk, lost.already_recorded) == (winner.pk, False)
    assert SessionLog.objects.get().pain == 2
    # A replay of the winner's form to another day: the key's row is the answer.
    yesterday = _today(running_plan) - datetime.timedelta(days=1)
    replayed = _recorded(running_plan, date=yesterday, idempotency_key=winner.idempotency_key)
    assert replayed.log.pk == winner.pk
    assert SessionLog.objects.count() == 1


def _is_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


@pytest.mark.postgres
@pytest.mark.skipif(not _is_postgres(), reason="needs PostgreSQL (set DATABASE_URL)")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("same_key", [True, False], ids=["same-form", "different-forms"])
def test_it_keeps_one_record_when_many_threads_log_the_same_session(
    transactional_db, same_key, request
):
    running_plan = request.getfixturevalue("running_plan")
    assert connection.vendor == "postgresql"
    bridge = running_plan.items.get(exercise__slug="bridge")
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    shared_key = uuid.uuid4()
    results: list[int] = []
    errors: list[BaseException] = []

    def submit() -> None:
        try:
            barrier.wait()
            log = _record(
                running_plan,
                idempotency_key=shared_key if same_key else uuid.uuid4(),
                sets={bridge.pk: (3, None, None)},
            )
            results.append(log.pk)
        except BaseException as error:  # report it in the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert SessionLog.objects.filter(plan=running_plan).count() == 1
    assert set(results) == {SessionLog.objects.get(plan=running_plan).pk}
    assert ExerciseLog.objects.filter(session__plan=running_plan).count() == 1
