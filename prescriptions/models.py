"""Exercise plans: the exercise library, plans and templates with their dosage, what
patients log, and stored handouts.

The clinical bounds of a prescription and of a log are `Bound`s, each stated once
(clinic.constraints): its field validators and database constraint come from it.
"""

from __future__ import annotations

import copy as _copy
import dataclasses
import datetime
import functools
import logging
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.templatetags.static import static
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.bidi import isolate
from clinic.constraints import Bound, FieldCheckConstraint, PythonCheckConstraint, lazy_format
from clinic.models import PAIN_SCALE, Clinic, Patient, Therapist, language_choices
from clinic.scoping import ScopedManager, ScopedQuerySet
from clinic.uploads import validate_illustration
from prescriptions.outcomes import library as outcome_library
from prescriptions.outcomes.library import Instrument
from prescriptions.outcomes.library import instrument_choices as outcome_instrument_choices

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise as StrPromise
    from django_stubs_ext.db.models.manager import RelatedManager

logger = logging.getLogger(__name__)

# Clinical bounds for a prescription, enforced by the database (see DosageFields).
# They are generous enough for any home programme and catch typos (100 sets,
# a 30-minute hold) before they reach a patient's handout.
SETS_MAX = 10
REPS_MAX = 50
HOLD_SECONDS_MAX = 300
REST_SECONDS_MAX = 600
DURATION_MINUTES_MAX = 60
TIMES_PER_DAY_MAX = 4
DAYS_PER_WEEK_MAX = 7

SETS = Bound(1, SETS_MAX, _("Sets must be between %(low)s and %(high)s."))
REPS = Bound(1, REPS_MAX, _("Repetitions must be between %(low)s and %(high)s."))
HOLD_SECONDS = Bound(1, HOLD_SECONDS_MAX, _("A hold must be between %(low)s and %(high)s seconds."))
DURATION_MINUTES = Bound(
    1, DURATION_MINUTES_MAX, _("A duration must be between %(low)s and %(high)s minutes.")
)
REST_SECONDS = Bound(0, REST_SECONDS_MAX, _("Rest must be at most %(high)s seconds."))
TIMES_PER_DAY = Bound(1, TIMES_PER_DAY_MAX, _("Times a day must be between %(low)s and %(high)s."))
DAYS_PER_WEEK = Bound(1, DAYS_PER_WEEK_MAX, _("Days a week must be between %(low)s and %(high)s."))

# What a patient records about a session (SessionLog, ExerciseLog).
SESSION_NUMBER = Bound(1, TIMES_PER_DAY_MAX, _("There are at most %(high)s sessions a day."))
SYMPTOM_MINUTES = Bound(0, 24 * 60, _("Minutes must be at most a day (%(high)s)."))
SETS_DONE = Bound(0, SETS_MAX, _("Sets done must be between %(low)s and %(high)s."))
COMMENT_MAX_LENGTH = 2000


class Side(models.TextChoices):
    """Which side a prescription is for."""

    NONE = "none", _("both legs together")
    EACH = "each", _("each side")
    LEFT = "left", _("left side")
    RIGHT = "right", _("right side")
    ALTERNATING = "alternating", _("alternating sides")
    # Nerve work is prescribed for the painful leg only; the patient knows which.
    AFFECTED = "affected", _("affected side")


class DosageFields(models.Model):
    """How much of an exercise: shared by the library default, plan items and templates."""

    Side = Side

    sets = models.PositiveSmallIntegerField(_("sets"), default=1, validators=SETS.validators())
    reps = models.PositiveSmallIntegerField(
        _("repetitions"),
        null=True,
        blank=True,
        validators=REPS.validators(),
        help_text=_("Per set. Leave empty for a held stretch or a timed activity."),
    )
    hold_seconds = models.PositiveSmallIntegerField(
        _("hold (seconds)"),
        null=True,
        blank=True,
        validators=HOLD_SECONDS.validators(),
    )
    duration_minutes = models.PositiveSmallIntegerField(
        _("duration (minutes)"),
        null=True,
        blank=True,
        validators=DURATION_MINUTES.validators(),
        help_text=_("For timed activities such as a walking or cycling warm-up."),
    )
    rest_seconds = models.PositiveSmallIntegerField(
        _("rest between sets (seconds)"),
        default=30,
        validators=REST_SECONDS.validators(),
    )
    side = models.CharField(_("side"), max_length=12, choices=Side, default=Side.NONE)
    times_per_day = models.PositiveSmallIntegerField(
        _("times a day"),
        default=1,
        validators=TIMES_PER_DAY.validators(),
    )
    days_per_week = models.PositiveSmallIntegerField(
        _("days a week"),
        default=7,
        validators=DAYS_PER_WEEK.validators(),
    )

    class Meta:
        abstract = True
        constraints = [
            SETS.constraint("sets", name="%(app_label)s_%(class)s_sets_range"),
            REPS.constraint("reps", name="%(app_label)s_%(class)s_reps_range", null=True),
            HOLD_SECONDS.constraint(
                "hold_seconds", name="%(app_label)s_%(class)s_hold_range", null=True
            ),
            DURATION_MINUTES.constraint(
                "duration_minutes", name="%(app_label)s_%(class)s_duration_range", null=True
            ),
            REST_SECONDS.constraint("rest_seconds", name="%(app_label)s_%(class)s_rest_range"),
            TIMES_PER_DAY.constraint(
                "times_per_day", name="%(app_label)s_%(class)s_times_per_day_range"
            ),
            DAYS_PER_WEEK.constraint(
                "days_per_week", name="%(app_label)s_%(class)s_days_per_week_range"
            ),
            FieldCheckConstraint(
                field="reps",
                condition=~Q(reps=None, hold_seconds=None, duration_minutes=None),
                name="%(app_label)s_%(class)s_has_amount",
                violation_error_message=_(
                    "Give repetitions, a hold time or a duration: the patient needs to "
                    "know how much to do."
                ),
            ),
        ]

    def dosage_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in DOSAGE_FIELD_NAMES}


DOSAGE_FIELD_NAMES = (
    "sets",
    "reps",
    "hold_seconds",
    "duration_minutes",
    "rest_seconds",
    "side",
    "times_per_day",
    "days_per_week",
)
# What a plan's row prescribes: the dosage and the therapist's words for it.
PRESCRIBED_FIELD_NAMES = (*DOSAGE_FIELD_NAMES, "load", "tempo", "instructions")


class ExerciseQuerySet(ScopedQuerySet["Exercise"]):
    clinic_path = "clinic"
    shared_rows = True

    def shared(self) -> ExerciseQuerySet:
        """The library that ships with Rehabit, without any clinic's own exercises."""
        return self.filter(clinic=None)


