"""What a handout shows: the template's context, built from the plan, and the HTML.

Everything the PDF shows is decided here and in the template; the cache key is
a hash of the HTML this module renders (see `prescriptions.handouts.store`).
"""

from __future__ import annotations

import colorsys
import datetime
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db.models import BooleanField, Prefetch, QuerySet, Value
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from clinic.models import Clinic
from clinic.prepared import PreparedQuery
from prescriptions import dosage
from prescriptions.adherence import due_days, sessions_per_day
from prescriptions.handouts.files import absolute_url, local_file
from prescriptions.localise import education_in, phase_in, show_in, with_words_in
from prescriptions.models import EducationPage, Exercise, Plan, PlanItem, placeholder_url

TEMPLATE_NAME = "prescriptions/handout.html"
TICK_SHEET_DAYS = 14
DEFAULT_BRAND = "#0b6e69"
_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


# --- Time and load -------------------------------------------------------------------


@dataclass(frozen=True)
class PlanLoad:
    """How long a plan takes, and whether it looks like too much for one patient."""

    exercise_count: int
    session_minutes: int
    daily_minutes: int
    too_long: bool
    too_many: bool

    @property
    def needs_warning(self) -> bool:
        return self.too_long or self.too_many


def plan_load(items: list[PlanItem], clinic: Clinic) -> PlanLoad:
    session = sum(dosage.session_seconds(item) for item in items)
    daily = dosage.minutes(dosage.daily_seconds(list(items)))
    return PlanLoad(
        exercise_count=len(items),
        session_minutes=dosage.minutes(session),
        daily_minutes=daily,
        too_long=daily > clinic.warn_daily_minutes,
        too_many=len(items) > clinic.warn_exercise_count,
    )


def load_warnings(load: PlanLoad, clinic: Clinic) -> list[str]:
    """The clinic's warnings for a plan that looks like too much: on the plan page
    and in the plan builder."""
    warnings: list[str] = []
    if load.too_long:
        warnings.append(
            _(
                "About %(minutes)d minutes a day is more than your clinic's limit of "
                "%(limit)d: patients often give up on plans that take this long."
            )
            % {"minutes": load.daily_minutes, "limit": clinic.warn_daily_minutes}
        )
    if load.too_many:
        warnings.append(
            _(
                "%(count)d exercises is more than your clinic's limit of %(limit)d: "
                "consider fewer exercises."
            )
            % {"count": load.exercise_count, "limit": clinic.warn_exercise_count}
        )
    return warnings


# --- Context -------------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    number: int
    item: PlanItem
    exercise: Exercise
    dosage: str
    session_minutes: int
    image_url: str
    image_alt: str


@dataclass(frozen=True)
class TickRow:
    label: str
    note: str
    sessions: int
    # Which of the block's days the exercise is due on, and the row's boxes drawn
    # for those days (a data: URI; see tick_boxes).
    due: tuple[bool, ...]
    boxes: str


@dataclass(frozen=True)
class TickWeek:
    number: int
    days: list[datetime.date]
    rows: list[TickRow]


def _illustration_url(exercise: Exercise) -> str:
    """The picture's URL when its file is there, else the placeholder's; '' (a card
    without a picture) only when neither file can be read."""
    for url in (exercise.illustration_url(), placeholder_url()):
        absolute = absolute_url(url)
        if local_file(absolute):
            return absolute
    return ""


def _media_url(file: Any) -> str:
    if not file:
        return ""
    try:
        url = absolute_url(file.url)
    except ValueError:
        return ""
    return url if local_file(url) else ""


def _brand_colours(value: str) -> dict[str, str]:
    """The brand colour, a pale tint for panels, and a darker shade that reads on white."""
    colour = value if _HEX_COLOUR.match(value or "") else DEFAULT_BRAND
    r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    h, lightness, s = colorsys.rgb_to_hls(r, g, b)

    def hexa(rgb: tuple[float, float, float]) -> str:
        return "#" + "".join(f"{round(c * 255):02x}" for c in rgb)

    def luminance(rgb: tuple[float, float, float]) -> float:
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    ink_l = lightness
    ink = (r, g, b)
    # Darken until the colour has 4.5:1 contrast against white (WCAG AA for text).
    while (1.05 / (luminance(ink) + 0.05)) < 4.5 and ink_l > 0:
        ink_l = max(0.0, ink_l - 0.03)
        ink = colorsys.hls_to_rgb(h, ink_l, s)
    tint = colorsys.hls_to_rgb(h, 0.95, min(s, 0.5))
    line = colorsys.hls_to_rgb(h, 0.82, min(s, 0.45))
    return {"brand": colour, "ink": hexa(ink), "tint": hexa(tint), "line": hexa(line)}


