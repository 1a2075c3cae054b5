"""The plan builder's work: searching the library, checking a plan while it is
edited, and saving it with all its exercises at once.

The admin views (prescriptions.admin.builder) are thin: they parse the request,
call these, and answer JSON. Everything here runs in the request's clinic scope,
so the library holds the clinic's own exercises and the shared ones, and nothing
of another clinic can be found, added or saved.
"""

from __future__ import annotations

import datetime
import functools
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from clinic.constraints import decide
from clinic.models import Clinic, Patient, Therapist
from clinic.widgets import DateBox
from prescriptions import dosage, history, plans
from prescriptions.handouts import PlanLoad, load_warnings, plan_load
from prescriptions.models import (
    DOSAGE_FIELD_NAMES,
    Exercise,
    ExerciseTranslation,
    Plan,
    PlanItem,
    PlanTemplate,
)

# Cards shown at once: a screenful and a bit; a narrower search finds the rest.
RESULT_LIMIT = 48
# What a plan row holds besides the exercise: the dosage and the therapist's words.
ROW_FIELDS = (*DOSAGE_FIELD_NAMES, "load", "tempo", "instructions")
PLAN_FIELDS = ("title", "condition", "start_date", "end_date", "goals", "notes_for_patient")

FACETS: dict[str, type[models.Choices]] = {
    "category": Exercise.Category,
    "body_region": Exercise.BodyRegion,
    "equipment": Exercise.Equipment,
    "difficulty": Exercise.Difficulty,
}


# --- The library -----------------------------------------------------------------------


@functools.lru_cache(maxsize=8192)
def normalise(text: str) -> str:
    """Text as the search compares it: case-folded, accents dropped ("Übung" → "ubung")."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


@dataclass(frozen=True)
class LibraryQuery:
    """A search of the library: words, and filters that combine (any value within a
    filter, every filter at once)."""

    text: str = ""
    filters: Mapping[str, frozenset[str]] = field(default_factory=dict)
    own: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> LibraryQuery:
        """From a query string; unknown filter values are dropped, not an error."""
        getlist = getattr(params, "getlist", lambda name: [params.get(name)])
        filters = {}
        for name, choices in FACETS.items():
            allowed = {str(value) for value in choices.values}
            chosen = frozenset(str(v) for v in getlist(name) if str(v) in allowed)
            if chosen:
                filters[name] = chosen
        text = str(params.get("q") or "")[:200]
        return cls(text=text, filters=filters, own=params.get("own") in ("1", "true", "on"))

    @property
    def words(self) -> list[str]:
        return normalise(self.text).split()


LIBRARY_COLUMNS = (
    "id",
    "clinic_id",
    "name",
    "slug",
    "category",
    "body_region",
    "equipment",
    "difficulty",
    "purpose",
    "steps",
    "illustration",
    "illustration_alt",
    "easier_id",
    "harder_id",
    *DOSAGE_FIELD_NAMES,
)


@dataclass
class _Row:
    values: dict[str, Any]
    facets: dict[str, str]
    name: str
    haystack: str


def _row(values: dict[str, Any], version: ExerciseTranslation | None = None) -> _Row:
    # Both languages are searched; the name shown (and sorted by) is the asker's.
    translated = f"{version.name}\n{version.purpose}\n{version.steps}" if version else ""
    return _Row(
        values=values,
        facets={name: str(values[name]) for name in FACETS},
        name=normalise(version.name if version and version.name else values["name"]),
        haystack=normalise(
            f"{values['name']}\n{values['purpose']}\n{values['steps']}\n{translated}"
        ),
    )


def versions(ids: Iterable[int] | None = None) -> dict[int, ExerciseTranslation]:
    """The exercises' versions in the asker's language (the admin's, not the patient's),
    when it is not the library's original: a German-speaking therapist reads and finds
    "Gesäßbrücke" where the original says "Glute bridge". One query; every exercise's
    when `ids` is None."""
    language = (translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]
    if language == settings.LANGUAGE_CODE.split("-")[0]:
        return {}
    rows = ExerciseTranslation.objects.filter(language=language)
    if ids is not None:
        rows = rows.filter(exercise_id__in=list(ids))
    return {row.exercise_id: row for row in rows}


def _labels() -> dict[str, dict[str, str]]:
    """Each filter's labels in the active language, looked up once per request."""
    return {
        name: {str(value): str(label) for value, label in choices.choices}
        for name, choices in FACETS.items()
    }


