"""The shipped library in other languages: prescriptions/library/translations/<code>.toml.

Each file holds, for the language named by its file name, every shipped
exercise's words (name, purpose, steps, cautions, stop signs and the drawing's
description), every protocol's (name, condition, description, goals, notes,
each exercise's instructions, load and tempo, and each phase's name and note)
and every education page's (title, summary, text). `load_library` stores them as
ExerciseTranslation, PlanTemplateTranslation and EducationPageTranslation rows
beside the English.

Each entry names the English it was translated from by a short fingerprint
(`source`), so that a later change to the English is noticed:
`translation_problems` (run by the test suite) lists every exercise or protocol
whose English changed since, every one missing a translation, and every
translation whose steps, cautions, stop signs, numbers or placeholders do not
match the English in count.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings

LIBRARY_DIR = Path(__file__).resolve().parent
TRANSLATIONS_DIR = LIBRARY_DIR / "translations"
ITEM_TEXT_FIELDS = ("instructions", "load", "tempo")
PHASE_TEXT_FIELDS = ("name", "notes_for_patient")
LIST_FIELDS = ("steps", "cautions", "stop_signs")
_NUMBER = re.compile(r"\d+")
_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w*\}")


class TranslationError(Exception):
    """A translation file is malformed. The message names the file, slug and field."""


@dataclasses.dataclass(frozen=True)
class ExerciseText:
    slug: str
    source: str
    name: str
    purpose: str
    steps: tuple[str, ...]
    cautions: tuple[str, ...] = ()
    stop_signs: tuple[str, ...] = ()
    illustration_alt: str = ""

    def model_fields(self) -> dict[str, str]:
        return {
            "name": self.name,
            "purpose": self.purpose,
            "steps": "\n".join(self.steps),
            "cautions": "\n".join(self.cautions),
            "stop_signs": "\n".join(self.stop_signs),
            "illustration_alt": self.illustration_alt,
        }


@dataclasses.dataclass(frozen=True)
class ProtocolText:
    slug: str
    source: str
    name: str
    condition: str = ""
    description: str = ""
    goals: str = ""
    notes_for_patient: str = ""
    # Position in the protocol (from 1) -> {"instructions": ..., "load": ..., "tempo": ...}
    items: Mapping[int, Mapping[str, str]] = dataclasses.field(default_factory=dict)
    # Phase number (from 1) -> {"name": ..., "notes_for_patient": ...}
    phases: Mapping[int, Mapping[str, str]] = dataclasses.field(default_factory=dict)

    def model_fields(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "condition": self.condition,
            "description": self.description,
            "goals": self.goals,
            "notes_for_patient": self.notes_for_patient,
            "item_texts": {str(k): dict(v) for k, v in sorted(self.items.items())},
            "phase_texts": {str(k): dict(v) for k, v in sorted(self.phases.items())},
        }


@dataclasses.dataclass(frozen=True)
class PageText:
    """An education page's words (education.toml) in another language."""

    slug: str
    source: str
    title: str
    summary: str
    body: str

    def model_fields(self) -> dict[str, str]:
        return {"title": self.title, "summary": self.summary, "body": self.body}


@dataclasses.dataclass(frozen=True)
class LanguageFile:
    language: str
    exercises: Mapping[str, ExerciseText]
    protocols: Mapping[str, ProtocolText]
    pages: Mapping[str, PageText] = dataclasses.field(default_factory=dict)


# --- Fingerprints of the English ----------------------------------------------------


