"""Load the shipped exercise library and protocols into the database.

The TOML files next to this module are the source of truth for the *shared*
library (rows with clinic = empty). Loading is idempotent: rows are matched by
slug and updated in place, so a rerun creates nothing and a changed sentence in
the data file updates the one row it belongs to. A clinic's own exercises and
templates are never read or written here, even when they use the same slug.
"""

from __future__ import annotations

import dataclasses
import functools
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

from clinic.scoping import scope
from prescriptions.library.languages import LanguageFile, library_translations
from prescriptions.models import (
    DOSAGE_FIELD_NAMES,
    DosageFields,
    EducationPage,
    EducationPageTranslation,
    Exercise,
    ExerciseTranslation,
    PlanTemplate,
    PlanTemplateTranslation,
    TemplateItem,
    TemplatePhase,
)

LIBRARY_DIR = Path(__file__).resolve().parent
EXERCISES_FILE = LIBRARY_DIR / "exercises.toml"
PROTOCOLS_FILE = LIBRARY_DIR / "protocols.toml"
EDUCATION_FILE = LIBRARY_DIR / "education.toml"

AMOUNT_FIELDS = ("reps", "hold_seconds", "duration_minutes")


class LibraryError(Exception):
    """The library data is wrong. The message names the slug and the field."""


# --- The parsed catalogue ----------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LibraryExercise:
    slug: str
    name: str
    category: str
    body_region: str
    equipment: str
    difficulty: int
    purpose: str
    steps: tuple[str, ...]
    cautions: tuple[str, ...]
    stop_signs: tuple[str, ...]
    sets: int
    rest_seconds: int
    side: str
    times_per_day: int
    days_per_week: int
    reps: int | None = None
    hold_seconds: int | None = None
    duration_minutes: int | None = None
    easier: str | None = None
    harder: str | None = None
    # Not written in exercises.toml: the drawing's own description in poses.toml
    # (see with_pose_descriptions), so that picture and words cannot drift apart.
    illustration_alt: str = ""

    def dosage(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in DOSAGE_FIELD_NAMES}

    def model_fields(self) -> dict[str, Any]:
        """Exercise field values, without the easier/harder links (set in a second pass)."""
        return {
            "name": self.name,
            "category": self.category,
            "body_region": self.body_region,
            "equipment": self.equipment,
            "difficulty": self.difficulty,
            "purpose": self.purpose,
            # The model keeps one step, caution or sign per line.
            "steps": "\n".join(self.steps),
            "cautions": "\n".join(self.cautions),
            "stop_signs": "\n".join(self.stop_signs),
            "illustration_alt": self.illustration_alt,
            **self.dosage(),
        }


@dataclasses.dataclass(frozen=True)
class LibraryItem:
    """One exercise in a protocol. Dosage fields left as None take the exercise's default."""

    exercise: str
    sets: int | None = None
    reps: int | None = None
    hold_seconds: int | None = None
    duration_minutes: int | None = None
    rest_seconds: int | None = None
    side: str | None = None
    times_per_day: int | None = None
    days_per_week: int | None = None
    load: str = ""
    tempo: str = ""
    instructions: str = ""
    # Set from the [[protocol.phase]] the item is listed under, not written per item.
    phase: int = 1

    def dosage(self, default: Mapping[str, Any]) -> dict[str, Any]:
        dosage = dict(default)
        if any(getattr(self, name) is not None for name in AMOUNT_FIELDS):
            # "hold_seconds = 30" on its own means a held stretch, not 30 s plus
            # the exercise's default repetitions.
            for name in AMOUNT_FIELDS:
                dosage[name] = None
        for name in DOSAGE_FIELD_NAMES:
            value = getattr(self, name)
            if value is not None:
                dosage[name] = value
        return dosage


@dataclasses.dataclass(frozen=True)
class LibraryPhase:
    """One stage of a protocol; its exercises are the protocol's items with its number."""

    name: str
    criteria: tuple[str, ...]
    notes_for_patient: str = ""

    def model_fields(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "criteria": "\n".join(self.criteria),
            "notes_for_patient": self.notes_for_patient,
        }


