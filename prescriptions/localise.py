"""Exercises in the patient's language, where a version in it exists.

The portal and the handout call `show_in(items, language)` on the plan items
they are about to show: each item's exercise is swapped, in memory only, for a
copy that reads in that language (ExerciseTranslation), with one query for the
whole list. An exercise without that language keeps its original words.
"""

from __future__ import annotations

from collections.abc import Iterable

from prescriptions.models import Exercise, ExerciseTranslation, ItemFields


def show_in(items: Iterable[ItemFields], language: str) -> None:
    items = list(items)
    ids = {item.exercise_id for item in items}
    if not ids:
        return
    found = {
        t.exercise_id: t
        for t in ExerciseTranslation.objects.filter(exercise_id__in=ids, language=language)
    }
    if not found:
        return
    copies: dict[int, Exercise] = {}
    for item in items:
        translation = found.get(item.exercise_id)
        if translation is None:
            continue
        if item.exercise_id not in copies:
            copies[item.exercise_id] = translation.applied_to(item.exercise)
        item.exercise = copies[item.exercise_id]