def css_string(value: str) -> str:
    """A CSS string literal for any text: every character but letters, digits and spaces
    is escaped, so patient or clinic text cannot end the string or the <style> element."""
    out = []
    for char in value.replace("\r", " ").replace("\n", " "):
        if char.isascii() and (char.isalnum() or char == " "):
            out.append(char)
        else:
            # Six hex digits and a space: the space ends the escape and is dropped.
            out.append(f"\\{ord(char):06x} ")
    return '"' + "".join(out) + '"'


@lru_cache(maxsize=8)
def qr_svg_uri(url: str) -> str:
    import segno

    qr = segno.make(url, error="m")
    return qr.svg_data_uri(scale=4, border=0, dark="#000")


def portal_login_url() -> str:
    if not settings.SITE_URL:
        return ""
    return settings.SITE_URL.rstrip("/") + reverse("portal:login")


# The tick sheet's day grid: a line at the left edge of each day, one tile a day.
TICK_LINES = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 10 10' "
    "preserveAspectRatio='none'%3E%3Cpath d='M0.1 0V10' stroke='%239aa5ad' "
    "stroke-width='0.21'/%3E%3C/svg%3E"
).replace("'", "%27")
# A day's tick boxes in a cell 10 units wide, by sessions a day: each box's left edge
# and its centre's offset from the middle of the row; the box side is TICK_BOX. A
# once-a-day row gets one larger box.
TICK_BOX = {1: 4.0, 2: 3.0, 3: 3.0, 4: 3.0}
TICK_BOX_CORNERS = {
    1: ((3.0, 0.0),),
    2: ((1.7, 0.0), (5.3, 0.0)),
    3: ((1.7, -1.8), (5.3, -1.8), (3.5, 1.8)),
    4: ((1.7, -1.8), (5.3, -1.8), (1.7, 1.8), (5.3, 1.8)),
}


@lru_cache(maxsize=64)
def tick_boxes(due: tuple[bool, ...], sessions: int, cell_height: float) -> str:
    """One row's boxes as an SVG data: URI, a cell 10 units wide per day: a box per
    session on each day the exercise is due, and a rest day hatched, so that the
    difference survives a greyscale print. Drawn as one image per row: a grid of
    per-day blocks costs WeasyPrint far more layout time. The boxes are one path and
    the hatching another: WeasyPrint draws an SVG element by element, and up to 56
    rectangles a row cost about 6 ms a row."""
    sessions = min(max(sessions, 1), 4)
    side = TICK_BOX[sessions]
    middle = cell_height / 2
    boxes, rests = [], []
    for day, is_due in enumerate(due):
        x0 = day * 10
        if is_due:
            for x, y in TICK_BOX_CORNERS[sessions]:
                top = middle + y - side / 2
                boxes.append(f"M{x0 + x:g} {top:g}h{side:g}v{side:g}h{-side:g}z")
        else:
            # Three strokes across the cell: a rest day.
            rests.append(
                f"M{x0 + 2:g} {cell_height - 1:g}l3 -{cell_height - 2:g}"
                f"M{x0 + 4.5:g} {cell_height - 1:g}l3 -{cell_height - 2:g}"
                f"M{x0 + 7:g} {cell_height - 1:g}l2 -{(cell_height - 2) * 2 / 3:g}"
            )
    paths = []
    if boxes:
        paths.append(
            f'<path d="{"".join(boxes)}" fill="none" stroke="#2b3438" stroke-width=".28"/>'
        )
    if rests:
        paths.append(f'<path d="{"".join(rests)}" fill="none" stroke="#9aa5ad" stroke-width=".3"/>')
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {len(due) * 10} {cell_height:g}" '
        'preserveAspectRatio="none">' + "".join(paths) + "</svg>"
    )
    return "data:image/svg+xml," + quote(svg, safe="")


def _due_days(plan: Plan, item: PlanItem, days: list[datetime.date]) -> tuple[bool, ...]:
    """Whether each day is one of the item's days, by the rule adherence counts with."""
    return tuple(
        plan.is_running_on(day) and due_days(plan.start_date, day, day, item.days_per_week) == 1
        for day in days
    )