@dataclasses.dataclass(frozen=True)
class LibraryProtocol:
    slug: str
    name: str
    condition: str
    description: str
    goals: str
    notes_for_patient: str
    # Every item, phase after phase; each knows its phase number.
    items: tuple[LibraryItem, ...]
    duration_weeks: int | None = None
    phases: tuple[LibraryPhase, ...] = ()
    sources: str = ""

    def model_fields(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "condition": self.condition,
            "description": self.description,
            "goals": self.goals,
            "notes_for_patient": self.notes_for_patient,
            "duration_weeks": self.duration_weeks,
            "sources": self.sources,
        }

    def phase_items(self, number: int) -> tuple[LibraryItem, ...]:
        return tuple(item for item in self.items if item.phase == number)


@dataclasses.dataclass(frozen=True)
class LibraryPage:
    """A patient-education page. `body` is plain text; a blank line starts a paragraph."""

    slug: str
    title: str
    summary: str
    body: str
    sources: str

    def model_fields(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "summary": self.summary,
            "body": self.body,
            "sources": self.sources,
        }


def _parse_table(
    table: Mapping[str, Any], cls: type[Any], where: str, *, skip: Iterable[str] = ()
) -> dict[str, Any]:
    """Check a TOML table's keys and value types against a dataclass; return its values."""
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in set(skip)}
    unknown = sorted(set(table) - set(fields) - set(skip))
    if unknown:
        raise LibraryError(f"{where}: unknown field {unknown[0]!r}.")
    values: dict[str, Any] = {}
    for name, field in fields.items():
        has_default = (
            field.default is not dataclasses.MISSING
            or field.default_factory is not dataclasses.MISSING
        )
        if name not in table:
            if not has_default:
                raise LibraryError(f"{where}: field {name!r} is missing.")
            continue
        value = table[name]
        kind = str(field.type)
        if kind.startswith("tuple"):
            if not isinstance(value, list) or not all(
                isinstance(v, str) and v.strip() for v in value
            ):
                raise LibraryError(f"{where}: field {name!r} must be a list of sentences.")
            value = tuple(v.strip() for v in value)
        elif kind.startswith("int"):
            if not isinstance(value, int) or isinstance(value, bool):
                raise LibraryError(f"{where}: field {name!r} must be a whole number.")
        elif not isinstance(value, str):
            raise LibraryError(f"{where}: field {name!r} must be text.")
        else:
            value = value.strip()
        values[name] = value
    return values


def parse_exercises(data: Mapping[str, Any]) -> tuple[LibraryExercise, ...]:
    tables = data.get("exercise", [])
    exercises = []
    for number, table in enumerate(tables, start=1):
        where = f"Exercise {table.get('slug') or f'#{number}'!r}"
        if "illustration_alt" in table:
            raise LibraryError(
                f"{where}: field 'illustration_alt' is not written here: the drawing's "
                "description is the 'alt' of its pose in prescriptions/library/poses.toml."
            )
        values = _parse_table(table, LibraryExercise, where, skip=["illustration_alt"])
        exercises.append(LibraryExercise(**values))
    return tuple(exercises)


def with_pose_descriptions(exercises: Iterable[LibraryExercise]) -> tuple[LibraryExercise, ...]:
    """Each exercise with the description of its drawing, taken from its pose in poses.toml."""
    from prescriptions.illustrations import pose_descriptions

    alts = pose_descriptions()
    return tuple(dataclasses.replace(e, illustration_alt=alts.get(e.slug, "")) for e in exercises)