def _fingerprint(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def exercise_source(exercise: Any) -> str:
    """The fingerprint of a LibraryExercise's English words."""
    return _fingerprint(
        [
            exercise.name,
            exercise.purpose,
            list(exercise.steps),
            list(exercise.cautions),
            list(exercise.stop_signs),
            exercise.illustration_alt,
        ]
    )


def protocol_source(protocol: Any) -> str:
    """The fingerprint of a LibraryProtocol's English words."""
    return _fingerprint(
        [
            protocol.name,
            protocol.condition,
            protocol.description,
            protocol.goals,
            protocol.notes_for_patient,
            [[getattr(item, f) for f in ITEM_TEXT_FIELDS] for item in protocol.items],
            [[getattr(phase, f) for f in PHASE_TEXT_FIELDS] for phase in protocol.phases],
        ]
    )


def page_source(page: Any) -> str:
    """The fingerprint of a LibraryPage's English words (its sources are not translated:
    they are for the therapist)."""
    return _fingerprint([page.title, page.summary, page.body])


# --- Parsing ------------------------------------------------------------------------


def _text(table: Mapping[str, Any], name: str, where: str, *, required: bool = False) -> str:
    value = table.get(name, "")
    if not isinstance(value, str):
        raise TranslationError(f"{where}: field {name!r} must be text.")
    if required and not value.strip():
        raise TranslationError(f"{where}: field {name!r} is missing.")
    return value.strip()


def _lines(table: Mapping[str, Any], name: str, where: str) -> tuple[str, ...]:
    value = table.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise TranslationError(f"{where}: field {name!r} must be a list of sentences.")
    return tuple(v.strip() for v in value)


def _check_keys(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise TranslationError(f"{where}: unknown field {unknown[0]!r}.")


def parse_language_file(data: Mapping[str, Any], language: str) -> LanguageFile:
    exercises: dict[str, ExerciseText] = {}
    for slug, table in data.get("exercise", {}).items():
        where = f"{language}: exercise {slug!r}"
        if not isinstance(table, dict):
            raise TranslationError(f"{where}: must be a table.")
        _check_keys(
            table,
            {"source", "name", "purpose", *LIST_FIELDS, "illustration_alt"},
            where,
        )
        exercises[slug] = ExerciseText(
            slug=slug,
            source=_text(table, "source", where, required=True),
            name=_text(table, "name", where, required=True),
            purpose=_text(table, "purpose", where),
            steps=_lines(table, "steps", where),
            cautions=_lines(table, "cautions", where),
            stop_signs=_lines(table, "stop_signs", where),
            illustration_alt=_text(table, "illustration_alt", where),
        )
    protocols: dict[str, ProtocolText] = {}
    for slug, table in data.get("protocol", {}).items():
        where = f"{language}: protocol {slug!r}"
        if not isinstance(table, dict):
            raise TranslationError(f"{where}: must be a table.")
        _check_keys(
            table,
            {
                "source",
                "name",
                "condition",
                "description",
                "goals",
                "notes_for_patient",
                "item",
                "phase",
            },
            where,
        )
        phases: dict[int, dict[str, str]] = {}
        for key, phase in table.get("phase", {}).items():
            if not str(key).isdigit() or not isinstance(phase, dict):
                raise TranslationError(f"{where}: phase {key!r} must be a number (1, 2, ...).")
            _check_keys(phase, set(PHASE_TEXT_FIELDS), f"{where}, phase {key}")
            phases[int(key)] = {f: _text(phase, f, f"{where}, phase {key}") for f in phase}
        items: dict[int, dict[str, str]] = {}
        for key, item in table.get("item", {}).items():
            if not str(key).isdigit() or not isinstance(item, dict):
                raise TranslationError(f"{where}: item {key!r} must be a position (1, 2, ...).")
            _check_keys(item, set(ITEM_TEXT_FIELDS), f"{where}, item {key}")
            items[int(key)] = {f: _text(item, f, f"{where}, item {key}") for f in item}
        protocols[slug] = ProtocolText(
            slug=slug,
            source=_text(table, "source", where, required=True),
            name=_text(table, "name", where, required=True),
            condition=_text(table, "condition", where),
            description=_text(table, "description", where),
            goals=_text(table, "goals", where),
            notes_for_patient=_text(table, "notes_for_patient", where),
            items=items,
            phases=phases,
        )
    pages: dict[str, PageText] = {}
    for slug, table in data.get("education", {}).items():
        where = f"{language}: education page {slug!r}"
        if not isinstance(table, dict):
            raise TranslationError(f"{where}: must be a table.")
        _check_keys(table, {"source", "title", "summary", "body"}, where)
        pages[slug] = PageText(
            slug=slug,
            source=_text(table, "source", where, required=True),
            title=_text(table, "title", where, required=True),
            summary=_text(table, "summary", where),
            body=_text(table, "body", where),
        )
    return LanguageFile(language=language, exercises=exercises, protocols=protocols, pages=pages)


@functools.cache
def _parsed_files() -> tuple[LanguageFile, ...]:
    files = []
    for path in sorted(TRANSLATIONS_DIR.glob("*.toml")):
        with path.open("rb") as f:
            files.append(parse_language_file(tomllib.load(f), path.stem))
    return tuple(files)


def library_translations() -> tuple[LanguageFile, ...]:
    """The shipped translation files of the languages Rehabit speaks (settings.LANGUAGES)."""
    spoken = {code for code, _name in settings.LANGUAGES}
    return tuple(f for f in _parsed_files() if f.language in spoken)


# --- Checks -------------------------------------------------------------------------


def _numbers(text: str) -> list[str]:
    return sorted(_NUMBER.findall(text))


def _placeholders(text: str) -> list[str]:
    return sorted(_PLACEHOLDER.findall(text))


def _compare(english: str, translated: str, where: str) -> list[str]:
    problems = []
    if _numbers(english) != _numbers(translated):
        problems.append(
            f"{where}: the numbers differ ({', '.join(_numbers(english)) or 'none'} in English, "
            f"{', '.join(_numbers(translated)) or 'none'} here)."
        )
    if _placeholders(english) != _placeholders(translated):
        problems.append(f"{where}: the placeholders differ from the English.")
    return problems


def _paragraphs(text: str) -> int:
    return len([block for block in text.split("\n\n") if block.strip()])


def _matched(
    kind: str,
    english: Sequence[Any],
    translated: Mapping[str, Any],
    source: Any,
    language: str,
    problems: list[str],
) -> list[tuple[str, Any, Any]]:
    """Pair each English entry with its translation, noting in `problems` the
    translations of entries that do not exist, the missing ones and the ones made from
    an older English. Returns (where, english, translation) for each translated entry."""
    known = {entry.slug for entry in english}
    for slug in sorted(set(translated) - known):
        problems.append(f"{language}: {kind} {slug!r} is not in the library.")
    pairs = []
    for entry in english:
        where = f"{language}: {kind} {entry.slug!r}"
        text = translated.get(entry.slug)
        if text is None:
            problems.append(f"{where}: no translation.")
            continue
        now = source(entry)
        if text.source != now:
            problems.append(
                f"{where}: the English changed since it was translated (source "
                f"{text.source!r}, now {now!r}): update the translation and its source."
            )
        pairs.append((where, entry, text))
    return pairs


def _part_problems(
    english: Any, texts: Mapping[str, str], fields: Sequence[str], where: str
) -> list[str]:
    """A protocol's item or phase: each field translated exactly when it has English."""
    problems: list[str] = []
    for name in fields:
        source = getattr(english, name)
        if source and not texts.get(name):
            problems.append(f"{where}: field {name!r} is missing.")
        elif texts.get(name) and not source:
            problems.append(f"{where}: {name!r} has no English.")
        else:
            problems += _compare(source, texts.get(name, ""), f"{where}, {name}")
    return problems


def page_problems(pages: Sequence[Any], files: Sequence[LanguageFile]) -> list[str]:
    """The education pages' translations: each page translated from its current
    English, with as many paragraphs and the same numbers."""
    problems: list[str] = []
    for file in files:
        for where, page, text in _matched(
            "education page", pages, file.pages, page_source, file.language, problems
        ):
            for name in ("title", "summary", "body"):
                english, translated = getattr(page, name), getattr(text, name)
                if english and not translated:
                    problems.append(f"{where}: field {name!r} is missing.")
                problems += _compare(english, translated, f"{where}, {name}")
            if _paragraphs(page.body) != _paragraphs(text.body):
                problems.append(
                    f"{where}: body has {_paragraphs(text.body)} paragraphs, the English "
                    f"{_paragraphs(page.body)}."
                )
    return problems


def translation_problems(
    exercises: Sequence[Any], protocols: Sequence[Any], files: Sequence[LanguageFile]
) -> list[str]:
    """Everything a translator must fix, one sentence each (empty when all is well)."""
    problems: list[str] = []
    for file in files:
        lang = file.language
        for where, exercise, text in _matched(
            "exercise", exercises, file.exercises, exercise_source, lang, problems
        ):
            for name in ("purpose", "illustration_alt"):
                english = getattr(exercise, name)
                if english and not getattr(text, name):
                    problems.append(f"{where}: field {name!r} is missing.")
                problems += _compare(english, getattr(text, name), f"{where}, {name}")
            problems += _compare(exercise.name, text.name, f"{where}, name")
            for name in LIST_FIELDS:
                english_lines, lines = getattr(exercise, name), getattr(text, name)
                if len(english_lines) != len(lines):
                    problems.append(
                        f"{where}: {name} has {len(lines)} entries, the English "
                        f"{len(english_lines)}."
                    )
                    continue
                for n, (en, tr) in enumerate(zip(english_lines, lines, strict=True), 1):
                    problems += _compare(en, tr, f"{where}, {name} {n}")
        for where, protocol, ptext in _matched(
            "protocol", protocols, file.protocols, protocol_source, lang, problems
        ):
            for name in ("condition", "description", "goals", "notes_for_patient"):
                english = getattr(protocol, name)
                if english and not getattr(ptext, name):
                    problems.append(f"{where}: field {name!r} is missing.")
                elif english.count("\n") != getattr(ptext, name).count("\n"):
                    problems.append(f"{where}: {name} has a different number of lines.")
                problems += _compare(english, getattr(ptext, name), f"{where}, {name}")
            for number in sorted(set(ptext.phases) - set(range(1, len(protocol.phases) + 1))):
                problems.append(f"{where}: phase {number} is not in the protocol.")
            for number, phase in enumerate(protocol.phases, start=1):
                problems += _part_problems(
                    phase,
                    ptext.phases.get(number, {}),
                    PHASE_TEXT_FIELDS,
                    f"{where}, phase {number}",
                )
            for position, item in enumerate(protocol.items, start=1):
                problems += _part_problems(
                    item,
                    ptext.items.get(position, {}),
                    ITEM_TEXT_FIELDS,
                    f"{where}, item {position}",
                )
    return problems