def card(
    exercise: Exercise,
    labels: dict[str, dict[str, str]] | None = None,
    version: ExerciseTranslation | None = None,
) -> dict[str, Any]:
    """What the builder shows of an exercise, and what adding it starts from: in the
    asker's language when `version` (from `versions`) is given."""
    labels = labels or _labels()
    if version is not None:
        exercise = version.applied_to(exercise)
    return {
        "id": exercise.pk,
        "name": exercise.name,
        "category": labels["category"].get(exercise.category, exercise.category),
        "body_region": labels["body_region"].get(exercise.body_region, exercise.body_region),
        "equipment": labels["equipment"].get(exercise.equipment, exercise.equipment),
        "difficulty": labels["difficulty"].get(str(exercise.difficulty), ""),
        "own": exercise.clinic_id is not None,
        "picture": exercise.illustration_url(),
        "alt": exercise.illustration_text(),
        "purpose": exercise.purpose,
        "dosage_text": dosage.describe(exercise),
        "dosage": exercise.dosage_dict(),
        "easier": exercise.easier_id,
        "harder": exercise.harder_id,
    }


def search_library(query: LibraryQuery) -> dict[str, Any]:
    """Matching cards with a count for every filter value. One query, however many
    exercises: the library (a few hundred rows) is read as plain values and filtered
    here, where accents and partial words behave the same on every database; only
    the cards shown become model instances."""
    words = query.words
    translated = versions()
    rows = [
        _row(values, translated.get(values["id"]))
        for values in Exercise.objects.filter(is_active=True).values(*LIBRARY_COLUMNS)
    ]

    def passes(row: _Row, skip: str | None = None) -> bool:
        if any(word not in row.haystack for word in words):
            return False
        if query.own and skip != "own" and row.values["clinic_id"] is None:
            return False
        return all(
            row.facets[name] in chosen for name, chosen in query.filters.items() if name != skip
        )

    labels = _labels()
    facets: dict[str, Any] = {}
    for name in FACETS:
        counts = dict.fromkeys(labels[name], 0)
        for row in rows:
            if passes(row, skip=name):
                counts[row.facets[name]] += 1
        chosen = query.filters.get(name, frozenset())
        facets[name] = [
            {"value": value, "label": label, "count": counts[value], "on": value in chosen}
            for value, label in labels[name].items()
        ]
    facets["own"] = sum(
        1 for row in rows if row.values["clinic_id"] is not None and passes(row, skip="own")
    )
    found = [row for row in rows if passes(row)]
    # Exercises named by the search words first, then the rest, each by name.
    found.sort(key=lambda row: (not all(word in row.name for word in words), row.name))
    return {
        "total": len(found),
        "library_size": len(rows),
        "results": [
            card(Exercise(**row.values), labels, translated.get(row.values["id"]))
            for row in found[:RESULT_LIMIT]
        ],
        "facets": facets,
    }


def cards_for(ids: Iterable[int], *, active_only: bool = True) -> list[dict[str, Any]]:
    """Cards of the given exercises (a variant to swap in), in one query."""
    wanted = list(ids)[:20]
    exercises = Exercise.objects.filter(pk__in=wanted)
    if active_only:
        exercises = exercises.filter(is_active=True)
    words = versions(wanted)
    return [card(e, version=words.get(e.pk)) for e in exercises]


def protocol_rows(template: PlanTemplate, language: str) -> list[dict[str, Any]]:
    """A protocol's exercises as plan rows, as starting a plan from it makes them
    (plans.starting_values: phase 1's if it has phases, the instructions in the
    patient's `language`), to add to the plan being built."""
    items = list(template.starting_items().select_related("exercise"))
    values = plans.starting_values(items, plans.template_words(template, language))
    words = versions(item.exercise_id for item in items)
    labels = _labels()
    return [
        {
            "id": None,
            "exercise": card(item.exercise, labels, words.get(item.exercise_id)),
            **{name: row[name] for name in ROW_FIELDS},
        }
        for item, row in zip(items, values, strict=True)
        if item.exercise.is_active
    ]


def row_values(item: Any) -> dict[str, Any]:
    return {name: getattr(item, name) for name in ROW_FIELDS}


def plan_rows(items: Sequence[PlanItem]) -> list[dict[str, Any]]:
    labels = _labels()
    words = versions(item.exercise_id for item in items) if items else {}
    return [
        {
            "id": item.pk,
            "exercise": card(item.exercise, labels, words.get(item.exercise_id)),
            **row_values(item),
        }
        for item in items
    ]


# --- Checking what was sent ----------------------------------------------------------------


