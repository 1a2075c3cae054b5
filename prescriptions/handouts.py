"""Plan handouts: one Django template, one stylesheet, rendered to a tagged PDF by WeasyPrint.

This is the only module that turns a plan into a PDF. It

- builds the template context (branding, plan, one card per exercise, tick sheet, QR code),
- renders it with WeasyPrint through an allow-list URL fetcher that reads only files under
  the static and media roots and ``data:`` URIs (everything else is refused and logged),
- shares one FontConfiguration, one parsed stylesheet and one image cache per process
  (a new FontConfiguration per render leaks memory; re-parsing CSS and SVG is wasted time),
- caches the bytes in the ``Handout`` model under a hash of everything that shapes them.

WeasyPrint is imported lazily: importing it costs about 0.6 s, which every management
command and web process would otherwise pay at start-up.
"""

from __future__ import annotations

import colorsys
import datetime
import hashlib
import json
import logging
import mimetypes
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils._os import safe_join
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.utils.translation import gettext as _

from clinic.models import Clinic
from prescriptions import dosage
from prescriptions.adherence import sessions_per_day
from prescriptions.models import Exercise, Handout, Plan, PlanItem, placeholder_url

if TYPE_CHECKING:
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher

logger = logging.getLogger(__name__)

# Bump when the template or stylesheet changes how a handout looks: every cached
# handout is then rendered again on its next download.
TEMPLATE_VERSION = "2026.11-8"

TEMPLATE_NAME = "prescriptions/handout.html"
STYLESHEET = "prescriptions/handout.css"
# Relative URLs in the handout resolve against this made-up origin; the fetcher maps
# its static and media paths to files and never opens a connection.
BASE_URL = "https://handout.rehabit.invalid/"
PDF_VARIANT = "pdf/ua-1"
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


# --- Files the renderer may read -----------------------------------------------------


def _url_path(url: str, prefix: str) -> str | None:
    """The part of `url` under `prefix` (STATIC_URL or MEDIA_URL), or None."""
    if not prefix:
        return None
    parts = urlsplit(url)
    base = urlsplit(BASE_URL)
    if parts.query or parts.fragment:
        return None
    if prefix.startswith(("http://", "https://")):
        # Static or media files on another host (a CDN): still mapped to the local copy.
        if not url.startswith(prefix):
            return None
        rest = url[len(prefix) :]
    else:
        if (parts.scheme, parts.netloc) not in {(base.scheme, base.netloc), ("", "")}:
            return None
        path = parts.path
        prefix = "/" + prefix.lstrip("/")
        if not path.startswith(prefix):
            return None
        rest = path[len(prefix) :]
    rest = unquote(rest)
    if not rest or "\x00" in rest or ".." in rest.split("/") or rest.startswith("/"):
        return None
    return rest


@lru_cache(maxsize=2048)
def _static_file(relative: str) -> Path | None:
    # Collected files first (hashed names from the manifest storage live there), then
    # the app and project static folders through the finders.
    if settings.STATIC_ROOT:
        try:
            collected = Path(safe_join(str(settings.STATIC_ROOT), relative))
        except SuspiciousFileOperation:
            return None
        if collected.is_file():
            return collected
    try:
        found = finders.find(relative)
    except SuspiciousFileOperation:
        return None
    if isinstance(found, list):
        found = found[0] if found else None
    return Path(found) if found and Path(found).is_file() else None


def local_file(url: str) -> Path | None:
    """The file behind a static or media URL, or None when the URL is anything else."""
    if relative := _url_path(url, settings.STATIC_URL or ""):
        return _static_file(relative)
    if relative := _url_path(url, settings.MEDIA_URL or ""):
        try:
            path = Path(safe_join(str(settings.MEDIA_ROOT), relative))
        except SuspiciousFileOperation:
            return None
        return path if path.is_file() else None
    return None


def _absolute(url: str) -> str:
    if urlsplit(url).scheme:
        return url
    return BASE_URL.rstrip("/") + "/" + url.lstrip("/")


class RefusedURL(ValueError):
    pass