def library_slug_constraints(
    prefix: str, shared_message: StrPromise, clinic_message: StrPromise
) -> list[models.UniqueConstraint]:
    """A library row's short name is unique in the shared library (no clinic) and
    unique within each clinic: the one rule for exercises, templates and pages."""
    return [
        models.UniqueConstraint(
            fields=["slug"],
            condition=Q(clinic=None),
            name=f"{prefix}_shared_slug_unique",
            violation_error_message=shared_message,
        ),
        models.UniqueConstraint(
            fields=["clinic", "slug"],
            name=f"{prefix}_clinic_slug_unique",
            violation_error_message=clinic_message,
        ),
    ]


class Exercise(DosageFields):
    class Category(models.TextChoices):
        NERVE_MOBILISATION = "nerve_mobilisation", _("Nerve mobilisation")
        STRENGTHENING = "strengthening", _("Strengthening")
        STATIC_STRETCH = "static_stretch", _("Static stretch")
        DYNAMIC_WARMUP = "dynamic_warmup", _("Dynamic stretch and warm-up")
        AEROBIC_WARMUP = "aerobic_warmup", _("Aerobic warm-up")
        MOBILITY = "mobility", _("Mobility")
        BALANCE = "balance", _("Balance")

    class BodyRegion(models.TextChoices):
        LOWER_BACK = "lower_back", _("Lower back")
        HIP_BUTTOCK = "hip_buttock", _("Hip and buttock")
        BACK_OF_THIGH = "back_of_thigh", _("Back of thigh")
        FRONT_OF_THIGH = "front_of_thigh", _("Front of thigh")
        KNEE = "knee", _("Knee")
        CALF_ANKLE = "calf_ankle", _("Calf and ankle")
        TRUNK = "trunk", _("Trunk and core")
        WHOLE_LEG = "whole_leg", _("Whole leg")
        WHOLE_BODY = "whole_body", _("Whole body")

    class Equipment(models.TextChoices):
        NONE = "none", _("No equipment")
        MAT = "mat", _("Mat")
        CHAIR = "chair", _("Chair")
        BENCH = "bench", _("Bench or step-up box")
        STRAP = "strap", _("Strap or towel")
        WALL = "wall", _("Wall")
        STEP = "step", _("Step")
        BARBELL = "barbell", _("Barbell")
        DUMBBELLS = "dumbbells", _("Dumbbells")
        CABLE_MACHINE = "cable_machine", _("Cable machine")
        RESISTANCE_BAND = "resistance_band", _("Resistance band")
        EXERCISE_BALL = "exercise_ball", _("Exercise ball")
        STATIONARY_BIKE = "stationary_bike", _("Stationary bike")
        STICK = "stick", _("Broomstick or pole")

    class Difficulty(models.IntegerChoices):
        EASY = 1, _("Easy")
        MODERATE = 2, _("Moderate")
        HARD = 3, _("Hard")

    clinic = models.ForeignKey(
        Clinic,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="exercises",
        verbose_name=_("owner"),
        help_text=_("Empty for the shared library that ships with Rehabit."),
    )
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("short name"), max_length=120)
    category = models.CharField(_("category"), max_length=24, choices=Category)
    body_region = models.CharField(_("body region"), max_length=24, choices=BodyRegion)
    equipment = models.CharField(
        _("equipment"), max_length=24, choices=Equipment, default=Equipment.NONE
    )
    difficulty = models.PositiveSmallIntegerField(
        _("difficulty"), choices=Difficulty, default=Difficulty.EASY
    )
    purpose = models.CharField(_("purpose"), max_length=200, help_text=_("One line: why."))
    steps = models.TextField(_("steps"), help_text=_("One step per line, in order."))
    cautions = models.TextField(_("cautions"), blank=True, help_text=_("One per line."))
    stop_signs = models.TextField(
        _("stop and contact your therapist if"),
        blank=True,
        help_text=_("One sign per line."),
    )
    illustration = models.FileField(
        _("illustration"),
        upload_to="exercises/",
        blank=True,
        validators=[validate_illustration],
        help_text=_("PNG, JPEG or SVG, up to 2 MB. Shipped exercises have a drawing already."),
    )
    illustration_alt = models.CharField(
        _("illustration description"),
        max_length=300,
        blank=True,
        help_text=_("What the picture shows, for screen readers."),
    )
    easier = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("easier variant"),
    )
    harder = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("harder variant"),
    )
    is_active = models.BooleanField(
        _("available"), default=True, help_text=_("Retired exercises cannot be prescribed.")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ScopedManager.from_queryset(ExerciseQuerySet)()

    class Meta(DosageFields.Meta):
        verbose_name = _("exercise")
        verbose_name_plural = _("exercises")
        ordering = ["name"]
        constraints = [
            *DosageFields.Meta.constraints,
            *library_slug_constraints(
                "exercise",
                _("The shared library already has this short name."),
                _("Your clinic already has an exercise with this name."),
            ),
            PythonCheckConstraint(
                condition=~Q(easier=F("id")) & ~Q(harder=F("id")),
                name="exercise_variant_not_self",
                violation_error_message=_("An exercise cannot be its own variant."),
            ),
        ]
        indexes = [models.Index(fields=["category", "body_region"])]

    def __str__(self) -> str:
        return isolate(self.name)

    def save(self, *args: Any, **kwargs: Any) -> None:
        if getattr(self, "_shown_in", None):
            # A copy made to show the exercise in another language (ExerciseTranslation).
            raise ValueError("A translated copy of an exercise is for showing; it cannot be saved.")
        super().save(*args, **kwargs)

    @property
    def step_list(self) -> list[str]:
        return _lines(self.steps)

    @property
    def caution_list(self) -> list[str]:
        return _lines(self.cautions)

    @property
    def stop_sign_list(self) -> list[str]:
        return _lines(self.stop_signs)

    @property
    def is_nerve_work(self) -> bool:
        """Nerve exercises carry the shared nerve rule and red flags (prescriptions.safety)."""
        return self.category == self.Category.NERVE_MOBILISATION

    @property
    def has_picture(self) -> bool:
        """An uploaded picture, or a drawing shipped for this slug (a clinic's copy of a
        library exercise keeps its drawing); otherwise the portal, admin and handout
        show the placeholder."""
        return bool(self.illustration) or self.slug in shipped_drawings()

    def illustration_url(self) -> str:
        """Where the picture lives: an upload, the shipped drawing, or the placeholder."""
        if self.illustration:
            return self.illustration.url
        if self.slug in shipped_drawings():
            try:
                return static(f"{DRAWINGS_STATIC_DIR}/{self.slug}.svg")
            except ValueError:
                # The manifest storage raises for a file that was not collected
                # (collectstatic not rerun after an upgrade): a placeholder, not a 500.
                logger.warning("The drawing of %r is missing from the static files.", self.slug)
        return placeholder_url()

    def illustration_text(self) -> str:
        if self.illustration_alt:
            return self.illustration_alt
        if not self.has_picture:
            return _("No picture yet for %(name)s (%(category)s)") % {
                "name": self.name,
                "category": self.get_category_display(),
            }
        return _("Drawing of %(name)s: %(purpose)s") % {
            "name": self.name,
            "purpose": self.purpose,
        }


# The drawings that ship with the library, one SVG per slug (see prescriptions/illustrations).
DRAWINGS_STATIC_DIR = "prescriptions/illustrations"
PLACEHOLDER_STATIC_PATH = "prescriptions/placeholder.svg"
_DRAWINGS_DIR = Path(__file__).resolve().parent / "static" / DRAWINGS_STATIC_DIR
# Used when even the placeholder was not collected: an image that cannot be missing.
_PLACEHOLDER_DATA_URI = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 320 200'%3E"
    "%3Crect x='6' y='6' width='308' height='188' rx='10' fill='none' stroke='%238a9499' "
    "stroke-width='2' stroke-dasharray='8 6'/%3E%3C/svg%3E"
)


