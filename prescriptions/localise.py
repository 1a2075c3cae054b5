"""Exercises in the patient's language, where a version in it exists.

The portal and the handout call `show_in(items, language)` on the plan items
they are about to show: each item's exercise is swapped, in memory only, for a
copy that reads in that language (ExerciseTranslation), with one query for the
whole list. An exercise without that language keeps its original words. The
plan's education pages (`education_in`) and protocol phase (`phase_in`) go the
same way.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db.models import CharField, F, FilteredRelation, Q, QuerySet, Value

from prescriptions.models import (
    EducationPage,
    EducationPageTranslation,
    Exercise,
    ExerciseTranslation,
    ItemFields,
    PlanTemplateTranslation,
    TemplatePhase,
)

# Where `with_words_in` puts an exercise's version in a language, beside the item.
_SHOWN = "shown_"


def with_words_in[QS: QuerySet[Any]](items: QS, language: str) -> QS:
    """Plan (or template) items with their exercises' version in `language` read in the
    same query, by a join: `show_in` then needs no query of its own."""
    words = FilteredRelation(
        "exercise__translations", condition=Q(exercise__translations__language=language)
    )
    return items.alias(shown_words=words).annotate(
        **{
            f"{_SHOWN}language": Value(language, output_field=CharField()),
            f"{_SHOWN}id": F("shown_words__id"),
            **{
                f"{_SHOWN}{name}": F(f"shown_words__{name}")
                for name in ExerciseTranslation.translated_fields
            },
        }
    )


def _joined(items: list[ItemFields], language: str) -> dict[int, ExerciseTranslation] | None:
    """The versions `with_words_in` read with the items, or None if it did not."""
    if not all(getattr(item, f"{_SHOWN}language", None) == language for item in items):
        return None
    return {
        item.exercise_id: ExerciseTranslation(
            pk=getattr(item, f"{_SHOWN}id"),
            exercise_id=item.exercise_id,
            language=language,
            **{
                name: getattr(item, f"{_SHOWN}{name}")
                for name in ExerciseTranslation.translated_fields
            },
        )
        for item in items
        if getattr(item, f"{_SHOWN}id") is not None
    }


def show_in(items: Iterable[ItemFields], language: str) -> None:
    items = list(items)
    ids = {item.exercise_id for item in items}
    if not ids:
        return
    found = _joined(items, language)
    if found is None:
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


def exercises_in(exercises: Iterable[Exercise], language: str) -> dict[int, Exercise]:
    """Each exercise that has a version in `language`, as a copy that reads in it (for
    showing only), by id; one query, none in the site's own language."""
    ids = {exercise.pk for exercise in exercises}
    if not ids or _is_source_language(language):
        return {}
    by_id = {exercise.pk: exercise for exercise in exercises}
    return {
        t.exercise_id: t.applied_to(by_id[t.exercise_id])
        for t in ExerciseTranslation.objects.filter(exercise_id__in=ids, language=language)
    }


def _is_source_language(language: str) -> bool:
    # The shipped pages and protocols are written in the site's language: a patient
    # who reads it needs no look-up (and their pages keep their query counts).
    return not language or language == settings.LANGUAGE_CODE


def education_in(pages: Iterable[EducationPage], language: str) -> list[EducationPage]:
    """The pages in `language` where a version exists (copies, for showing only); one query."""
    pages = list(pages)
    if not pages or _is_source_language(language):
        return pages
    found = {
        t.page_id: t
        for t in EducationPageTranslation.objects.filter(
            page_id__in=[page.pk for page in pages], language=language
        )
    }
    return [found[page.pk].applied_to(page) if page.pk in found else page for page in pages]


def phase_in(phase: TemplatePhase | None, language: str) -> TemplatePhase | None:
    """The phase with its name and note in `language` where its protocol has them."""
    if phase is None or _is_source_language(language):
        return phase
    words = PlanTemplateTranslation.objects.filter(
        template_id=phase.template_id, language=language
    ).first()
    if words is None:
        return phase
    shown = copy.copy(phase)
    shown.name = words.phase_text(phase.number, "name") or phase.name
    shown.notes_for_patient = (
        words.phase_text(phase.number, "notes_for_patient") or phase.notes_for_patient
    )
    return shown