def _make_fetcher_class() -> type[URLFetcher]:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class AllowListFetcher(URLFetcher):
        """Serves static and media files and data: URIs; refuses everything else.

        No http(s), no file:// paths, no redirects: a hostile URL in a plan's text or an
        uploaded SVG cannot make the server read its own files or call the network.
        """

        def __init__(self) -> None:
            super().__init__(allowed_protocols=("data",), allow_redirects=False)

        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            if url.startswith("data:"):
                return super().fetch(url, headers)
            path = local_file(url)
            if path is None:
                logger.warning("Handout renderer refused to fetch %r", url[:200])
                raise RefusedURL(f"Not an allowed handout resource: {url[:200]}")
            mime, _encoding = mimetypes.guess_type(path.name)
            return URLFetcherResponse(
                url,
                body=path.read_bytes(),
                headers={"Content-Type": mime or "application/octet-stream"},
            )

    return AllowListFetcher


# --- The rendering engine, one per process -------------------------------------------


@dataclass
class _Engine:
    font_config: FontConfiguration
    stylesheet: CSS
    fetcher: URLFetcher
    # Parsed images by URL, shared between renders: illustrations repeat across plans.
    image_cache: dict[str, Any] = field(default_factory=dict)


_engine: _Engine | None = None
# WeasyPrint's objects are not meant for concurrent use, and rendering is CPU-bound
# under the GIL anyway: renders in one process take turns.
_render_lock = threading.RLock()


def _stylesheet_path() -> Path:
    path = finders.find(STYLESHEET)
    if isinstance(path, list):
        path = path[0]
    if not path:
        raise RuntimeError(f"The handout stylesheet {STYLESHEET} is missing.")
    return Path(path)


def _get_engine() -> _Engine:
    global _engine
    if _engine is None:
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        fetcher = _make_fetcher_class()()
        font_config = FontConfiguration()
        stylesheet = CSS(
            string=_stylesheet_path().read_text(encoding="utf-8"),
            base_url=BASE_URL,
            url_fetcher=fetcher,
            font_config=font_config,
        )
        _engine = _Engine(font_config=font_config, stylesheet=stylesheet, fetcher=fetcher)
    return _engine


def reset_engine() -> None:
    """Forget the shared engine (tests and the benchmark use this to start cold)."""
    global _engine
    with _render_lock:
        _engine = None
        _static_file.cache_clear()
        _qr_svg_uri.cache_clear()


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


@dataclass(frozen=True)
class TickWeek:
    number: int
    days: list[datetime.date]
    rows: list[TickRow]


def _illustration_url(exercise: Exercise) -> str:
    """The picture's URL when its file is there, else the placeholder's; '' (a card
    without a picture) only when neither file can be read."""
    for url in (exercise.illustration_url(), placeholder_url()):
        absolute = _absolute(url)
        if local_file(absolute):
            return absolute
    return ""


def _media_url(file: Any) -> str:
    if not file:
        return ""
    try:
        url = _absolute(file.url)
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
def _qr_svg_uri(url: str) -> str:
    import segno

    qr = segno.make(url, error="m")
    return qr.svg_data_uri(scale=4, border=0, dark="#000")


def portal_login_url() -> str:
    if not settings.SITE_URL:
        return ""
    return settings.SITE_URL.rstrip("/") + reverse("portal:login")