def _tick_weeks(
    plan: Plan, items: list[PlanItem], block_days: int = TICK_SHEET_DAYS
) -> list[TickWeek]:
    """The tick sheet's blocks of days: both weeks in one block in standard print (the
    day header is most of a block's layout time), a week a block in large print.
    Each row shows the days its exercise is due and a box for each session."""
    # Cells of a week block in large print are wider than they are tall: keep the
    # boxes square (a 14-day cell is about 10 mm by 8 mm, a 7-day one 18 mm by 13 mm).
    cell_height = 8.0 if block_days == TICK_SHEET_DAYS else 7.3
    weeks = []
    for block in range(TICK_SHEET_DAYS // block_days):
        days = [
            plan.start_date + datetime.timedelta(days=block * block_days + d)
            for d in range(block_days)
        ]
        rows = []
        for number, item in enumerate(items, start=1):
            due = _due_days(plan, item, days)
            rows.append(
                TickRow(
                    label=f"{number}. {item.exercise.name}",
                    note=dosage.days_per_week_words(item.days_per_week)
                    if item.days_per_week < 7
                    else "",
                    sessions=item.times_per_day,
                    due=due,
                    boxes=tick_boxes(due, item.times_per_day, cell_height),
                )
            )
        weeks.append(TickWeek(number=block + 1, days=days, rows=rows))
    return weeks


def handout_plans(plans: QuerySet[Plan]) -> QuerySet[Plan]:
    """`plans` read with everything the handout shows of them: a plan found through
    this (a view's scoped look-up) is not read again by `load_plan`."""
    return (
        plans.select_related("patient__clinic", "therapist__user", "phase")
        .prefetch_related(Prefetch("education", queryset=EducationPage.objects.order_by("title")))
        .annotate(read_for_handout=Value(True, output_field=BooleanField()))
    )


def prepared_handout_plan(build: Callable[..., QuerySet[Plan]]) -> Callable[..., Plan | None]:
    """`handout_plans(build(*args))` as one plan or None, compiled once (clinic.prepared):
    for a download of a stored handout, which is mostly these look-ups."""
    plans = PreparedQuery(lambda *args: handout_plans(build(*args)).prefetch_related(None))

    def find(*args: Any) -> Plan | None:
        found = plans(*args)
        if not found:
            return None
        plan = found[0]
        # As handout_plans' prefetch leaves them.
        pages = plan.education.all()
        pages._result_cache = _education_of(plan.pk)
        pages._prefetch_done = True  # type: ignore[attr-defined]
        plan._prefetched_objects_cache = {"education": pages}  # type: ignore[attr-defined]
        return plan

    return find


_education_of = PreparedQuery(lambda plan_id: Plan(pk=plan_id).education.order_by("title"))


def load_plan(plan: Plan) -> tuple[Plan, list[PlanItem]]:
    """The plan with everything the handout shows, in three queries (two when `plan`
    was found through `handout_plans`)."""
    if getattr(plan, "read_for_handout", False):
        fresh = plan
    else:
        fresh = handout_plans(Plan.objects.all()).get(pk=plan.pk)
    language = fresh.patient.preferred_language or settings.LANGUAGE_CODE
    items = _items_in(fresh.pk, language)
    for item in items:
        item.plan = fresh
    return fresh, items


# The exercises' words in the patient's language come with them (show_in). Read on
# every download of a stored handout: compiled once (clinic.prepared).
_items_in = PreparedQuery(
    lambda plan_id, language: with_words_in(
        PlanItem.objects.filter(plan_id=plan_id).select_related("exercise"), language
    ).order_by("order", "pk")
)


# Columns that change without changing any handout (a sign-in, a reminder sent).
_NOT_SHOWN = frozenset({"password", "last_login", "last_reminded_on"})
# Settings the handout's text, links and files depend on.
_SETTINGS = (
    "LANGUAGE_CODE",
    "TIME_ZONE",
    "USE_TZ",
    "SITE_URL",
    "STATIC_URL",
    "MEDIA_URL",
    "STORAGES",
    "TEMPLATES",
    "LOCALE_PATHS",
)
# What the handout is made by: code, templates, translation catalogues, static files.
_SOURCE_FOLDERS = ("clinic", "prescriptions", "portal", "templates", "locale", "static")


def _row(obj: Any) -> tuple[Any, ...]:
    if obj is None:
        return ()
    return (
        obj._meta.label,
        *(
            (field.attname, getattr(obj, field.attname))
            for field in obj._meta.concrete_fields
            if field.name not in _NOT_SHOWN
        ),
    )


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A hash of every file under the apps, templates, catalogues and static folders,
    and of the collected static files' manifest: read once a process (a deploy
    starts new processes)."""
    digest = hashlib.sha256()
    base = Path(settings.BASE_DIR)
    paths = sorted(
        path
        for folder in _SOURCE_FOLDERS
        for path in (base / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    for path in [*paths, manifest]:
        if path.is_file():
            digest.update(str(path.relative_to(path.anchor)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def inputs_fingerprint(plan: Plan, items: list[PlanItem]) -> str:
    """A hash of everything the handout is made from, without rendering it: every row
    loaded with the plan (patient, clinic, therapist, phase, education pages, items,
    exercises), read in the patient's language with their translations; the code,
    template, catalogue and static files; the settings they read. Equal inputs make
    an equal handout, so a stored PDF with this fingerprint is served as it is.
    Anything else falls back to the HTML's hash (store.key_for), which catches
    what this cannot see.
    """
    language = plan.patient.preferred_language or settings.LANGUAGE_CODE
    show_in(items, language)  # the exercises as the handout shows them
    rows: list[Any] = [
        _row(plan),
        _row(plan.patient),
        _row(plan.patient.clinic),
        _row(plan.therapist),
        _row(plan.therapist.user),
        _row(phase_in(plan.phase, language)),
        *(_row(page) for page in education_in(plan.education.all(), language)),
    ]
    for item in items:
        rows += [_row(item), _row(item.exercise)]
    digest = hashlib.sha256()
    for part in (
        code_fingerprint(),
        language,
        repr([(name, getattr(settings, name, None)) for name in _SETTINGS]),
        *(repr(row) for row in rows),
    ):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def build_context(plan: Plan, items: list[PlanItem]) -> dict[str, Any]:
    """Everything the template shows. Call inside the patient's language."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    patient = plan.patient
    clinic = patient.clinic
    cards = [
        Card(
            number=number,
            item=item,
            exercise=item.exercise,
            dosage=dosage.describe(item),
            session_minutes=dosage.minutes(dosage.session_seconds(item)),
            image_url=_illustration_url(item.exercise),
            image_alt=item.exercise.illustration_text(),
        )
        for number, item in enumerate(items, start=1)
    ]
    load = plan_load(items, clinic)
    issued = timezone.localtime(plan.updated_at, clinic.zone).date() if plan.updated_at else None
    portal_url = portal_login_url()
    therapist = plan.therapist
    colours = _brand_colours(clinic.brand_colour)
    running = {
        "patient": css_string(patient.full_name),
        "clinic": css_string(clinic.name),
        "footer": css_string(clinic.handout_footer),
        "page": css_string(_("Page") + " "),
        "of": css_string(" " + _("of") + " "),
    }
    # One "how often" sentence only when every exercise asks for the same: taking
    # the most sessions a day and the fewest days a week of different exercises
    # described a plan no card asked for.
    rhythms = {(item.times_per_day, item.days_per_week) for item in items}
    same_rhythm = len(rhythms) <= 1
    min_days = min((item.days_per_week for item in items), default=7)
    return {
        "plan": plan,
        "patient": patient,
        "clinic": clinic,
        "therapist_name": therapist.user.get_full_name(),
        "therapist_title": therapist.job_title,
        "cards": cards,
        # A preview of an unsaved plan has no pages yet.
        "education": education_in(plan.education.all(), language) if plan.pk else [],
        "phase": phase_in(plan.phase, language),
        "load": load,
        "issued": issued,
        "language": language,
        "large_print": patient.large_print,
        "paper": "letter" if clinic.paper_size == Clinic.PaperSize.LETTER else "A4",
        "colours": colours,
        "running": running,
        "logo_url": _media_url(clinic.logo),
        "portal_url": portal_url,
        "qr_uri": qr_svg_uri(portal_url) if portal_url else "",
        "tick_weeks": _tick_weeks(plan, items, 7 if patient.large_print else TICK_SHEET_DAYS),
        "tick_lines": TICK_LINES,
        "rest_days": any(item.days_per_week < 7 for item in items),
        "same_rhythm": same_rhythm,
        "how_often": dosage.times_per_day_words(sessions_per_day(items)),
        "how_many_days": dosage.days_per_week_words(min_days),
        "goals": [line.strip() for line in plan.goals.splitlines() if line.strip()],
        "address_lines": [line.strip() for line in clinic.address.splitlines() if line.strip()],
    }


def render_html(plan: Plan, items: list[PlanItem]) -> str:
    """The handout as HTML, in the patient's language."""
    language = plan.patient.preferred_language or settings.LANGUAGE_CODE
    # Each exercise in the patient's language where the clinic or the library has it.
    show_in(items, language)
    with translation.override(language):
        return render_to_string(TEMPLATE_NAME, build_context(plan, items))
