"""Turning a handout's HTML into a tagged PDF with WeasyPrint, one engine per process.

One FontConfiguration, one parsed stylesheet and one image cache are shared by
the renders of a process (a new FontConfiguration per render leaks memory;
re-parsing CSS and SVG is wasted time). WeasyPrint is imported lazily: importing
it costs about 0.6 s, which every management command and web process would
otherwise pay at start-up.
"""

from __future__ import annotations

import logging
import re
import signal
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import version
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from django.contrib.staticfiles import finders

from prescriptions.handouts import speedups, text
from prescriptions.handouts.context import load_plan, qr_svg_uri, render_html
from prescriptions.handouts.files import (
    BASE_URL,
    file_digest,
    file_text,
    make_fetcher_class,
    static_file,
)
from prescriptions.handouts.images import ImageCache
from prescriptions.handouts.parse import parse_html
from prescriptions.models import Plan, PlanItem

if TYPE_CHECKING:
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher

STYLESHEET = "prescriptions/handout.css"
PDF_VARIANT = "pdf/ua-1"


@dataclass
class _Engine:
    font_config: FontConfiguration
    stylesheet: CSS
    # The stylesheet's digest when it was parsed: a changed file is parsed again.
    stylesheet_digest: str
    fetcher: URLFetcher
    stylesheet_text: str = ""
    # The stylesheet with a clinic's brand colours written in for var(--brand) and the
    # others, by colours (see _stylesheet_for).
    branded: dict[tuple[str, ...], CSS] = field(default_factory=dict)
    # Parsed images by URL, shared between renders: illustrations repeat across plans.
    # SVG drawings are drawn once per size and replayed (prescriptions.handouts.images).
    image_cache: dict[str, Any] = field(default_factory=ImageCache)


_engine: _Engine | None = None
# WeasyPrint's objects are not meant for concurrent use, and rendering is CPU-bound
# under the GIL anyway: renders in one process take turns.
_render_lock = threading.RLock()
logger = logging.getLogger(__name__)

# The options every render uses; they are part of the cache key (renderer_signature).
PDF_OPTIONS: dict[str, Any] = {
    "pdf_variant": PDF_VARIANT,
    "presentational_hints": False,
    "uncompressed_pdf": False,
}


def stylesheet_path() -> Path:
    path = finders.find(STYLESHEET)
    if isinstance(path, list):
        path = path[0]
    if not path:
        raise RuntimeError(f"The handout stylesheet {STYLESHEET} is missing.")
    return Path(path)


# The releases whose internals handouts.text and handouts.speedups replace, and
# against which their tests compare the PDFs byte for byte (pyproject.toml pins
# both). With any other release installed, handouts render without them: slower,
# never different.
PATCHED_RELEASES = {"weasyprint": "70.0", "pydyf": "0.13.0"}


def patches_fit() -> bool:
    """Whether the installed WeasyPrint and pydyf are the releases the speed-ups
    were written for."""
    return all(version(name) == release for name, release in PATCHED_RELEASES.items())


def _releases(releases: dict[str, str]) -> str:
    return ", ".join(f"{name} {release}" for name, release in releases.items())


@cache
def renderer_signature() -> str:
    """The renderer and its options: a WeasyPrint upgrade or a new option renders again."""
    options = ";".join(f"{name}={value}" for name, value in sorted(PDF_OPTIONS.items()))
    return f"weasyprint {version('weasyprint')};{options}"


class _StreamZlib:
    """zlib as pydyf sees it: its streams compressed at ZLIB_LEVEL instead of 9.

    pydyf compresses every stream of the PDF (page contents, fonts, the structure
    tree of the tags) at level 9: 19 ms of a 6-exercise handout against 7.5 ms at
    6, for a PDF 1.7 % larger (59.5 KB -> 60.5 KB). The pages are the same: only
    how their streams are packed changes, and every PDF reader reads both.
    """

    ZLIB_LEVEL = 6

    def __getattr__(self, name: str) -> Any:
        return getattr(zlib, name)

    def compress(self, data: bytes, /, level: int = -1) -> bytes:
        return zlib.compress(data, self.ZLIB_LEVEL)

    def compressobj(self, level: int = -1, *args: Any, **kwargs: Any) -> Any:
        return zlib.compressobj(self.ZLIB_LEVEL, *args, **kwargs)