@functools.cache
def shipped_drawings() -> frozenset[str]:
    """Slugs that have a drawing among the app's static files."""
    return frozenset(path.stem for path in _DRAWINGS_DIR.glob("*.svg"))


def placeholder_url() -> str:
    """The neutral figure shown for an exercise without a picture."""
    try:
        return static(PLACEHOLDER_STATIC_PATH)
    except ValueError:
        logger.warning("The exercise placeholder picture is missing from the static files.")
        return _PLACEHOLDER_DATA_URI


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


TRANSLATED_EXERCISE_FIELDS = (
    "name",
    "purpose",
    "steps",
    "cautions",
    "stop_signs",
    "illustration_alt",
)


class Translation(models.Model):
    """What every version in another language has: its language, one row per language
    and parent (the subclass names the constraint, see `one_per_language`), and a way to
    show the parent in that language."""

    language = models.CharField(_("language"), max_length=8, choices=language_choices)

    translated_fields: tuple[str, ...] = ()

    class Meta:
        abstract = True
        verbose_name = _("translation")
        verbose_name_plural = _("translations")
        ordering = ["language"]

    def _applied(self, original: Any) -> Any:
        """A copy of `original` for showing only: each of `translated_fields` filled in
        here replaces the original's words; an empty one keeps them."""
        copy = _copy.copy(original)
        for name in self.translated_fields:
            value = getattr(self, name)
            if value:
                setattr(copy, name, value)
        return copy


def one_per_language(parent: str, message: Any, name: str) -> models.UniqueConstraint:
    return models.UniqueConstraint(
        fields=[parent, "language"], name=name, violation_error_message=message
    )


class ExerciseTranslationQuerySet(ScopedQuerySet["ExerciseTranslation"]):
    clinic_path = "exercise__clinic"
    shared_rows = True


