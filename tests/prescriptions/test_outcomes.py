"""Outcome measures: the shipped library, the one scoring module, schedules and answers."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from hypothesis import given
from hypothesis import strategies as st

from clinic.scoping import scope
from prescriptions.models import OutcomeMeasure, QuestionnaireResponse
from prescriptions.outcomes import library, responses
from prescriptions.outcomes.scoring import score
from tests import factories

# --- The library ------------------------------------------------------------------


def test_it_ships_the_four_measures_the_issue_names():
    assert list(library.instruments()) == ["psfs", "groc", "nprs", "lefs"]


def test_it_leaves_out_the_oswestry_index_and_says_why():
    assert "odi" not in library.instruments()
    assert "Oswestry Disability Index" in library.INSTRUMENTS_FILE.read_text()


@pytest.mark.parametrize(
    ("code", "low", "high", "higher_is_better", "mcid"),
    [
        ("psfs", 0, 10, True, 2.0),
        ("groc", -7, 7, True, 2.0),
        ("nprs", 0, 10, False, 2.0),
        ("lefs", 0, 80, True, 9.0),
    ],
)
def test_each_measure_records_range_direction_and_mcid(code, low, high, higher_is_better, mcid):
    instrument = library.get(code)
    assert (instrument.min_score, instrument.max_score) == (low, high)
    assert instrument.higher_is_better is higher_is_better
    assert instrument.mcid == mcid
    for text in (instrument.source, instrument.licence, instrument.scoring, instrument.missing):
        assert len(text) > 20


def test_the_lefs_has_twenty_items_on_a_five_point_scale():
    items = library.get("lefs").items()
    assert [item.link_id for item in items] == [str(n) for n in range(1, 21)]
    assert all(list(item.scale.values) == [0, 1, 2, 3, 4] for item in items)


def test_items_and_answers_speak_german_for_a_german_reader():
    item = library.get("nprs").items()[0]
    with translation.override("de"):
        assert item.text == "Ihr stärkster Schmerz in den letzten 24 Stunden"
        assert item.scale.choices()[0] == (0, "0 – Kein Schmerz")
        assert library.get("groc").items()[0].scale.label(0) == "Ungefähr gleich"
    assert item.scale.choices()[-1] == (10, "10 – Worst pain imaginable")


def test_psfs_asks_one_question_per_activity_up_to_five():
    items = library.get("psfs").items([f"activity {n}" for n in range(1, 8)])
    assert [item.link_id for item in items] == [f"activity-{n}" for n in range(1, 6)]
    assert items[0].text == "activity 1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[instrument]]\ncode = "x"\n', "instrument x: short is required"),
        (
            '[[scale]]\ncode = "s"\nlow = 0\nhigh = 2\nlabels_en = ["a"]\nlabels_de = ["b"]\n',
            "scale s: labels_en and labels_de need 3 labels each",
        ),
        ('[[scale]]\ncode = "s"\nlow = 3\nhigh = 2\n', "scale s: low must be below high"),
    ],
)
def test_a_wrong_library_entry_is_named(text, message):
    with pytest.raises(library.LibraryError, match=message):
        library.parse(text)


def test_an_unknown_scoring_rule_is_refused():
    raw = library.INSTRUMENTS_FILE.read_text().replace('rule = "sum_all"', 'rule = "median"')
    with pytest.raises(library.LibraryError, match="instrument lefs: rule must be one of"):
        library.parse(raw)


# --- Scoring: the sources' worked examples ------------------------------------------


def _score(code, answers, activities=None):
    instrument = library.get(code)
    return score(instrument, instrument.items(activities), answers)


def test_psfs_is_the_mean_of_the_activity_ratings():
    # Stratford et al. 1995: three activities rated 3, 5 and 4 score (3+5+4)/3 = 4.
    activities = ["Walking to the shops", "Sitting at work", "Climbing stairs"]
    answers = {"activity-1": 3, "activity-2": 5, "activity-3": 4}
    assert _score("psfs", answers, activities) == Decimal("4.0")
    assert _score("psfs", {"activity-1": 3, "activity-2": 4}, activities[:2]) == Decimal("3.5")


def test_psfs_leaves_an_unrated_activity_out_of_the_mean():
    activities = ["Walking", "Sitting", "Stairs"]
    assert _score("psfs", {"activity-1": 2, "activity-2": 7}, activities) == Decimal("4.5")
    assert _score("psfs", {}, activities) is None


def test_psfs_rounds_to_one_decimal_place():
    activities = ["a", "b", "c"]
    answers = {"activity-1": 1, "activity-2": 1, "activity-3": 2}
    assert _score("psfs", answers, activities) == Decimal("1.3")


def test_groc_is_the_answer_itself():
    assert _score("groc", {"change": 3}) == Decimal("3.0")
    assert _score("groc", {"change": -7}) == Decimal("-7.0")
    assert _score("groc", {}) is None


def test_nprs_is_the_mean_of_worst_and_average_pain():
    assert _score("nprs", {"worst": 6, "average": 3}) == Decimal("4.5")
    assert _score("nprs", {"worst": 6}) is None


def test_lefs_sums_twenty_items_from_0_to_80():
    # Binkley et al. 1999: 20 items scored 0-4; no difficulty with anything scores 80.
    assert _score("lefs", {str(n): 4 for n in range(1, 21)}) == Decimal("80.0")
    assert _score("lefs", {str(n): 0 for n in range(1, 21)}) == Decimal("0.0")
    mixed = {str(n): (n % 5) for n in range(1, 21)}  # 4 rounds of 0+1+2+3+4 = 40
    assert _score("lefs", mixed) == Decimal("40.0")


def test_lefs_with_an_unanswered_item_has_no_score():
    answers = {str(n): 3 for n in range(1, 20)}
    assert _score("lefs", answers) is None


@pytest.mark.parametrize(
    ("code", "answers"),
    [("nprs", {"worst": 11}), ("groc", {"change": 8}), ("lefs", {"1": 5}), ("nprs", {"x": 1})],
)
def test_an_answer_off_the_scale_is_refused_not_clipped(code, answers):
    with pytest.raises(ValueError, match=r"outside the scale|No item"):
        _score(code, answers)


def _answer_sets(code):
    instrument = library.get(code)
    items = instrument.items(["a", "b", "c", "d", "e"])
    return st.fixed_dictionaries(
        {},
        optional={item.link_id: st.integers(item.scale.low, item.scale.high) for item in items},
    ).map(lambda answers: (instrument, items, answers))


@given(st.one_of(*[_answer_sets(code) for code in ("psfs", "groc", "nprs", "lefs")]))
def test_a_score_is_always_in_range_or_absent_as_the_source_says(case):
    instrument, items, answers = case
    result = score(instrument, items, answers)
    complete = len(answers) == len(items)
    if result is None:
        assert not complete or not items
        assert instrument.rule != "mean" or not answers
    else:
        assert instrument.min_score <= result <= instrument.max_score
        assert complete or instrument.rule == "mean"


# --- Schedules -----------------------------------------------------------------------


@pytest.fixture
def start():
    return datetime.date(2026, 11, 2)


@pytest.fixture
def dated_plan(patient, therapist, shared_exercise, start):
    return factories.make_plan(
        patient,
        therapist,
        [shared_exercise],
        start_date=start,
        end_date=start + datetime.timedelta(weeks=6, days=-1),
    )


def _due_dates(measure, until):
    return [(o.due_date, o.opens) for o in measure.occasions(until)]


def test_a_measure_is_asked_at_the_start_every_n_weeks_and_in_the_last_week(dated_plan, start):
    measure = factories.make_measure(dated_plan, every_weeks=2)
    end = dated_plan.end_date
    week = datetime.timedelta(weeks=1)
    assert _due_dates(measure, end) == [
        (start, start),
        (start + 2 * week, start + 2 * week),
        (start + 4 * week, start + 4 * week),
        (end, end - datetime.timedelta(days=6)),
    ]
    # Nothing is asked before it opens.
    assert _due_dates(measure, start + week) == [(start, start)]


def test_the_end_replaces_a_repeat_in_the_last_week(dated_plan, start):
    measure = factories.make_measure(dated_plan, every_weeks=1, at_start=False)
    dates = [o.due_date for o in measure.occasions(dated_plan.end_date)]
    assert dates[-1] == dated_plan.end_date
    assert start + datetime.timedelta(weeks=5) not in dates
    assert start not in dates


def test_the_current_occasion_is_the_newest_open_one(dated_plan, start):
    measure = factories.make_measure(dated_plan, every_weeks=2)
    assert measure.current_occasion(start - datetime.timedelta(days=1)) is None
    current = measure.current_occasion(start + datetime.timedelta(days=20))
    assert current is not None
    assert current.due_date == start + datetime.timedelta(weeks=2)


def test_a_measure_needs_a_schedule(dated_plan):
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.make_measure(dated_plan, at_start=False, at_end=False, every_weeks=None)


def test_a_plan_takes_each_questionnaire_once(dated_plan):
    factories.make_measure(dated_plan, "lefs")
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.make_measure(dated_plan, "lefs")


def test_psfs_needs_one_to_five_activities(dated_plan, clinic_scope):
    measure = OutcomeMeasure(plan=dated_plan, instrument="psfs", activities="")
    with pytest.raises(ValidationError, match="Name one to 5 activities"):
        measure.full_clean()
    measure.activities = "\n".join(f"activity {n}" for n in range(6))
    with pytest.raises(ValidationError, match="Name one to 5 activities"):
        measure.full_clean()
    measure.activities = "Sitting\nWalking"
    measure.full_clean()


def test_only_the_psfs_asks_about_activities(dated_plan, clinic_scope):
    measure = OutcomeMeasure(plan=dated_plan, instrument="nprs", activities="Walking")
    with pytest.raises(ValidationError, match="Only the Patient-Specific"):
        measure.full_clean()


def test_an_unknown_questionnaire_is_refused(dated_plan, clinic_scope):
    measure = OutcomeMeasure(plan=dated_plan, instrument="odi")
    with pytest.raises(ValidationError, match="is not a valid choice"):
        measure.full_clean()


# --- Answering ----------------------------------------------------------------------


@pytest.fixture
def running_plan(patient, therapist, shared_exercise, clinic):
    today = clinic.today()
    return factories.make_plan(
        patient,
        therapist,
        [shared_exercise],
        start_date=today - datetime.timedelta(days=15),
        end_date=today + datetime.timedelta(days=30),
    )


def _open(measure, today):
    occasion = measure.current_occasion(today)
    assert occasion is not None
    return responses.open_response(measure, occasion)


def _answer_all(response, value, today):
    for item in responses.questions(response):
        responses.save_answer(response, link_id=item.link_id, value=value, today=today)
    return responses.complete(response, today=today)


def test_a_due_questionnaire_is_listed_until_it_is_sent(patient, running_plan, clinic_scope):
    measure = factories.make_measure(running_plan, "nprs", every_weeks=2)
    today = patient.clinic.today()
    due = responses.due_questionnaires(patient, today)
    assert [(d.measure, d.occasion.due_date) for d in due] == [
        (measure, running_plan.start_date + datetime.timedelta(weeks=2))
    ]
    response = responses.open_response(measure, due[0].occasion)
    responses.save_answer(response, link_id="worst", value=6, today=today)
    assert responses.due_questionnaires(patient, today)[0].answered == 1
    responses.save_answer(response, link_id="average", value=4, today=today)
    responses.complete(response, today=today)
    assert responses.due_questionnaires(patient, today) == []
    response.refresh_from_db()
    assert response.score == Decimal("5.0")
    assert response.status == QuestionnaireResponse.Status.COMPLETED


def test_it_does_not_send_a_half_answered_questionnaire(patient, running_plan, clinic_scope):
    measure = factories.make_measure(running_plan, "nprs")
    today = patient.clinic.today()
    response = _open(measure, today)
    responses.save_answer(response, link_id="worst", value=6, today=today)
    with pytest.raises(ValidationError, match="answer every question"):
        responses.complete(response, today=today)
    response.refresh_from_db()
    assert response.status == QuestionnaireResponse.Status.IN_PROGRESS


def test_an_answer_off_the_scale_changes_nothing(patient, running_plan, clinic_scope):
    measure = factories.make_measure(running_plan, "nprs")
    today = patient.clinic.today()
    response = _open(measure, today)
    with pytest.raises(ValidationError, match="Choose one of the answers"):
        responses.save_answer(response, link_id="worst", value=12, today=today)
    response.refresh_from_db()
    assert response.answers == {}


def test_a_sent_questionnaire_can_be_corrected_for_seven_days(patient, running_plan, clinic_scope):
    measure = factories.make_measure(running_plan, "nprs")
    today = patient.clinic.today()
    response = _answer_all(_open(measure, today), 4, today)
    later = today + datetime.timedelta(days=7)
    responses.save_answer(response, link_id="worst", value=8, today=later)
    response.refresh_from_db()
    assert response.score == Decimal("6.0")
    with pytest.raises(ValidationError, match="can no longer be changed"):
        responses.save_answer(
            response, link_id="worst", value=2, today=later + datetime.timedelta(1)
        )


def test_a_score_worse_than_the_first_by_the_mcid_is_flagged(patient, running_plan, clinic_scope):
    measure = factories.make_measure(running_plan, "nprs", every_weeks=1)
    today = patient.clinic.today()
    first, second, third = measure.occasions(today)[:3]
    a = _answer_all(responses.open_response(measure, first), 3, first.due_date)
    # Sent on time; the test moves the clock by answering on each occasion's day.
    QuestionnaireResponse.objects.filter(pk=a.pk).update(completed_at=timezone.now())
    b = responses.open_response(measure, second)
    b.answers = {"worst": 4, "average": 4}
    b.status, b.completed_at, b.score = "completed", timezone.now(), Decimal("4.0")
    b.save()
    c = responses.open_response(measure, third)
    c.answers = {"worst": 5, "average": 5}
    c.status, c.completed_at, c.score = "completed", timezone.now(), Decimal("5.0")
    c.save()
    responses.flag_worse_scores(measure)
    flags = dict(measure.responses.values_list("due_date", "worse_by_mcid"))
    # NPRS: higher is worse, MCID 2: 3 -> 4 is not worse by the MCID, 3 -> 5 is.
    assert flags == {first.due_date: False, second.due_date: False, third.due_date: True}


def test_groc_is_worse_when_the_patient_says_so_by_the_mcid(patient, running_plan, clinic_scope):
    measure = factories.make_measure(running_plan, "groc")
    today = patient.clinic.today()
    response = _open(measure, today)
    responses.save_answer(response, link_id="change", value=-2, today=today)
    responses.complete(response, today=today)
    response.refresh_from_db()
    assert response.worse_by_mcid is True
    responses.save_answer(response, link_id="change", value=-1, today=today)
    response.refresh_from_db()
    assert response.worse_by_mcid is False


def test_an_unanswered_older_occasion_is_not_asked_any_more(patient, running_plan, clinic_scope):
    factories.make_measure(running_plan, "nprs", every_weeks=1)
    today = patient.clinic.today()
    due = responses.due_questionnaires(patient, today)
    assert len(due) == 1
    assert due[0].occasion.due_date == running_plan.start_date + datetime.timedelta(weeks=2)


def test_another_clinics_measures_are_out_of_scope(
    outside_patient, outsider, running_plan, other_clinic
):
    factories.make_measure(running_plan, "nprs")
    with scope(other_clinic):
        assert not OutcomeMeasure.objects.exists()
        assert responses.due_questionnaires(running_plan.patient, other_clinic.today()) == []
