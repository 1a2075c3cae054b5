"""Dose suggestions: every rule, table-driven; bounds and determinism as properties."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prescriptions.models import (
    DURATION_MINUTES,
    HOLD_SECONDS,
    REPS,
    SETS,
    Exercise,
    Plan,
    PlanItem,
)
from prescriptions.suggestions import Kind, Signals, Thresholds, pain_rise, suggest

NERVE = Exercise.Category.NERVE_MOBILISATION
STRENGTH = Exercise.Category.STRENGTHENING


def _exercise(pk, name, category=STRENGTH, **dose):
    dose.setdefault("sets", 3)
    dose.setdefault("reps", 10)
    return Exercise(pk=pk, name=name, slug=f"e{pk}", category=category, **dose)


def _item(exercise, **dose):
    values = {
        "sets": exercise.sets,
        "reps": exercise.reps,
        "hold_seconds": exercise.hold_seconds,
        "duration_minutes": exercise.duration_minutes,
    }
    values.update(dose)
    return PlanItem(pk=1, plan=Plan(pk=1, revision=1), exercise=exercise, order=1, **values)


def _signals(item, **kw):
    base: dict[str, Any] = {
        "days_logged": 12,
        "done": 13,
        "due": 14,
        "percent": 93,
        "pains": [2, 2, 1, 1, 2, 1, 1],
        "too_easy": 3,
        "too_hard": 0,
        "lasting_nerve_days": 0,
    }
    base.update(kw)
    return Signals(item=item, **base)


BRIDGE = _exercise(1, "Glute bridge")
SLIDER = _exercise(2, "Sciatic nerve slider", NERVE, reps=10)
TENSIONER = _exercise(3, "Sciatic nerve tensioner", NERVE, reps=8, easier=SLIDER)
STRETCH = _exercise(4, "Hamstring stretch", reps=None, hold_seconds=30, sets=2)
WALK = _exercise(5, "Brisk walk", reps=None, duration_minutes=10, sets=1)
SINGLE_LEG = _exercise(6, "Single-leg bridge", sets=3, reps=8)
BRIDGE_WITH_HARDER = _exercise(7, "Bridge", sets=4, reps=15, harder=SINGLE_LEG)


@pytest.mark.parametrize(
    ("item", "signals", "kind", "change", "first_reason"),
    [
        # Rule 1: too little to go on.
        (_item(BRIDGE), {"days_logged": 3}, Kind.KEEP, [], "not enough logs yet: 3 of the 5"),
        # Rule 2: lasting nerve symptoms: the slider instead of the tensioner ...
        (
            _item(TENSIONER),
            {"lasting_nerve_days": 1},
            Kind.REGRESS,
            ["Sciatic nerve slider instead of Sciatic nerve tensioner"],
            "nerve symptoms lasted after exercise on 1 day",
        ),
        # ... a smaller dose of nerve work without an easier variant ...
        (
            _item(SLIDER),
            {"lasting_nerve_days": 2},
            Kind.REGRESS,
            ["repetitions 10 → 8"],
            "nerve symptoms lasted after exercise on 2 days",
        ),
        # ... and no progression of anything else, however ready.
        (_item(BRIDGE), {"lasting_nerve_days": 1}, Kind.KEEP, [], "nerve symptoms lasted"),
        # Rule 3: pain rising by 2 or more wins over progression.
        (
            _item(BRIDGE),
            {"pains": [1, 1, 1, 3, 4, 4]},
            Kind.REGRESS,
            ["repetitions 10 → 8"],
            "pain rose by 2.66667 points",
        ),
        # Rule 4: "too hard" three times.
        (
            _item(BRIDGE),
            {"too_hard": 3, "too_easy": 0},
            Kind.REGRESS,
            ["repetitions 10 → 8"],
            "done in 13 of 14 sessions due (93 %)",
        ),
        # Rule 5: ready to progress, one step at a time.
        (_item(BRIDGE), {}, Kind.PROGRESS, ["repetitions 10 → 12"], "done in 13 of 14"),
        (_item(STRETCH), {}, Kind.PROGRESS, ["hold (seconds) 30 → 40"], "done in 13 of 14"),
        (_item(STRETCH, hold_seconds=60), {}, Kind.PROGRESS, ["sets 2 → 3"], "done in"),
        (_item(WALK), {}, Kind.PROGRESS, ["duration (minutes) 10 → 12"], "done in"),
        (
            _item(BRIDGE_WITH_HARDER),
            {},
            Kind.PROGRESS,
            ["Single-leg bridge instead of Bridge"],
            "done in",
        ),
        (
            _item(BRIDGE, sets=4, reps=15),
            {},
            Kind.KEEP,
            [],
            "already at the highest dose and no harder variant",
        ),
        # Rule 6: anything short of ready is kept.
        (_item(BRIDGE), {"percent": 70, "done": 10}, Kind.KEEP, [], "done in 10 of 14"),
        (_item(BRIDGE), {"pains": [2, 4, 3, 2]}, Kind.KEEP, [], "done in"),
        (_item(BRIDGE), {"too_easy": 2}, Kind.KEEP, [], "done in"),
        (_item(BRIDGE), {"too_hard": 1}, Kind.KEEP, [], "done in"),
        (_item(BRIDGE), {"pains": []}, Kind.KEEP, [], "done in"),
    ],
)
def test_each_rule(item, signals, kind, change, first_reason):
    suggestion = suggest(_signals(item, **signals), Thresholds())
    assert suggestion.kind == kind
    assert suggestion.changes == change
    assert suggestion.reasons[0].startswith(first_reason)


def test_the_reasons_read_like_the_issue_example():
    suggestion = suggest(_signals(_item(BRIDGE), pains=[2, 2, 2, 1, 1, 1]), Thresholds())
    assert suggestion.reasons == [
        "done in 13 of 14 sessions due (93 %)",
        "pain 1–2 and falling",
        "effort 'too easy' 3 times",
    ]


def test_the_thresholds_are_the_clinics():
    strict = Thresholds(progress_adherence=95)
    assert suggest(_signals(_item(BRIDGE)), strict).kind == Kind.KEEP
    lenient = Thresholds(effort_count=1)
    assert suggest(_signals(_item(BRIDGE), too_easy=1), lenient).kind == Kind.PROGRESS
    assert suggest(_signals(_item(BRIDGE), too_hard=1, too_easy=0), lenient).kind == Kind.REGRESS
    assert suggest(_signals(_item(BRIDGE), days_logged=2), Thresholds(min_days=2)).kind == (
        Kind.PROGRESS
    )


@pytest.mark.parametrize(
    ("pains", "rise"),
    [([], None), ([3], None), ([1, 3], 2), ([1, 1, 1, 3, 4, 4], 8 / 3), ([4, 3, 2, 1], -2)],
)
def test_pain_rise_compares_the_ends_of_the_window(pains, rise):
    assert pain_rise(pains) == (pytest.approx(rise) if rise is not None else None)


# --- Properties ----------------------------------------------------------------------

doses = st.one_of(
    st.fixed_dictionaries(
        {"reps": st.integers(REPS.low, REPS.high), "hold_seconds": st.none(), "minutes": st.none()}
    ),
    st.fixed_dictionaries(
        {
            "reps": st.none(),
            "hold_seconds": st.integers(HOLD_SECONDS.low, HOLD_SECONDS.high),
            "minutes": st.none(),
        }
    ),
    st.fixed_dictionaries(
        {
            "reps": st.none(),
            "hold_seconds": st.none(),
            "minutes": st.integers(DURATION_MINUTES.low, DURATION_MINUTES.high),
        }
    ),
)
pain_lists = st.lists(st.integers(0, 10), max_size=28)


@given(
    dose=doses,
    sets=st.integers(SETS.low, SETS.high),
    nerve=st.booleans(),
    variants=st.booleans(),
    days=st.integers(0, 14),
    due=st.integers(0, 28),
    pains=pain_lists,
    easy=st.integers(0, 14),
    hard=st.integers(0, 14),
    lasting=st.integers(0, 3),
)
def test_a_suggestion_never_leaves_the_dosage_bounds_and_is_repeatable(
    dose, sets, nerve, variants, days, due, pains, easy, hard, lasting
):
    exercise = _exercise(
        10,
        "Any",
        NERVE if nerve else STRENGTH,
        sets=sets,
        reps=dose["reps"],
        hold_seconds=dose["hold_seconds"],
        duration_minutes=dose["minutes"],
        easier=SLIDER if variants else None,
        harder=SINGLE_LEG if variants else None,
    )
    done = min(due, days)
    signals = _signals(
        _item(exercise),
        days_logged=days,
        done=done,
        due=due,
        percent=round(100 * done / due) if due else None,
        pains=pains,
        too_easy=easy,
        too_hard=hard,
        lasting_nerve_days=lasting,
    )
    first, again = suggest(signals, Thresholds()), suggest(signals, Thresholds())
    assert first == again
    assert first.signature == again.signature
    proposed = first.proposed
    assert SETS.low <= proposed.sets <= SETS.high
    for value, bound in [
        (proposed.reps, REPS),
        (proposed.hold_seconds, HOLD_SECONDS),
        (proposed.duration_minutes, DURATION_MINUTES),
    ]:
        assert value is None or bound.low <= value <= bound.high
    assert any(
        v is not None for v in (proposed.reps, proposed.hold_seconds, proposed.duration_minutes)
    )
    # Lasting nerve symptoms or rising pain never lead to progression.
    rise = pain_rise(pains)
    if lasting or (rise is not None and rise >= 2):
        assert first.kind != Kind.PROGRESS
    if first.kind == Kind.KEEP:
        assert proposed == first.current


def test_a_variant_switch_keeps_the_variants_own_dose():
    suggestion = suggest(_signals(_item(TENSIONER), lasting_nerve_days=1), Thresholds())
    assert dataclasses.asdict(suggestion.proposed)["exercise"] == SLIDER
    assert (suggestion.proposed.sets, suggestion.proposed.reps) == (3, 10)
