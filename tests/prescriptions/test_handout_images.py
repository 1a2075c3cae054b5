"""SVG pictures in the handout are drawn once per size and replayed (handouts.images)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from pypdf import PdfReader

from prescriptions.handouts import render
from prescriptions.handouts.files import BASE_URL
from prescriptions.handouts.images import ImageCache, ReplayedSVG

DRAWING = BASE_URL + "static/prescriptions/illustrations/glute-bridge.svg"
# A gradient is a pattern resource of the page it is drawn on: not replayed.
GRADIENT = "data:image/svg+xml," + quote(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" width="10" height="10">'
    '<defs><linearGradient id="g"><stop offset="0" stop-color="#000"/>'
    '<stop offset="1" stop-color="#fff"/></linearGradient></defs>'
    '<rect width="10" height="10" fill="url(#g)"/></svg>',
    safe="",
)
HTML = f"""<html lang="en"><body>
<p>A drawing at two sizes, twice each, and one that cannot be replayed.</p>
<img src="{DRAWING}" style="width: 52mm; height: 32.5mm" alt="A drawing">
<img src="{DRAWING}" style="width: 80mm; height: 50mm" alt="A drawing">
<img src="{DRAWING}" style="width: 52mm; height: 32.5mm" alt="A drawing">
<p style="break-before: page">The same drawing on another page.</p>
<img src="{DRAWING}" style="width: 80mm; height: 50mm" alt="A drawing">
<img src="{GRADIENT}" style="width: 20mm; height: 20mm" alt="A drawing">
<div style="height: 20mm; background: url('{GRADIENT}') repeat-x; background-size: 10mm 10mm"></div>
</body></html>"""


@pytest.fixture
def fresh_engine() -> Iterator[None]:
    render.reset_engine()
    yield
    render.reset_engine()


def contents(pdf: bytes) -> list[bytes]:
    pages = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        content = page.get_contents()
        assert content is not None
        pages.append(content.get_data())
    return pages


def operators(pdf: bytes) -> list[list[bytes]]:
    """Each page's content stream as lines, without the save/restore pairs the
    replay adds around a copied drawing."""
    return [
        [line for line in page.splitlines() if line.strip() not in (b"q", b"Q")]
        for page in contents(pdf)
    ]


def test_it_draws_what_weasyprint_draws(fresh_engine):
    engine = render._get_engine()
    assert isinstance(engine.image_cache, ImageCache)
    first = render.render_pdf_html(HTML).pdf
    again = render.render_pdf_html(HTML).pdf  # every drawing copied from its recording
    replayed = engine.image_cache[DRAWING]
    assert isinstance(replayed, ReplayedSVG)
    assert len(replayed._recordings) == 2  # one per size

    engine.image_cache = {}  # WeasyPrint's own cache: every draw node by node
    plain = render.render_pdf_html(HTML).pdf
    assert operators(first) == operators(again) == operators(plain)
    # The drawing is there: its strokes (" l" line-tos) on both pages.
    assert all(sum(line.endswith(b" l") for line in page) > 50 for page in operators(plain))


def test_it_draws_a_picture_that_needs_a_pattern_every_time(fresh_engine):
    engine = render._get_engine()
    render.render_pdf_html(HTML)
    gradient = engine.image_cache[GRADIENT]
    assert isinstance(gradient, ReplayedSVG)
    assert gradient._recordings and all(r is None for r in gradient._recordings.values())
    # Drawn again in this render: its gradient is painted on the page it is on.
    page = contents(render.render_pdf_html(HTML).pdf)[1]
    assert b"/Pattern cs" in page or b" sh" in page