class RowForm(forms.ModelForm[PlanItem]):
    """One plan row's dosage: the model's own fields, validators and constraints."""

    class Meta:
        model = PlanItem
        fields = list(ROW_FIELDS)

    def validate_constraints(self) -> None:
        # The model's check constraints, decided in Python (clinic.constraints.decide):
        # the same rules the database enforces, without a query per row and rule.
        # Only the rules on the row's own fields: the row is not attached to a plan.
        exclude: set[str] = self._get_validation_exclusions()  # type: ignore[attr-defined]
        errors: dict[str, list[str]] = {}
        for constraint in PlanItem._meta.constraints:
            if not isinstance(constraint, models.CheckConstraint):
                continue
            refs = PlanItem._get_expr_references(constraint.condition)  # type: ignore[attr-defined]
            names = {ref[0] for ref in refs}
            if names & exclude or not names <= set(ROW_FIELDS):
                continue
            verdict = decide(constraint, self.instance)
            if verdict is None:
                raise NotImplementedError(f"{constraint.name} cannot be decided in Python.")
            if not verdict:
                target = getattr(constraint, "field", None) or NON_FIELD_ERRORS
                errors.setdefault(target, []).append(str(constraint.violation_error_message))
        if errors:
            self._update_errors(ValidationError(errors))  # type: ignore[attr-defined]


class PlanHeaderForm(forms.ModelForm[Plan]):
    class Meta:
        model = Plan
        fields = list(PLAN_FIELDS)
        widgets = {
            "start_date": DateBox(),
            "end_date": DateBox(),
            "goals": forms.Textarea(attrs={"rows": 2}),
            "notes_for_patient": forms.Textarea(attrs={"rows": 2}),
        }


def _as_id(value: Any) -> int | None:
    """A row's exercise or item id as sent: a positive whole number, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 2**31 else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 10:
        return int(value)
    return None


@dataclass
class CheckedRows:
    """The rows as sent, checked: unsaved items (or saved ones, changed) and what is wrong."""

    items: list[PlanItem] = field(default_factory=list)
    # Row index → field → messages ("__all__" for the row as a whole).
    errors: dict[int, dict[str, list[str]]] = field(default_factory=dict)
    # Messages about the plan as a whole (too many rows, not a list).
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.problems


def check_rows(raw: Any, *, patient: Patient, plan: Plan | None) -> CheckedRows:
    """Turn the rows a browser sent into plan items, or say what is wrong with each.

    Exercises must be in the asker's library (the clinic's own or the shared one) and
    available, except that a row already in the plan keeps its exercise even if it
    has since been retired. Two queries at most, whatever the number of rows.
    """
    result = CheckedRows()
    if not isinstance(raw, list):
        result.problems.append(_("The plan's exercises were not sent as a list."))
        return result
    try:
        # The clinic's limit (Clinic.max_plan_exercises), checked before any row is read.
        (plan or Plan(patient=patient)).check_exercise_count(len(raw))
    except ValidationError as error:
        result.problems.extend(error.messages)
        return result
    rows = [row if isinstance(row, dict) else {} for row in raw]
    existing: dict[int, PlanItem] = {}
    if plan is not None and plan.pk:
        existing = {item.pk: item for item in plan.items.all()}
    wanted = {i for i in (_as_id(row.get("exercise")) for row in rows) if i is not None}
    # The patient's clinic's library: the same as the asker's scope, except for a
    # superuser, whose scope holds every clinic's own exercises.
    library = Exercise.objects.filter(Q(clinic=None) | Q(clinic_id=patient.clinic_id))
    found = {e.pk: e for e in library.filter(pk__in=wanted)} if wanted else {}
    kept_exercises = {item.exercise_id for item in existing.values()}
    claimed: set[int] = set()
    for index, row in enumerate(rows):
        exercise_id = _as_id(row.get("exercise"))
        exercise = found.get(exercise_id) if exercise_id else None
        if exercise is None:
            result.errors[index] = {
                "exercise": [_("This exercise is not in your clinic's library.")]
            }
            continue
        if not exercise.is_active and exercise.pk not in kept_exercises:
            result.errors[index] = {
                "exercise": [
                    _("“%(name)s” is retired and cannot be prescribed.") % {"name": exercise.name}
                ]
            }
            continue
        item_id = _as_id(row.get("id"))
        instance = existing.get(item_id) if item_id and item_id not in claimed else None
        if instance is not None and instance.exercise_id != exercise.pk:
            # A swapped exercise is a new row: the old one's logs stay with the old exercise.
            instance = None
        if instance is not None:
            claimed.add(instance.pk)
        else:
            instance = PlanItem(plan=plan)
        # The rows are counted together above, not one by one as they are cleaned.
        instance.counted_by_formset = True
        instance.exercise = exercise
        data = {name: row.get(name) for name in ROW_FIELDS}
        for name in ("load", "tempo", "instructions"):
            if data[name] is None:
                data[name] = ""
        form = RowForm(data=data, instance=instance)
        if not form.is_valid():
            result.errors[index] = {
                name: list(dict.fromkeys(str(m) for m in messages))
                for name, messages in form.errors.items()
            }
            continue
        result.items.append(form.instance)
    return result


def describe_rows(items: Sequence[PlanItem], *, clinic: Clinic, language: str) -> dict[str, Any]:
    """The dosage read back as the patient will read it (in their language), the time
    it takes, and the clinic's warnings."""
    with translation.override(language or settings.LANGUAGE_CODE):
        texts = [dosage.describe(item) for item in items]
    load = plan_load(list(items), clinic)
    return {
        "texts": texts,
        "minutes": [dosage.minutes(dosage.session_seconds(item)) for item in items],
        "session_minutes": load.session_minutes,
        "daily_minutes": load.daily_minutes,
        "warnings": builder_warnings(load, clinic),
        "totals": ngettext(
            "%(count)d exercise: about %(session)d minutes a session, %(daily)d minutes a day.",
            "%(count)d exercises: about %(session)d minutes a session, %(daily)d minutes a day.",
            load.exercise_count,
        )
        % {
            "count": load.exercise_count,
            "session": load.session_minutes,
            "daily": load.daily_minutes,
        },
    }