def parse_protocols(data: Mapping[str, Any]) -> tuple[LibraryProtocol, ...]:
    """Protocols with phases ([[protocol.phase]] and their [[protocol.phase.item]]), or
    without (a plain list of [[protocol.item]], all in one unnamed phase)."""
    protocols = []
    for number, table in enumerate(data.get("protocol", []), start=1):
        where = f"Protocol {table.get('slug') or f'#{number}'!r}"
        values = _parse_table(
            table, LibraryProtocol, where, skip=["items", "item", "phases", "phase"]
        )
        if "phase" in table and "item" in table:
            raise LibraryError(f"{where}: list its items under its phases, not beside them.")
        phases = []
        items: list[LibraryItem] = []
        for phase_number, phase in enumerate(table.get("phase", []), start=1):
            at = f"{where}, phase {phase_number}"
            phases.append(LibraryPhase(**_parse_table(phase, LibraryPhase, at, skip=["item"])))
            if not phase.get("item"):
                raise LibraryError(f"{at}: items: has no exercises.")
            items += _parse_items(phase.get("item", []), at, phase_number)
        items += _parse_items(table.get("item", []), where, 1)
        protocols.append(LibraryProtocol(items=tuple(items), phases=tuple(phases), **values))
    return tuple(protocols)


def _parse_items(tables: Sequence[Mapping[str, Any]], where: str, phase: int) -> list[LibraryItem]:
    return [
        LibraryItem(
            **_parse_table(item, LibraryItem, f"{where}, item {position}", skip=["phase"]),
            phase=phase,
        )
        for position, item in enumerate(tables, start=1)
    ]


@functools.cache
def _parsed_exercises() -> tuple[LibraryExercise, ...]:
    with EXERCISES_FILE.open("rb") as f:
        return parse_exercises(tomllib.load(f))


def library_exercises() -> tuple[LibraryExercise, ...]:
    """The shipped exercise catalogue, in file order, each with its drawing's description."""
    return with_pose_descriptions(_parsed_exercises())


def parse_pages(data: Mapping[str, Any]) -> tuple[LibraryPage, ...]:
    pages = []
    for number, table in enumerate(data.get("page", []), start=1):
        where = f"Education page {table.get('slug') or f'#{number}'!r}"
        pages.append(LibraryPage(**_parse_table(table, LibraryPage, where)))
    return tuple(pages)


@functools.cache
def library_pages() -> tuple[LibraryPage, ...]:
    """The shipped patient-education pages, in file order."""
    with EDUCATION_FILE.open("rb") as f:
        return parse_pages(tomllib.load(f))


@functools.cache
def library_protocols() -> tuple[LibraryProtocol, ...]:
    """The shipped protocols, in file order."""
    with PROTOCOLS_FILE.open("rb") as f:
        return parse_protocols(tomllib.load(f))


# --- Loading -----------------------------------------------------------------