class ExerciseTranslation(Translation):
    """An exercise's words in another language: what a patient reads in the portal and
    on the handout when it is their language.

    A row per exercise and language rather than a column per language: adding a
    language (settings.LANGUAGES) needs no migration, a clinic's own exercise
    gets its versions in the admin as the shipped ones do, and the original
    stays the one source of every field that is not text. Empty fields fall
    back to the original.
    """

    exercise = models.ForeignKey(
        Exercise,
        on_delete=models.CASCADE,
        related_name="translations",
        verbose_name=_("exercise"),
    )
    name = models.CharField(_("name"), max_length=120)
    purpose = models.CharField(_("purpose"), max_length=200, blank=True)
    steps = models.TextField(_("steps"), blank=True, help_text=_("One step per line, in order."))
    cautions = models.TextField(_("cautions"), blank=True, help_text=_("One per line."))
    stop_signs = models.TextField(
        _("stop and contact your therapist if"), blank=True, help_text=_("One sign per line.")
    )
    illustration_alt = models.CharField(_("illustration description"), max_length=300, blank=True)

    objects = ScopedManager.from_queryset(ExerciseTranslationQuerySet)()
    translated_fields = TRANSLATED_EXERCISE_FIELDS

    class Meta(Translation.Meta):
        constraints = [
            one_per_language(
                "exercise",
                _("This exercise already has a version in this language."),
                name="exercisetranslation_one_per_language",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"

    def applied_to(self, exercise: Exercise) -> Exercise:
        """A copy of `exercise` that reads in this language, for showing only (it refuses
        to be saved); fields left empty here keep the original's words."""
        copy: Exercise = self._applied(exercise)
        copy._shown_in = self.language  # type: ignore[attr-defined]
        return copy


class PlanTemplateTranslationQuerySet(ScopedQuerySet["PlanTemplateTranslation"]):
    clinic_path = "template__clinic"
    shared_rows = True


class PlanTemplateTranslation(Translation):
    """A protocol's words in another language. A plan started from the protocol for a
    patient of that language takes these words (title, goals, notes and each
    exercise's instructions, load and tempo); the original fills any gap."""

    template = models.ForeignKey(
        "PlanTemplate",
        on_delete=models.CASCADE,
        related_name="translations",
        verbose_name=_("plan template"),
    )
    name = models.CharField(_("name"), max_length=120)
    condition = models.CharField(_("condition"), max_length=120, blank=True)
    description = models.TextField(_("description"), blank=True)
    goals = models.TextField(_("goals"), blank=True)
    notes_for_patient = models.TextField(_("notes for the patient"), blank=True)
    # By position in the protocol (1, 2, ...): {"instructions": ..., "load": ..., "tempo": ...}.
    item_texts = models.JSONField(_("exercise instructions"), default=dict, blank=True)
    # By phase number (1, 2, ...): {"name": ..., "notes_for_patient": ...}.
    phase_texts = models.JSONField(_("phases"), default=dict, blank=True)

    objects = ScopedManager.from_queryset(PlanTemplateTranslationQuerySet)()

    class Meta(Translation.Meta):
        constraints = [
            one_per_language(
                "template",
                _("This template already has a version in this language."),
                name="plantemplatetranslation_one_per_language",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"

    def item_text(self, order: int, field: str) -> str:
        return _json_text(self.item_texts, order, field)

    def phase_text(self, number: int, field: str) -> str:
        return _json_text(self.phase_texts, number, field)


def _json_text(texts: object, key: int, field: str) -> str:
    """texts[str(key)][field] when it is text, else "": the JSON may be edited by hand."""
    entry = texts.get(str(key), {}) if isinstance(texts, dict) else {}
    value = entry.get(field, "") if isinstance(entry, dict) else ""
    return value if isinstance(value, str) else ""


class EducationPageQuerySet(ScopedQuerySet["EducationPage"]):
    clinic_path = "clinic"
    shared_rows = True

    def shared(self) -> EducationPageQuerySet:
        return self.filter(clinic=None)


class EducationPage(models.Model):
    """A short page of plain text for patients, which a therapist adds to a plan: shown
    in the portal and printed in the handout. The shipped pages come from
    prescriptions/library/education.toml."""

    clinic = models.ForeignKey(
        Clinic,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="education_pages",
        verbose_name=_("owner"),
        help_text=_("Empty for the pages that ship with Rehabit."),
    )
    title = models.CharField(_("title"), max_length=120)
    slug = models.SlugField(_("short name"), max_length=120)
    summary = models.CharField(
        _("summary"), max_length=200, help_text=_("One line: what the page is about.")
    )
    body = models.TextField(
        _("text"), help_text=_("Plain text for the patient. A blank line starts a new paragraph.")
    )
    sources = models.TextField(
        _("sources"),
        blank=True,
        help_text=_("For the therapist: where the advice comes from. Not shown to patients."),
    )
    is_active = models.BooleanField(
        _("available"), default=True, help_text=_("Retired pages cannot be added to plans.")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ScopedManager.from_queryset(EducationPageQuerySet)()

    class Meta:
        verbose_name = _("education page")
        verbose_name_plural = _("education pages")
        ordering = ["title"]
        constraints = [
            *library_slug_constraints(
                "educationpage",
                _("The shared library already has this short name."),
                _("Your clinic already has a page with this name."),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def paragraphs(self) -> list[str]:
        """The text in paragraphs; single line breaks inside one are kept as spaces."""
        blocks = [" ".join(_lines(block)) for block in self.body.split("\n\n")]
        return [block for block in blocks if block]


class EducationPageTranslationQuerySet(ScopedQuerySet["EducationPageTranslation"]):
    clinic_path = "page__clinic"
    shared_rows = True


class EducationPageTranslation(Translation):
    """An education page's words in another language, shown to patients of that
    language in the portal and the handout; an empty field keeps the original's."""

    page = models.ForeignKey(
        EducationPage,
        on_delete=models.CASCADE,
        related_name="translations",
        verbose_name=_("education page"),
    )
    title = models.CharField(_("title"), max_length=120)
    summary = models.CharField(_("summary"), max_length=200, blank=True)
    body = models.TextField(
        _("text"), blank=True, help_text=_("A blank line starts a new paragraph.")
    )

    objects = ScopedManager.from_queryset(EducationPageTranslationQuerySet)()
    translated_fields = ("title", "summary", "body")

    class Meta(Translation.Meta):
        constraints = [
            one_per_language(
                "page",
                _("This page already has a version in this language."),
                name="educationpagetranslation_one_per_language",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.language})"

    def applied_to(self, page: EducationPage) -> EducationPage:
        """A copy of `page` that reads in this language, for showing only."""
        copy: EducationPage = self._applied(page)
        return copy


class PlanQuerySet(ScopedQuerySet["Plan"]):
    clinic_path = "patient__clinic"

    def active(self) -> PlanQuerySet:
        return self.filter(status=Plan.Status.ACTIVE)


class Plan(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        COMPLETED = "completed", _("Completed")

    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="plans", verbose_name=_("patient")
    )
    therapist = models.ForeignKey(
        Therapist, on_delete=models.PROTECT, related_name="plans", verbose_name=_("therapist")
    )
    title = models.CharField(_("title"), max_length=120)
    condition = models.CharField(_("condition"), max_length=120, blank=True)
    goals = models.TextField(_("goals"), blank=True)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.DRAFT)
    notes_for_patient = models.TextField(
        _("notes for the patient"), blank=True, help_text=_("Printed on the handout.")
    )
    revision = models.PositiveIntegerField(
        _("revision"),
        default=1,
        editable=False,
        help_text=_("Goes up whenever the plan or its exercises change."),
    )
    template = models.ForeignKey(
        "PlanTemplate",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="plans",
        verbose_name=_("started from template"),
    )
    education = models.ManyToManyField(
        EducationPage,
        blank=True,
        related_name="+",
        verbose_name=_("education pages"),
        help_text=_(
            "Short reading for the patient, shown in the portal and printed in the handout."
        ),
    )
    phase = models.ForeignKey(
        "TemplatePhase",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("phase"),
        help_text=_("The protocol phase the plan is in; empty for a plan without phases."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # Written only by prescriptions.history (see PlanVersion.in_force_from).
    current_since = models.DateField(
        _("current version since"),
        null=True,
        blank=True,
        editable=False,
        help_text=_(
            "The day the plan as it is now took effect; empty if it has not changed "
            "since the day it was created."
        ),
    )

    objects = ScopedManager.from_queryset(PlanQuerySet)()

    if TYPE_CHECKING:
        items: RelatedManager[PlanItem]

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["-start_date", "-id"]
        constraints = [
            FieldCheckConstraint(
                field="end_date",
                condition=Q(end_date=None) | Q(end_date__gte=F("start_date")),
                name="plan_end_not_before_start",
                violation_error_message=_("The end date cannot be before the start date."),
            ),
        ]
        indexes = [models.Index(fields=["patient", "status"])]

    def __str__(self) -> str:
        return f"{isolate(self.title)} – {self.patient}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("admin:prescriptions_plan_change", args=[self.pk])

    def clean(self) -> None:
        super().clean()
        both = self.patient_id and self.therapist_id
        if both and self.patient.clinic_id != self.therapist.clinic_id:
            raise ValidationError(
                {"therapist": _("The therapist must work at the patient's clinic.")}
            )
        if self._state.adding and self.template_id and self.patient_id:
            # Started from a template: its exercises are copied in on saving.
            assert self.template is not None
            self.check_exercise_count(self.template.starting_items().count())

    def is_running_on(self, day: datetime.date) -> bool:
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)

    def check_exercise_count(self, count: int) -> None:
        """Raise ValidationError if `count` exercises are more than the clinic allows
        in one plan (`Clinic.max_plan_exercises`)."""
        limit = self.patient.clinic.max_plan_exercises
        if count > limit:
            raise ValidationError(
                _(
                    "A plan can hold at most %(limit)d exercises (your clinic's limit); "
                    "this one would have %(count)d. Remove some, or split them into two plans."
                ),
                code="too_many_exercises",
                params={"limit": limit, "count": count},
            )


class ItemFields(DosageFields):
    """An exercise at a place in an ordered list, with its dosage."""

    exercise = models.ForeignKey(
        Exercise, on_delete=models.PROTECT, related_name="+", verbose_name=_("exercise")
    )
    order = models.PositiveSmallIntegerField(_("order"), default=1)
    load = models.CharField(
        _("load"), max_length=60, blank=True, help_text=_("e.g. body weight, 5 kg, red band")
    )
    tempo = models.CharField(
        _("tempo"), max_length=20, blank=True, help_text=_("e.g. 3 s down, 1 s up")
    )
    instructions = models.TextField(
        _("instructions for this patient"),
        blank=True,
        help_text=_("Printed on the handout beside the exercise's own steps."),
    )

    class Meta(DosageFields.Meta):
        abstract = True
        ordering = ["order"]


class PlanItemQuerySet(ScopedQuerySet["PlanItem"]):
    clinic_path = "plan__patient__clinic"


class CurrentPlanItemManager(ScopedManager["PlanItem"]):
    """The plan's exercises as they are now. A row ended by a move to the protocol's
    next phase stays in the database with the patient's records of it (ExerciseLog),
    but is no longer part of the plan: the handout, the portal, the builder and the
    admin see only current rows. `PlanItem.with_ended` sees both, for the history."""

    def get_queryset(self) -> models.QuerySet[PlanItem]:
        return super().get_queryset().filter(ended_on=None)


class PlanItem(ItemFields):
    plan = models.ForeignKey(
        Plan, on_delete=models.CASCADE, related_name="items", verbose_name=_("plan")
    )
    ended_on = models.DateField(
        _("ended on"),
        null=True,
        blank=True,
        editable=False,
        help_text=_(
            "Set when the exercise left the plan at a change of phase; the patient's "
            "records of it are kept."
        ),
    )

    objects = CurrentPlanItemManager.from_queryset(PlanItemQuerySet)()
    with_ended = ScopedManager.from_queryset(PlanItemQuerySet)()
    # Not a field: set by a form set that checks the plan's whole count itself.
    counted_by_formset = False

    class Meta(ItemFields.Meta):
        verbose_name = _("exercise in plan")
        verbose_name_plural = _("exercises in plan")
        constraints = [
            *DosageFields.Meta.constraints,
            # Among the current rows: an ended row keeps the position it had.
            models.UniqueConstraint(
                fields=["plan", "order"],
                condition=Q(ended_on=None),
                name="planitem_order_unique",
                violation_error_message=_("Two exercises in this plan have the same position."),
            ),
            FieldCheckConstraint(
                field="order",
                condition=Q(order__gte=1),
                name="planitem_order_positive",
                violation_error_message=_("Positions start at 1."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order}. {self.exercise}"

    def clean(self) -> None:
        super().clean()
        # A new row must fit under the clinic's limit. The admin's rows are counted
        # together by their formset instead (a row removed and one added at the
        # limit is fine), which says so here.
        if self._state.adding and self.plan_id and not self.counted_by_formset:
            self.plan.check_exercise_count(self.plan.items.count() + 1)


class PlanTemplateQuerySet(ScopedQuerySet["PlanTemplate"]):
    clinic_path = "clinic"
    shared_rows = True


class PlanTemplate(models.Model):
    """A reusable protocol: a named list of exercises with dosages."""

    clinic = models.ForeignKey(
        Clinic,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="plan_templates",
        verbose_name=_("owner"),
        help_text=_("Empty for protocols that ship with Rehabit."),
    )
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("short name"), max_length=120)
    condition = models.CharField(_("condition"), max_length=120, blank=True)
    description = models.TextField(_("description"), blank=True)
    goals = models.TextField(_("goals"), blank=True)
    notes_for_patient = models.TextField(_("notes for the patient"), blank=True)
    sources = models.TextField(
        _("sources"),
        blank=True,
        help_text=_(
            "For the therapist: the guidance this protocol follows. Not shown to patients."
        ),
    )
    duration_weeks = models.PositiveSmallIntegerField(
        _("typical length (weeks)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(52)],
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = ScopedManager.from_queryset(PlanTemplateQuerySet)()

    if TYPE_CHECKING:
        items: RelatedManager[TemplateItem]
        phases: RelatedManager[TemplatePhase]

    class Meta:
        verbose_name = _("plan template")
        verbose_name_plural = _("plan templates")
        ordering = ["name"]
        constraints = [
            *library_slug_constraints(
                "plantemplate",
                _("A shared template already has this short name."),
                _("Your clinic already has a template with this name."),
            ),
        ]

    def __str__(self) -> str:
        return isolate(self.name)

    def first_phase(self) -> TemplatePhase | None:
        return self.phases.order_by("number").first()

    def starting_items(self) -> models.QuerySet[TemplateItem]:
        """The exercises a plan started from this template gets: phase 1's, if it has phases."""
        items = self.items.order_by("order")
        first = self.phases.order_by("number").values_list("number", flat=True).first()
        return items.filter(phase=first) if first is not None else items


class TemplatePhaseQuerySet(ScopedQuerySet["TemplatePhase"]):
    clinic_path = "template__clinic"
    shared_rows = True


class TemplatePhase(models.Model):
    """A stage of a protocol. Its exercises are the template's items with its number;
    a plan started from the protocol starts at phase 1 and is moved on by the therapist
    when the criteria are met."""

    template = models.ForeignKey(
        PlanTemplate, on_delete=models.CASCADE, related_name="phases", verbose_name=_("template")
    )
    number = models.PositiveSmallIntegerField(_("phase"), validators=[MinValueValidator(1)])
    name = models.CharField(_("name"), max_length=120)
    notes_for_patient = models.TextField(
        _("notes for the patient"), blank=True, help_text=_("Shown with the plan in this phase.")
    )
    criteria = models.TextField(
        _("criteria to move on"),
        blank=True,
        help_text=_(
            "For the therapist, one per line: when the patient is ready for the next "
            "phase (for the last phase: when to finish)."
        ),
    )

    objects = ScopedManager.from_queryset(TemplatePhaseQuerySet)()

    class Meta:
        verbose_name = _("phase")
        verbose_name_plural = _("phases")
        ordering = ["template", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "number"],
                name="templatephase_number_unique",
                violation_error_message=_("This template already has a phase with this number."),
            ),
            FieldCheckConstraint(
                field="number",
                condition=Q(number__gte=1),
                name="templatephase_number_positive",
                violation_error_message=_("Phases are numbered from 1."),
            ),
        ]

    def __str__(self) -> str:
        return _("Phase %(number)s: %(name)s") % {"number": self.number, "name": self.name}

    @property
    def criteria_list(self) -> list[str]:
        return _lines(self.criteria)


class TemplateItemQuerySet(ScopedQuerySet["TemplateItem"]):
    clinic_path = "template__clinic"
    shared_rows = True


class TemplateItem(ItemFields):
    template = models.ForeignKey(
        PlanTemplate, on_delete=models.CASCADE, related_name="items", verbose_name=_("template")
    )
    phase = models.PositiveSmallIntegerField(
        _("phase"),
        default=1,
        validators=[MinValueValidator(1)],
        help_text=_("The number of the protocol phase this exercise belongs to."),
    )

    objects = ScopedManager.from_queryset(TemplateItemQuerySet)()

    class Meta(ItemFields.Meta):
        verbose_name = _("exercise in template")
        verbose_name_plural = _("exercises in template")
        constraints = [
            *DosageFields.Meta.constraints,
            models.UniqueConstraint(
                fields=["template", "order"],
                name="templateitem_order_unique",
                violation_error_message=_("Two exercises in this template have the same position."),
            ),
            FieldCheckConstraint(
                field="order",
                condition=Q(order__gte=1),
                name="templateitem_order_positive",
                violation_error_message=_("Positions start at 1."),
            ),
            FieldCheckConstraint(
                field="phase",
                condition=Q(phase__gte=1),
                name="templateitem_phase_positive",
                violation_error_message=_("Phases are numbered from 1."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order}. {self.exercise}"


class SessionLogQuerySet(ScopedQuerySet["SessionLog"]):
    clinic_path = "plan__patient__clinic"


class SessionLog(models.Model):
    """One home session as the patient recorded it: how it went, and how they felt."""

    class NerveSymptoms(models.TextChoices):
        NONE = "none", _("None")
        TINGLING = "tingling", _("Tingling or pins and needles")
        NUMBNESS = "numbness", _("Numbness")

    class Effort(models.TextChoices):
        TOO_EASY = "too_easy", _("Too easy")
        ABOUT_RIGHT = "about_right", _("About right")
        TOO_HARD = "too_hard", _("Too hard")

    plan = models.ForeignKey(
        Plan, on_delete=models.CASCADE, related_name="session_logs", verbose_name=_("plan")
    )
    date = models.DateField(_("date"))
    session_number = models.PositiveSmallIntegerField(
        _("session of the day"), default=1, validators=SESSION_NUMBER.validators()
    )
    pain = models.PositiveSmallIntegerField(
        _("pain now (0-10)"), validators=PAIN_SCALE.validators()
    )
    nerve_symptoms = models.CharField(
        _("nerve symptoms"), max_length=10, choices=NerveSymptoms, default=NerveSymptoms.NONE
    )
    symptoms_lasted = models.BooleanField(_("symptoms lasted after the exercise"), default=False)
    symptoms_minutes = models.PositiveSmallIntegerField(
        _("for how many minutes"),
        null=True,
        blank=True,
        validators=SYMPTOM_MINUTES.validators(),
    )
    effort = models.CharField(_("how hard it felt"), max_length=12, choices=Effort, blank=True)
    comment = models.TextField(
        _("comment"),
        blank=True,
        max_length=COMMENT_MAX_LENGTH,
        validators=[
            MaxLengthValidator(
                COMMENT_MAX_LENGTH,
                message=lazy_format(
                    _("Keep the comment to at most %(high)s characters."),
                    {"high": COMMENT_MAX_LENGTH},
                ),
            )
        ],
    )
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ScopedManager.from_queryset(SessionLogQuerySet)()

    class Meta:
        verbose_name = _("session log")
        verbose_name_plural = _("session logs")
        ordering = ["-date", "-session_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "date", "session_number"],
                name="sessionlog_one_per_session",
                violation_error_message=_("This session is already recorded."),
            ),
            PAIN_SCALE.constraint("pain", name="sessionlog_pain_scale"),
            SESSION_NUMBER.constraint("session_number", name="sessionlog_session_number_range"),
            FieldCheckConstraint(
                field="nerve_symptoms",
                condition=Q(symptoms_lasted=False) | ~Q(nerve_symptoms="none"),
                name="sessionlog_lasting_symptoms_named",
                violation_error_message=_("You said symptoms lasted: choose tingling or numbness."),
            ),
            SYMPTOM_MINUTES.constraint(
                "symptoms_minutes", name="sessionlog_symptoms_minutes_range", null=True
            ),
        ]
        # No separate (plan, date) index: the unique constraint and the covering
        # index below both start with it.
        indexes = [
            # Adherence: the newest log of each patient and its pain score, read
            # from the index alone (prescriptions.adherence.NEWEST_FIRST).
            models.Index(
                fields=["plan", "date", "session_number", "pain"], name="sessionlog_newest_pain"
            ),
            # Adherence: "nerve symptoms lasted after exercise" this week; such
            # logs are rare, so a small partial index finds them without a scan.
            models.Index(
                fields=["plan", "date"],
                condition=Q(symptoms_lasted=True),
                name="sessionlog_lasting_symptoms",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan.patient} – {self.date}"


class ExerciseLogQuerySet(ScopedQuerySet["ExerciseLog"]):
    clinic_path = "session__plan__patient__clinic"


class ExerciseLog(models.Model):
    """What was done of one exercise in a logged session."""

    # No index of its own: the unique constraint's index starts with the session, and
    # serves every lookup by session (each saved session writes and deletes its rows).
    session = models.ForeignKey(
        SessionLog,
        on_delete=models.CASCADE,
        related_name="exercises",
        verbose_name=_("session"),
        db_index=False,
    )
    item = models.ForeignKey(
        PlanItem, on_delete=models.CASCADE, related_name="logs", verbose_name=_("exercise")
    )
    sets_done = models.PositiveSmallIntegerField(
        _("sets done"), default=0, validators=SETS_DONE.validators()
    )
    sets_left = models.PositiveSmallIntegerField(
        _("sets done, left side"), null=True, blank=True, validators=SETS_DONE.validators()
    )
    sets_right = models.PositiveSmallIntegerField(
        _("sets done, right side"), null=True, blank=True, validators=SETS_DONE.validators()
    )

    objects = ScopedManager.from_queryset(ExerciseLogQuerySet)()

    class Meta:
        verbose_name = _("exercise log")
        verbose_name_plural = _("exercise logs")
        constraints = [
            models.UniqueConstraint(
                fields=["session", "item"],
                name="exerciselog_once_per_session",
                violation_error_message=_("This exercise is already recorded for the session."),
            ),
            FieldCheckConstraint(
                field="sets_done",
                condition=SETS_DONE.condition("sets_done")
                & SETS_DONE.condition("sets_left", null=True)
                & SETS_DONE.condition("sets_right", null=True),
                name="exerciselog_sets_range",
                violation_error_message=SETS_DONE.text,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item.exercise}: {self.sets_done}"


class HandoutQuerySet(ScopedQuerySet["Handout"]):
    clinic_path = "plan__patient__clinic"


class Handout(models.Model):
    """A rendered PDF handout, stored under a key of everything that shaped it."""

    plan = models.ForeignKey(
        Plan, on_delete=models.CASCADE, related_name="handouts", verbose_name=_("plan")
    )
    key = models.CharField(max_length=64, unique=True)
    # A hash of the rows, code and settings the handout was made from (see
    # handouts.context.inputs_fingerprint): a match is served without rendering.
    inputs = models.CharField(max_length=64, blank=True, default="")
    pdf = models.FileField(upload_to="handouts/")
    pages = models.PositiveSmallIntegerField(default=0)
    size_bytes = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager.from_queryset(HandoutQuerySet)()

    class Meta:
        verbose_name = _("handout")
        verbose_name_plural = _("handouts")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.plan} r{self.plan.revision}"


# --- Outcome measures ------------------------------------------------------------

# How often a measure can be repeated during a plan.
EVERY_WEEKS = Bound(1, 26, _("Repeat every %(low)s to %(high)s weeks."))
# The questionnaire at the end of a plan opens this many days before its last day,
# so that the patient answers it while the plan is still running.
END_OPENS_DAYS_BEFORE = 6


class OutcomeMeasureQuerySet(ScopedQuerySet["OutcomeMeasure"]):
    clinic_path = "plan__patient__clinic"


class OutcomeMeasure(models.Model):
    """A questionnaire from the outcome library attached to a plan, with when it is asked.

    The instrument itself (wording, scoring, source, licence) is data in
    prescriptions/outcomes/instruments.toml, named here by its code.
    """

    plan = models.ForeignKey(
        Plan, on_delete=models.CASCADE, related_name="outcome_measures", verbose_name=_("plan")
    )
    instrument = models.CharField(
        _("questionnaire"), max_length=12, choices=outcome_instrument_choices
    )
    at_start = models.BooleanField(_("at the start"), default=True)
    every_weeks = models.PositiveSmallIntegerField(
        _("then every N weeks"),
        null=True,
        blank=True,
        validators=EVERY_WEEKS.validators(),
        help_text=_("Leave empty to ask only at the start and the end."),
    )
    at_end = models.BooleanField(
        _("at the end"),
        default=True,
        help_text=_("Asked in the plan's last week; the plan needs an end date."),
    )
    activities = models.TextField(
        _("activities (PSFS)"),
        blank=True,
        help_text=_(
            "For the Patient-Specific Functional Scale: up to five activities the patient "
            "finds hard because of their problem, one per line, in their words."
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = ScopedManager.from_queryset(OutcomeMeasureQuerySet)()

    if TYPE_CHECKING:
        responses: RelatedManager[QuestionnaireResponse]

    class Meta:
        verbose_name = _("outcome measure")
        verbose_name_plural = _("outcome measures")
        ordering = ["plan", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "instrument"],
                name="outcomemeasure_once_per_plan",
                violation_error_message=_("This questionnaire is already part of the plan."),
            ),
            EVERY_WEEKS.constraint(
                "every_weeks", name="outcomemeasure_every_weeks_range", null=True
            ),
            FieldCheckConstraint(
                field="at_start",
                condition=Q(at_start=True) | Q(at_end=True) | Q(every_weeks__isnull=False),
                name="outcomemeasure_has_schedule",
                violation_error_message=_(
                    "Choose when to ask: at the start, every few weeks or at the end."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_instrument_display()} – {self.plan}"

    @property
    def definition(self) -> Instrument:
        return outcome_library.get(self.instrument)

    @property
    def activity_list(self) -> list[str]:
        return _lines(self.activities)

    def clean(self) -> None:
        super().clean()
        if self.instrument not in outcome_library.instruments():
            return  # the field's choices report it
        if self.definition.needs_activities:
            count = len(self.activity_list)
            if not 1 <= count <= outcome_library.PSFS_MAX_ACTIVITIES:
                raise ValidationError(
                    {
                        "activities": _("Name one to %(n)s activities, one per line.")
                        % {"n": outcome_library.PSFS_MAX_ACTIVITIES}
                    }
                )
        elif self.activities.strip():
            raise ValidationError(
                {
                    "activities": _(
                        "Only the Patient-Specific Functional Scale asks about activities."
                    )
                }
            )
        only_at_end = self.at_end and not self.every_weeks and not self.at_start
        if only_at_end and self.plan_id and self.plan.end_date is None:
            raise ValidationError(
                {"at_end": _("The plan has no end date: give one, or ask at other times too.")}
            )

    def occasions(self, until: datetime.date) -> list[Occasion]:
        """When the questionnaire is asked, up to `until` (or the plan's end), oldest first."""
        plan = self.plan
        last = min(until, plan.end_date) if plan.end_date else until
        dates: dict[datetime.date, Occasion] = {}
        if self.at_start:
            dates[plan.start_date] = Occasion(plan.start_date, plan.start_date)
        if self.every_weeks:
            step = datetime.timedelta(weeks=self.every_weeks)
            day = plan.start_date + step
            while day <= last:
                dates.setdefault(day, Occasion(day, day))
                day += step
        if self.at_end and plan.end_date is not None:
            opens = max(plan.start_date, plan.end_date - datetime.timedelta(END_OPENS_DAYS_BEFORE))
            if opens <= until:
                # The end replaces a repeat that falls in the plan's last week.
                for day in [d for d in dates if d >= opens and d != plan.start_date]:
                    del dates[day]
                dates[plan.end_date] = Occasion(plan.end_date, opens)
        return sorted(dates.values(), key=lambda o: o.due_date)

    def current_occasion(self, today: datetime.date) -> Occasion | None:
        """The newest occasion open today: the one the patient is asked to answer."""
        open_now = [o for o in self.occasions(today) if o.opens <= today]
        return open_now[-1] if open_now else None


@dataclasses.dataclass(frozen=True)
class Occasion:
    """One time a questionnaire is asked: its date, and from when it can be answered."""

    due_date: datetime.date
    opens: datetime.date


class QuestionnaireResponseQuerySet(ScopedQuerySet["QuestionnaireResponse"]):
    clinic_path = "measure__plan__patient__clinic"

    def completed(self) -> QuestionnaireResponseQuerySet:
        return self.filter(status=QuestionnaireResponse.Status.COMPLETED)


class QuestionnaireResponse(models.Model):
    """A patient's answers to one occasion of an outcome measure, and its score.

    `answers` maps each item's link_id to the answer's value (an integer on the
    item's scale); `activities` keeps the PSFS activities as they were asked.
    Statuses follow FHIR's QuestionnaireResponse (in-progress, completed).
    """

    class Status(models.TextChoices):
        IN_PROGRESS = "in-progress", _("In progress")
        COMPLETED = "completed", _("Completed")

    measure = models.ForeignKey(
        OutcomeMeasure,
        on_delete=models.CASCADE,
        related_name="responses",
        verbose_name=_("outcome measure"),
    )
    due_date = models.DateField(_("asked for"), help_text=_("The occasion this answers."))
    status = models.CharField(
        _("status"), max_length=12, choices=Status, default=Status.IN_PROGRESS
    )
    answers = models.JSONField(_("answers"), default=dict, blank=True)
    activities = models.JSONField(_("activities asked"), default=list, blank=True)
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=1, null=True, blank=True)
    worse_by_mcid = models.BooleanField(
        _("worse by at least the MCID"),
        default=False,
        help_text=_("Than the first score of this measure (GROC: a change of at least the MCID)."),
    )
    completed_at = models.DateTimeField(_("answered"), null=True, blank=True)
    created_at = models.DateTimeField(_("started"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ScopedManager.from_queryset(QuestionnaireResponseQuerySet)()

    class Meta:
        verbose_name = _("questionnaire response")
        verbose_name_plural = _("questionnaire responses")
        ordering = ["measure", "due_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["measure", "due_date"],
                name="questionnaireresponse_once_per_occasion",
                violation_error_message=_("This questionnaire is already answered for that date."),
            ),
            FieldCheckConstraint(
                field="completed_at",
                condition=Q(status="in-progress") | Q(completed_at__isnull=False),
                name="questionnaireresponse_completed_has_time",
                violation_error_message=_(
                    "A completed questionnaire needs the time it was answered."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.measure.get_instrument_display()} – {self.due_date}"


# --- Dose suggestions ------------------------------------------------------------


class DoseDecisionQuerySet(ScopedQuerySet["DoseDecision"]):
    clinic_path = "plan__patient__clinic"


class DoseDecision(models.Model):
    """A therapist's decision on a dose suggestion (prescriptions.suggestions): applied or
    dismissed, with the change and the reasons as they were shown."""

    class Decision(models.TextChoices):
        APPLIED = "applied", _("Applied")
        DISMISSED = "dismissed", _("Dismissed")

    plan = models.ForeignKey(
        Plan, on_delete=models.CASCADE, related_name="dose_decisions", verbose_name=_("plan")
    )
    item = models.ForeignKey(
        PlanItem,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="dose_decisions",
        verbose_name=_("exercise in plan"),
    )
    plan_revision = models.PositiveIntegerField(_("plan revision"))
    signature = models.CharField(max_length=32)
    kind = models.CharField(_("suggestion"), max_length=10)
    change = models.CharField(_("change"), max_length=300, blank=True)
    reasons = models.TextField(_("reasons"), blank=True)
    decision = models.CharField(_("decision"), max_length=10, choices=Decision)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_on = models.DateField(_("decided on"))
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    objects = ScopedManager.from_queryset(DoseDecisionQuerySet)()

    class Meta:
        verbose_name = _("dose decision")
        verbose_name_plural = _("dose decisions")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "plan_revision", "signature"],
                name="dosedecision_once_per_suggestion",
                violation_error_message=_("This suggestion was already decided."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()}: {self.change}"


class PlanVersionQuerySet(ScopedQuerySet["PlanVersion"]):
    clinic_path = "plan__patient__clinic"


class PlanVersion(models.Model):
    """The whole plan, with every current exercise and its dose, after one change.

    Written only by prescriptions.history. `data` holds everything shown on the
    History page and in the export; the columns are what adherence reads for the
    days this version was in force: from `in_force_from` (empty: since before the
    plan's first day) to `in_force_until` (empty: the newest version, which is
    the plan as it is now). A version replaced on the day it was written is in
    force on no day (until before from): a day counts with the plan as it was at
    the end of that day.
    """

    plan = models.ForeignKey(
        Plan, on_delete=models.CASCADE, related_name="versions", verbose_name=_("plan")
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    recorded_on = models.DateField(_("recorded on"), help_text=_("The clinic's day."))
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    in_force_from = models.DateField(_("in force from"), null=True, blank=True)
    in_force_until = models.DateField(_("in force until"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Plan.Status)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    times_per_day = models.PositiveSmallIntegerField(_("sessions a day"))
    days_per_week = models.PositiveSmallIntegerField(_("days a week"))
    revision = models.PositiveIntegerField(_("revision"))
    data = models.JSONField(_("plan as it was"))

    objects = ScopedManager.from_queryset(PlanVersionQuerySet)()

    class Meta:
        verbose_name = _("plan version")
        verbose_name_plural = _("plan versions")
        ordering = ["-recorded_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan"],
                condition=Q(in_force_until=None),
                name="planversion_one_newest",
                violation_error_message=_("A plan has one newest version."),
            ),
        ]
        indexes = [models.Index(fields=["plan", "in_force_until"])]

    def __str__(self) -> str:
        return f"{self.plan_id} @ {self.recorded_at:%Y-%m-%d %H:%M}"


class PatientVersionQuerySet(ScopedQuerySet["PatientVersion"]):
    clinic_path = "patient__clinic"


class PatientVersion(models.Model):
    """A patient's record as it was after one change. Written only by prescriptions.history."""

    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="versions", verbose_name=_("patient")
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    recorded_on = models.DateField(_("recorded on"), help_text=_("The clinic's day."))
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    data = models.JSONField(_("record as it was"))

    objects = ScopedManager.from_queryset(PatientVersionQuerySet)()

    class Meta:
        verbose_name = _("patient record version")
        verbose_name_plural = _("patient record versions")
        ordering = ["-recorded_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.patient_id} @ {self.recorded_at:%Y-%m-%d %H:%M}"