def builder_warnings(load: PlanLoad, clinic: Clinic) -> list[str]:
    warnings = load_warnings(load, clinic)
    limit = clinic.max_plan_exercises
    if load.exercise_count >= limit:
        warnings.append(
            _("This plan is at your clinic's limit of %(limit)d exercises.") % {"limit": limit}
        )
    return warnings


# --- Saving -----------------------------------------------------------------------------


class StaleRevision(Exception):
    """Someone saved the plan after the builder loaded it."""

    def __init__(self, current: int) -> None:
        super().__init__(current)
        self.current = current


@transaction.atomic
@history.batch()
def save_plan(
    plan: Plan,
    items: list[PlanItem],
    *,
    revision: int | None,
) -> bool:
    """Write the plan and all its rows, in the order given, in one transaction.

    A new plan is created as a draft (one started from a protocol is created by
    plans.start_plan_from_template instead, as from the protocol's page). A saved plan
    is locked and its revision compared with the one the editor started from: if a
    colleague saved in between, nothing is written (StaleRevision). Rows no longer
    listed leave the plan (plans.remove_items: ended when logged, else deleted); the
    revision goes up once, and only when something changed.
    Returns whether anything was written.
    """
    if plan.pk is None:
        plan.status = Plan.Status.DRAFT
        plan.save()
        for position, item in enumerate(items, start=1):
            item.plan, item.order = plan, position
        PlanItem.objects.bulk_create(items)
        history.plan_changed(plan)
        return True
    current = Plan.objects.select_for_update().get(pk=plan.pk)
    if revision != current.revision:
        raise StaleRevision(current.revision)
    before = {item.pk: item for item in current.items.all()}
    changed = any(getattr(current, name) != getattr(plan, name) for name in PLAN_FIELDS)
    kept = {item.pk for item in items if item.pk}
    gone = [pk for pk in before if pk not in kept]
    for position, item in enumerate(items, start=1):
        item.plan, item.order = current, position
        old = before.get(item.pk) if item.pk else None
        if (
            old is None
            or any(
                getattr(old, name) != getattr(item, name) for name in (*ROW_FIELDS, "exercise_id")
            )
            or old.order != position
        ):
            changed = True
    if not changed and not gone:
        return False
    plan.revision = current.revision
    plan.save(update_fields=[*PLAN_FIELDS, "updated_at"])
    plans.remove_items(current, gone)
    # Park the rows far away first: moving row 3 to 1 must not clash on (plan, order).
    PlanItem.objects.filter(plan=current).update(order=F("order") + 10_000)
    saved = [item for item in items if item.pk]
    if saved:
        PlanItem.objects.bulk_update(saved, [*ROW_FIELDS, "exercise", "order"])
    new = [item for item in items if not item.pk]
    if new:
        PlanItem.objects.bulk_create(new)
    Plan.objects.filter(pk=plan.pk).update(revision=F("revision") + 1)
    plan.refresh_from_db(fields=["revision", "updated_at"])
    history.plan_changed(plan)
    return True


def new_plan(patient: Patient, therapist: Therapist | None) -> Plan:
    """An unsaved draft for the patient, starting today (clinic time)."""
    return Plan(
        patient=patient,
        therapist=therapist,
        title="",
        start_date=patient.clinic.today(),
        status=Plan.Status.DRAFT,
    )


def plan_values(plan: Plan) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        return value.isoformat() if isinstance(value, datetime.date) else value

    return {name: plain(getattr(plan, name)) for name in PLAN_FIELDS}
