"""Dosage phrases: the same words on the handout, in the portal and in the admin."""

from __future__ import annotations

import pytest
from django.utils import translation

from prescriptions import dosage
from prescriptions.models import PlanItem, Side


@pytest.mark.parametrize(
    ("n", "words"),
    [(1, "once a day"), (2, "twice a day"), (3, "3 times a day"), (4, "4 times a day")],
)
def test_it_says_how_many_times_a_day_in_words(n, words):
    assert dosage.times_per_day_words(n) == words


@pytest.mark.parametrize(
    ("n", "words"),
    [(1, "1 day a week"), (3, "3 days a week"), (6, "6 days a week"), (7, "every day")],
)
def test_it_says_how_many_days_a_week_in_words(n, words):
    assert dosage.days_per_week_words(n) == words


def test_the_dosage_sentence_uses_the_same_phrases():
    d = PlanItem(sets=3, reps=10, side=Side.EACH, times_per_day=2, days_per_week=5)
    assert dosage.describe(d) == "3 sets of 10, each side, twice a day, 5 days a week"


def test_one_sessions_dose_leaves_out_the_times_a_day_but_not_the_days():
    d = PlanItem(sets=3, reps=10, side=Side.EACH, times_per_day=2, days_per_week=5)
    assert dosage.describe(d, times_a_day=False) == "3 sets of 10, each side, 5 days a week"


def test_an_every_day_dosage_does_not_repeat_the_days():
    d = PlanItem(sets=2, reps=None, hold_seconds=30, times_per_day=1, days_per_week=7)
    assert dosage.describe(d) == "hold 30 seconds, 2 times, once a day"


def test_the_sentence_is_in_the_language_active_when_it_is_asked_for():
    # Sentences are kept once written: in English, then German, then English again.
    d = PlanItem(sets=3, reps=10, side=Side.EACH, times_per_day=2, days_per_week=7)
    with translation.override("en"):
        english = dosage.describe(d)
    with translation.override("de"):
        german = dosage.describe(d)
    with translation.override("en"):
        assert dosage.describe(d) == english == "3 sets of 10, each side, twice a day"
    assert german == "3 Sätze mit je 10 Wiederholungen, auf jeder Seite, zweimal täglich"


def test_a_changed_dose_gets_its_own_sentence():
    d = PlanItem(sets=3, reps=10, side=Side.EACH, times_per_day=2, days_per_week=7)
    dosage.describe(d)
    d.side = Side.LEFT
    assert dosage.describe(d) == "3 sets of 10, left side only, twice a day"