def _tick_weeks(
    start: datetime.date, items: list[PlanItem], block_days: int = TICK_SHEET_DAYS
) -> list[TickWeek]:
    """The tick sheet's blocks of days: both weeks in one block in standard print (the
    day header is most of a block's layout time), a week a block in large print."""
    rows = [
        TickRow(
            label=f"{number}. {item.exercise.name}",
            note=dosage.days_per_week_words(item.days_per_week) if item.days_per_week < 7 else "",
            sessions=item.times_per_day,
        )
        for number, item in enumerate(items, start=1)
    ]
    return [
        TickWeek(
            number=block + 1,
            days=[
                start + datetime.timedelta(days=block * block_days + d) for d in range(block_days)
            ],
            rows=rows,
        )
        for block in range(TICK_SHEET_DAYS // block_days)
    ]


def _load_plan(plan: Plan) -> tuple[Plan, list[PlanItem]]:
    """The plan with everything the handout shows, in two queries."""
    fresh = Plan.objects.select_related("patient__clinic", "therapist__user").get(pk=plan.pk)
    items = list(fresh.items.select_related("exercise").order_by("order", "pk"))
    return fresh, items


def build_context(plan: Plan, items: list[PlanItem]) -> dict[str, Any]:
    """Everything the template shows. Call inside the patient's language."""
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
    # The sentence names the plan's sessions a day (the adherence rule) and the
    # fewest days a week any exercise asks for; each card gives its own.
    min_days = min((item.days_per_week for item in items), default=7)
    return {
        "plan": plan,
        "patient": patient,
        "clinic": clinic,
        "therapist_name": therapist.user.get_full_name(),
        "therapist_title": therapist.job_title,
        "cards": cards,
        "load": load,
        "issued": issued,
        "language": translation.get_language() or settings.LANGUAGE_CODE,
        "large_print": patient.large_print,
        "paper": "letter" if clinic.paper_size == Clinic.PaperSize.LETTER else "A4",
        "colours": colours,
        "running": running,
        "logo_url": _media_url(clinic.logo),
        "portal_url": portal_url,
        "qr_uri": _qr_svg_uri(portal_url) if portal_url else "",
        "tick_weeks": _tick_weeks(
            plan.start_date, items, 7 if patient.large_print else TICK_SHEET_DAYS
        ),
        "how_often": dosage.times_per_day_words(sessions_per_day(items)),
        "how_many_days": dosage.days_per_week_words(min_days),
        "goals": [line.strip() for line in plan.goals.splitlines() if line.strip()],
        "address_lines": [line.strip() for line in clinic.address.splitlines() if line.strip()],
    }


# --- Rendering -----------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedHandout:
    pdf: bytes
    pages: int
    html: str


def render_html(plan: Plan, items: list[PlanItem]) -> str:
    with translation.override(plan.patient.preferred_language or settings.LANGUAGE_CODE):
        return render_to_string(TEMPLATE_NAME, build_context(plan, items))


def render_pdf(plan: Plan, items: list[PlanItem] | None = None) -> RenderedHandout:
    """Render without the cache (the benchmark and `get_handout` use this)."""
    from weasyprint import HTML

    if items is None:
        plan, items = _load_plan(plan)
    html = render_html(plan, items)
    with _render_lock:
        engine = _get_engine()
        options: dict[str, Any] = {
            "stylesheets": [engine.stylesheet],
            "pdf_variant": PDF_VARIANT,
            "presentational_hints": False,
            "cache": engine.image_cache,
            "uncompressed_pdf": False,
        }
        document = HTML(string=html, base_url=BASE_URL, url_fetcher=engine.fetcher).render(
            font_config=engine.font_config, **options
        )
        pdf = document.write_pdf(**options)
    return RenderedHandout(pdf=pdf, pages=len(document.pages), html=html)


# --- Cache ---------------------------------------------------------------------------


def _file_stamp(path: Path | None) -> list[object]:
    if path is None:
        return []
    try:
        stat = path.stat()
    except OSError:
        return []
    return [path.name, stat.st_size, stat.st_mtime_ns]


@lru_cache
def _catalogue_digest(language: str) -> str:
    """A hash of the compiled translations for `language`: a changed catalogue
    changes the handout's fixed texts, so it must change the cache key too."""
    digest = hashlib.sha256()
    for root in settings.LOCALE_PATHS:
        try:
            digest.update(Path(root, language, "LC_MESSAGES", "django.mo").read_bytes())
        except OSError:
            continue
    return digest.hexdigest()


def handout_key(plan: Plan, items: list[PlanItem]) -> str:
    """A hash of everything that changes the PDF; a new key means a new render."""
    patient = plan.patient
    clinic = patient.clinic
    therapist = plan.therapist
    logo = _media_url(clinic.logo)
    shape = {
        "template": TEMPLATE_VERSION,
        "plan": [
            plan.pk,
            plan.revision,
            plan.title,
            plan.condition,
            plan.goals,
            plan.notes_for_patient,
            str(plan.start_date),
            str(plan.end_date),
            plan.updated_at.isoformat() if plan.updated_at else "",
            therapist.user.get_full_name(),
            therapist.job_title,
        ],
        "items": [
            [
                item.pk,
                item.order,
                item.load,
                item.tempo,
                item.instructions,
                item.dosage_dict(),
                item.exercise_id,
                item.exercise.name,
                item.exercise.updated_at.isoformat() if item.exercise.updated_at else "",
                item.exercise.illustration.name if item.exercise.illustration else "",
                _file_stamp(local_file(_illustration_url(item.exercise) or "-")),
            ]
            for item in items
        ],
        "clinic": [
            clinic.pk,
            clinic.name,
            clinic.email,
            clinic.phone,
            clinic.address,
            clinic.website,
            clinic.brand_colour,
            clinic.handout_footer,
            clinic.paper_size,
            clinic.time_zone,
            clinic.logo.name if clinic.logo else "",
            _file_stamp(local_file(logo) if logo else None),
        ],
        "patient": [patient.full_name, patient.preferred_language, patient.large_print],
        "catalogue": _catalogue_digest(patient.preferred_language or settings.LANGUAGE_CODE),
        "portal": portal_login_url(),
    }
    blob = json.dumps(shape, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


@receiver(post_delete, sender=Handout, dispatch_uid="prescriptions.handouts.delete_pdf_file")
def _delete_pdf_file(sender: type[Handout], instance: Handout, **kwargs: Any) -> None:
    """A deleted handout row takes its PDF file with it: superseded versions, a plan's
    handouts when the plan is deleted (cascade), rows whose file went missing.

    After the commit, so that a rolled-back deletion keeps its file; and only when no
    row names the file any more (a re-render of the same key reuses the name).
    """
    name = instance.pdf.name
    if not name:
        return
    storage = instance.pdf.storage

    def delete() -> None:
        if not Handout.objects.filter(pdf=name).exists():
            storage.delete(name)

    transaction.on_commit(delete, using=kwargs.get("using"))


def _read(handout: Handout) -> bytes | None:
    try:
        with handout.pdf.open("rb") as f:
            return f.read()
    except (FileNotFoundError, ValueError):
        return None


def _cached(key: str) -> tuple[Handout, bytes] | None:
    handout = Handout.objects.filter(key=key).first()
    if handout is None:
        return None
    data = _read(handout)
    if data is None:
        # The file went missing (media wiped): forget the row and render again.
        handout.delete()
        return None
    return handout, data


def _get(plan: Plan) -> tuple[Plan, Handout, bytes]:
    plan, items = _load_plan(plan)
    key = handout_key(plan, items)
    if found := _cached(key):
        return plan, *found
    rendered = render_pdf(plan, items)
    handout = Handout(plan=plan, key=key, pages=rendered.pages, size_bytes=len(rendered.pdf))
    # Named by key only: no patient names in file names on disk.
    handout.pdf.save(f"{key}.pdf", ContentFile(rendered.pdf), save=False)
    try:
        with transaction.atomic():
            handout.save()
    except IntegrityError:
        # Another process stored the same handout first: keep theirs.
        handout.pdf.delete(save=False)
        if found := _cached(key):
            return plan, *found
        raise
    # Older versions of this plan's handout are never served again (their files go
    # with the rows: see `_delete_pdf_file`).
    for old in Handout.objects.filter(plan=plan).exclude(pk=handout.pk):
        old.delete()
    return plan, handout, rendered.pdf


def get_handout(plan: Plan) -> Handout:
    """The plan's current handout, rendered now unless an identical one is stored.

    Callers check that the asker may see the plan before calling.
    """
    return _get(plan)[1]


def handout_bytes(plan: Plan) -> bytes:
    return _get(plan)[2]


def handout_filename(plan: Plan) -> str:
    name = slugify(f"{plan.title} {plan.patient.full_name}") or "handout"
    return f"{name}-r{plan.revision}.pdf"


def handout_response(plan: Plan) -> HttpResponse:
    """The PDF as a download. Callers check access first."""
    plan, _handout, data = _get(plan)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, handout_filename(plan))
    response["Cache-Control"] = "private, no-store"
    return response