@dataclasses.dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __str__(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclasses.dataclass
class LoadReport:
    exercises: Counts = dataclasses.field(default_factory=Counts)
    templates: Counts = dataclasses.field(default_factory=Counts)
    translations: Counts = dataclasses.field(default_factory=Counts)
    pages: Counts = dataclasses.field(default_factory=Counts)

    @property
    def changed(self) -> bool:
        return any(
            counts.created or counts.updated
            for counts in (self.exercises, self.templates, self.translations, self.pages)
        )


def check_references(
    exercises: Sequence[LibraryExercise], protocols: Sequence[LibraryProtocol]
) -> None:
    """Slugs are unique and every easier/harder link and protocol item names an exercise."""
    slugs: set[str] = set()
    for exercise in exercises:
        if exercise.slug in slugs:
            raise LibraryError(f"Exercise {exercise.slug!r}: slug: listed twice.")
        slugs.add(exercise.slug)
    for exercise in exercises:
        for link in ("easier", "harder"):
            target = getattr(exercise, link)
            if target is None:
                continue
            if target == exercise.slug:
                raise LibraryError(f"Exercise {exercise.slug!r}: {link}: names itself.")
            if target not in slugs:
                raise LibraryError(
                    f"Exercise {exercise.slug!r}: {link}: no exercise with slug {target!r}."
                )
    seen: set[str] = set()
    for protocol in protocols:
        if protocol.slug in seen:
            raise LibraryError(f"Protocol {protocol.slug!r}: slug: listed twice.")
        seen.add(protocol.slug)
        if not protocol.items:
            raise LibraryError(f"Protocol {protocol.slug!r}: items: has no exercises.")
        for position, item in enumerate(protocol.items, start=1):
            if item.exercise not in slugs:
                raise LibraryError(
                    f"Protocol {protocol.slug!r}, item {position}: exercise: "
                    f"no exercise with slug {item.exercise!r}."
                )


def _clean(obj: models.Model, where: str, exclude: list[str] | None = None) -> None:
    """Model validation, reported as a LibraryError naming the row and the field.

    Django checks each CheckConstraint with a query of its own, which made a
    first load run thousands of queries. The field validators already hold the
    same bounds, so only the one constraint they cannot express (a dosage needs
    an amount) is checked here in Python; the database enforces the rest on save.
    """
    try:
        obj.full_clean(exclude=exclude, validate_constraints=False)
        if isinstance(obj, DosageFields) and all(
            getattr(obj, name) is None for name in AMOUNT_FIELDS
        ):
            raise ValidationError({"reps": [_constraint_message(obj, "has_amount")]})
    except ValidationError as error:
        problems = "; ".join(
            f"{'row' if field == '__all__' else field}: {' '.join(messages)}"
            for field, messages in error.message_dict.items()
        )
        raise LibraryError(f"{where}: {problems}") from None


def _constraint_message(obj: models.Model, suffix: str) -> str:
    for constraint in obj._meta.constraints:
        if constraint.name.endswith(suffix):
            return str(constraint.violation_error_message)
    raise LookupError(suffix)


def _save(obj: models.Model, where: str, **kwargs: Any) -> None:
    try:
        # A savepoint, so that the error below is raised from a usable transaction.
        with transaction.atomic():
            obj.save(**kwargs)
    except IntegrityError as error:
        raise LibraryError(f"{where}: the database refused the row ({error}).") from None


def _item_signature(item: TemplateItem) -> tuple[Any, ...]:
    return (
        item.exercise_id,
        item.order,
        item.phase,
        *(getattr(item, name) for name in DOSAGE_FIELD_NAMES),
        item.load,
        item.tempo,
        item.instructions,
    )


def load_library(
    exercises: Sequence[LibraryExercise] | None = None,
    protocols: Sequence[LibraryProtocol] | None = None,
    translations: Sequence[LanguageFile] | None = None,
    pages: Sequence[LibraryPage] | None = None,
) -> LoadReport:
    """Create or update the shared exercises and templates from the catalogue.

    Everything happens in one transaction: bad data raises LibraryError and
    leaves the database as it was.
    """
    # The scope of no clinic: the shared library's rows and nothing else, so a
    # clinic's own exercises and templates are out of reach even by mistake.
    with scope(None), transaction.atomic():
        report = _load(exercises, protocols, translations)
        shared_pages = {p.slug: p for p in EducationPage.objects.shared()}
        report.pages = _load_pages(library_pages() if pages is None else pages, shared_pages)
        _load_page_translations(
            library_translations() if translations is None else translations,
            shared_pages,
            report.translations,
        )
        return report


def _load(
    exercises: Sequence[LibraryExercise] | None,
    protocols: Sequence[LibraryProtocol] | None,
    translations: Sequence[LanguageFile] | None = None,
) -> LoadReport:
    if exercises is None:
        exercises = library_exercises()
    if protocols is None:
        protocols = library_protocols()
    if translations is None:
        translations = library_translations()
    check_references(exercises, protocols)
    report = LoadReport()

    by_slug: dict[str, Exercise] = {
        e.slug: e for e in Exercise.objects.shared().filter(slug__in=[e.slug for e in exercises])
    }
    touched: set[str] = set()
    for data in exercises:
        fields = data.model_fields()
        obj = by_slug.get(data.slug)
        if obj is None:
            obj = Exercise(clinic=None, slug=data.slug, **fields)
            report.exercises.created += 1
        else:
            changed = {k: v for k, v in fields.items() if getattr(obj, k) != v}
            if not changed:
                continue
            for name, value in changed.items():
                setattr(obj, name, value)
            report.exercises.updated += 1
        # Links are set in the second pass, once every row exists.
        _clean(obj, f"Exercise {data.slug!r}", exclude=["easier", "harder"])
        _save(obj, f"Exercise {data.slug!r}")
        by_slug[data.slug] = obj
        touched.add(data.slug)

    for data in exercises:
        obj = by_slug[data.slug]
        easier_id = by_slug[data.easier].pk if data.easier else None
        harder_id = by_slug[data.harder].pk if data.harder else None
        if (obj.easier_id, obj.harder_id) == (easier_id, harder_id):
            continue
        obj.easier_id, obj.harder_id = easier_id, harder_id
        obj.save(update_fields=["easier", "harder", "updated_at"])
        if data.slug not in touched:
            report.exercises.updated += 1
            touched.add(data.slug)
    report.exercises.unchanged = len(exercises) - len(touched)

    templates = {
        t.slug: t
        for t in PlanTemplate.objects.filter(
            clinic=None, slug__in=[p.slug for p in protocols]
        ).prefetch_related("items", "phases")
    }
    for protocol in protocols:
        where = f"Protocol {protocol.slug!r}"
        fields = protocol.model_fields()
        template = templates.get(protocol.slug)
        created = template is None
        dirty = False
        if template is None:
            template = PlanTemplate(clinic=None, slug=protocol.slug, **fields)
            current: list[tuple[Any, ...]] = []
            dirty = True
        else:
            current = [_item_signature(i) for i in sorted(template.items.all(), key=_order)]
            changed = {k: v for k, v in fields.items() if getattr(template, k) != v}
            for name, value in changed.items():
                setattr(template, name, value)
            dirty = bool(changed)
        if dirty:
            _clean(template, where)
            _save(template, where)

        wanted = [
            TemplateItem(
                template=template,
                exercise=by_slug[item.exercise],
                order=position,
                phase=item.phase,
                load=item.load,
                tempo=item.tempo,
                instructions=item.instructions,
                **item.dosage(by_slug[item.exercise].dosage_dict()),
            )
            for position, item in enumerate(protocol.items, start=1)
        ]
        if [_item_signature(i) for i in wanted] != current:
            template.items.all().delete()
            for position, (item, new) in enumerate(zip(protocol.items, wanted, strict=True), 1):
                _clean(new, f"{where}, item {position} ({item.exercise})")
            TemplateItem.objects.bulk_create(wanted)
            dirty = True

        if _sync_phases(template, protocol, created=created):
            dirty = True

        if created:
            report.templates.created += 1
        elif dirty:
            report.templates.updated += 1
        else:
            report.templates.unchanged += 1
        templates[protocol.slug] = template
    _load_translations(translations, by_slug, templates, report.translations)
    return report


def _load_translations(
    files: Sequence[LanguageFile],
    exercises: Mapping[str, Exercise],
    templates: Mapping[str, PlanTemplate],
    counts: Counts,
) -> None:
    """The shared exercises' and protocols' other languages, matched by (row, language).

    A translation of a slug the library does not have is an error; rows of a
    language or slug no longer in the files are deleted (shared rows only).
    """
    kept: set[tuple[str, int, str]] = set()
    existing_exercise_rows = {
        (t.exercise_id, t.language): t
        for t in ExerciseTranslation.objects.filter(exercise__clinic=None)
    }
    existing_template_rows = {
        (t.template_id, t.language): t
        for t in PlanTemplateTranslation.objects.filter(template__clinic=None)
    }
    for file in files:
        for slug, text in file.exercises.items():
            where = f"Translation {file.language}: exercise {slug!r}"
            exercise = exercises.get(slug)
            if exercise is None:
                raise LibraryError(f"{where}: no exercise with this slug.")
            row = existing_exercise_rows.get((exercise.pk, file.language))
            _upsert(
                row,
                ExerciseTranslation,
                {"exercise": exercise, "language": file.language},
                text.model_fields(),
                where,
                counts,
            )
            kept.add(("exercise", exercise.pk, file.language))
        for slug, ptext in file.protocols.items():
            where = f"Translation {file.language}: protocol {slug!r}"
            template = templates.get(slug)
            if template is None:
                raise LibraryError(f"{where}: no protocol with this slug.")
            trow = existing_template_rows.get((template.pk, file.language))
            _upsert(
                trow,
                PlanTemplateTranslation,
                {"template": template, "language": file.language},
                ptext.model_fields(),
                where,
                counts,
            )
            kept.add(("template", template.pk, file.language))
    stale_exercise = [
        row.pk
        for (pk, language), row in existing_exercise_rows.items()
        if ("exercise", pk, language) not in kept
    ]
    stale_template = [
        row.pk
        for (pk, language), row in existing_template_rows.items()
        if ("template", pk, language) not in kept
    ]
    ExerciseTranslation.objects.filter(pk__in=stale_exercise).delete()
    PlanTemplateTranslation.objects.filter(pk__in=stale_template).delete()


def _upsert(
    row: models.Model | None,
    model: type[models.Model],
    keys: dict[str, Any],
    fields: dict[str, Any],
    where: str,
    counts: Counts,
) -> None:
    if row is None:
        row = model(**keys, **fields)
        counts.created += 1
    else:
        changed = {k: v for k, v in fields.items() if getattr(row, k) != v}
        if not changed:
            counts.unchanged += 1
            return
        for name, value in changed.items():
            setattr(row, name, value)
        counts.updated += 1
    _clean(row, where, exclude=list(keys))
    _save(row, where)


def _load_pages(pages: Sequence[LibraryPage], current: dict[str, EducationPage]) -> Counts:
    """Create or update the shared education pages; `current` (the shared pages by slug)
    gains the new ones."""
    counts = Counts()
    slugs = [page.slug for page in pages]
    if len(set(slugs)) != len(slugs):
        twice = next(slug for slug in slugs if slugs.count(slug) > 1)
        raise LibraryError(f"Education page {twice!r}: slug: listed twice.")
    for data in pages:
        where = f"Education page {data.slug!r}"
        fields = data.model_fields()
        page = current.get(data.slug)
        if page is None:
            page = current[data.slug] = EducationPage(clinic=None, slug=data.slug, **fields)
            counts.created += 1
        elif all(getattr(page, k) == v for k, v in fields.items()):
            counts.unchanged += 1
            continue
        else:
            for name, value in fields.items():
                setattr(page, name, value)
            counts.updated += 1
        _clean(page, where)
        _save(page, where)
    return counts


def _load_page_translations(
    files: Sequence[LanguageFile], pages: dict[str, EducationPage], counts: Counts
) -> None:
    """The shared education pages' other languages, matched by (page, language); rows of
    a language or page no longer in the files are deleted (shared pages only)."""
    existing = {
        (t.page_id, t.language): t
        for t in EducationPageTranslation.objects.filter(page__clinic=None)
    }
    kept: set[tuple[int, str]] = set()
    for file in files:
        for slug, text in file.pages.items():
            where = f"Translation {file.language}: education page {slug!r}"
            page = pages.get(slug)
            if page is None:
                raise LibraryError(f"{where}: no education page with this slug.")
            _upsert(
                existing.get((page.pk, file.language)),
                EducationPageTranslation,
                {"page": page, "language": file.language},
                text.model_fields(),
                where,
                counts,
            )
            kept.add((page.pk, file.language))
    stale = [row.pk for key, row in existing.items() if key not in kept]
    EducationPageTranslation.objects.filter(pk__in=stale).delete()


def _order(item: TemplateItem) -> int:
    return item.order


def _sync_phases(template: PlanTemplate, protocol: LibraryProtocol, *, created: bool) -> bool:
    """Update the template's phases in place, matched by number, so that plans pointing
    at a phase keep it; phases the data no longer has are deleted. True if anything changed."""
    current = {} if created else {p.number: p for p in template.phases.all()}
    changed = False
    for number, data in enumerate(protocol.phases, start=1):
        where = f"Protocol {protocol.slug!r}, phase {number}"
        fields = data.model_fields()
        phase = current.pop(number, None)
        if phase is None:
            phase = TemplatePhase(template=template, number=number, **fields)
        elif all(getattr(phase, k) == v for k, v in fields.items()):
            continue
        else:
            for name, value in fields.items():
                setattr(phase, name, value)
        _clean(phase, where)
        _save(phase, where)
        changed = True
    if current:
        TemplatePhase.objects.filter(pk__in=[p.pk for p in current.values()]).delete()
        changed = True
    return changed