def _get_engine() -> _Engine:
    global _engine
    path = stylesheet_path()
    digest = file_digest(path)
    if _engine is None or _engine.stylesheet_digest != digest:
        import pydyf
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        pydyf.zlib = _StreamZlib()
        if patches_fit():
            text.install()
            speedups.install()
        else:
            logger.warning(
                "Handouts render without their speed-ups: they were written for %s, "
                "and %s is installed.",
                _releases(PATCHED_RELEASES),
                _releases({name: version(name) for name in PATCHED_RELEASES}),
            )

        fetcher = _engine.fetcher if _engine else make_fetcher_class()()
        font_config = _engine.font_config if _engine else FontConfiguration()
        text_of_file = file_text(path)
        stylesheet = CSS(
            string=text_of_file,
            base_url=BASE_URL,
            url_fetcher=fetcher,
            font_config=font_config,
        )
        _engine = _Engine(
            font_config=font_config,
            stylesheet=stylesheet,
            stylesheet_digest=digest,
            fetcher=fetcher,
            stylesheet_text=text_of_file,
        )
    return _engine


# The brand colours the handout template declares on :root, each #rrggbb
# (context._brand_colours makes them so).
_BRAND_COLOURS = re.compile(
    r":root \{ --brand: (#[0-9a-fA-F]{6}); --ink: (#[0-9a-fA-F]{6}); "
    r"--tint: (#[0-9a-fA-F]{6}); --line: (#[0-9a-fA-F]{6}); \}"
)
_BRAND_NAMES = ("brand", "ink", "tint", "line")


def _stylesheet_for(engine: _Engine, html: str) -> CSS:
    """The stylesheet with the handout's brand colours written in for var(--brand),
    var(--ink), var(--tint) and var(--line), parsed once per set of colours.

    WeasyPrint resolves a var() for every element a rule with one applies to,
    parsing the declaration again each time (1 % of a render); a literal colour
    is parsed once. A document without the template's :root line (or with other
    colours than #rrggbb) gets the stylesheet as it is, var() and all."""
    match = _BRAND_COLOURS.search(html)
    if match is None:
        return engine.stylesheet
    colours = match.groups()
    stylesheet = engine.branded.get(colours)
    if stylesheet is None:
        from weasyprint import CSS

        text = engine.stylesheet_text
        for name, colour in zip(_BRAND_NAMES, colours, strict=True):
            text = text.replace(f"var(--{name})", colour)
        if len(engine.branded) >= 64:  # a few colours per clinic: keep it bounded
            engine.branded.clear()
        stylesheet = engine.branded[colours] = CSS(
            string=text,
            base_url=BASE_URL,
            url_fetcher=engine.fetcher,
            font_config=engine.font_config,
        )
    return stylesheet


def reset_engine() -> None:
    """Forget the shared engine and caches (tests and the benchmark use this to start cold)."""
    global _engine
    with _render_lock:
        _engine = None
        static_file.cache_clear()
        qr_svg_uri.cache_clear()


@dataclass(frozen=True)
class RenderedHandout:
    pdf: bytes
    pages: int
    html: str


class RenderTooSlow(Exception):
    def __init__(self, seconds: int) -> None:
        super().__init__(f"The handout took longer than {seconds} s to render.")
        self.seconds = seconds


@contextmanager
def _time_limit(seconds: int) -> Iterator[None]:
    """Raise RenderTooSlow in the block after `seconds`: a signal, so only in the main
    thread (where the task worker runs its tasks); elsewhere, or with 0, no limit."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise RenderTooSlow(seconds)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def render_pdf_html(html: str, *, time_limit: int = 0) -> RenderedHandout:
    """Turn a handout's HTML into the PDF, within `time_limit` seconds if given (only
    the rendering itself: no database access happens under the alarm)."""
    with _render_lock, _time_limit(time_limit):
        engine = _get_engine()
        options: dict[str, Any] = {
            **PDF_OPTIONS,
            "stylesheets": [_stylesheet_for(engine, html)],
            "cache": engine.image_cache,
        }
        document = parse_html(html, base_url=BASE_URL, url_fetcher=engine.fetcher).render(
            font_config=engine.font_config, **options
        )
        pdf = document.write_pdf(**options)
    return RenderedHandout(pdf=pdf, pages=len(document.pages), html=html)


def render_pdf(plan: Plan, items: list[PlanItem] | None = None) -> RenderedHandout:
    """Render without the cache (the benchmark and the tests use this)."""
    if items is None:
        plan, items = load_plan(plan)
    return render_pdf_html(render_html(plan, items))


def render_page_pdf(html: str, anchor: str) -> bytes | None:
    """The one page of a handout that holds the element with id `anchor`, as a PDF
    (the plan builder's preview of the first exercise page); None without it."""
    with _render_lock:
        engine = _get_engine()
        options: dict[str, Any] = {
            **PDF_OPTIONS,
            "stylesheets": [_stylesheet_for(engine, html)],
            "cache": engine.image_cache,
        }
        document = parse_html(html, base_url=BASE_URL, url_fetcher=engine.fetcher).render(
            font_config=engine.font_config, **options
        )
        pages = [page for page in document.pages if anchor in page.anchors]
        if not pages:
            return None
        pdf: bytes = document.copy(pages[:1]).write_pdf(**options)
    return pdf
