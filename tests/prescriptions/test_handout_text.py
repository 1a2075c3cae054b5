"""WeasyPrint's text drawing with the handout's shortcuts (handouts.text) writes the same PDF."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from weasyprint.draw import text as weasyprint_text
from weasyprint.text import line_break

from prescriptions.handouts import render, text

from .handout_patches import with_and_without
from .test_handout_images import operators
from .test_handout_parse import awkward_plan, handout_html  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db

ODD_TEXT = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Odd text</title>
<style>
@page { size: A5; margin: 15mm;
  @bottom-right { content: "Page " counter(page) " of " counter(pages); } }
p { font-family: "Liberation Sans", "DejaVu Sans", sans-serif; margin: 0 0 3mm; }
</style></head><body>
<p style="text-align: justify">Justified text is drawn with the word spacing the line was given,
so its layout is made again: a long paragraph that runs over several lines to be justified.</p>
<p style="width: 30mm; white-space: nowrap; overflow: hidden; text-overflow: ellipsis">
A line too long for its box ends in an ellipsis</p>
<p style="letter-spacing: 0.1em; text-transform: uppercase">Letter spacing and capitals</p>
<p dir="rtl" lang="ar">نص عربي يُكتب من اليمين إلى اليسار، مع أرقام 123</p>
<p lang="he">שלום ⁨Alex Morgan⁩ עברית</p>
<p>Combining marks: e\u0301 a\u0308 n\u0303, a private glyph \ue000, symbols ⚠ ▲ ■ •</p>
<p style="font-size: 20pt; font-weight: bold; font-style: italic">Big, bold and italic</p>
<p>Text <span style="vertical-align: super; font-size: 8pt">raised</span> and
<span style="font-family: 'DejaVu Sans'">another font</span> on one line.</p>
<img alt="A drawing with words" style="width: 40mm; height: 20mm" src="data:image/svg+xml,%3Csvg
 xmlns='http://www.w3.org/2000/svg' viewBox='0 0 100 50'%3E%3Ctext x='5' y='30'
 font-size='12'%3EWords in a drawing%3C/text%3E%3C/svg%3E">
<p style="break-before: page">A second page, with the same footer drawn again.</p>
</body></html>"""


@pytest.fixture(autouse=True)
def fresh_engine() -> Iterator[None]:
    render.reset_engine()
    yield
    text.install()
    render.reset_engine()


def test_it_is_installed_with_the_engine():
    render._get_engine()
    assert weasyprint_text.draw_first_line is text.draw_first_line
    assert line_break.get_font_description is text._font_description


@pytest.mark.parametrize("large_print", [False, True], ids=["standard", "large-print"])
def test_a_handout_is_drawn_the_same(awkward_plan, large_print):  # noqa: F811
    fast, plain = with_and_without(text, handout_html(awkward_plan, large_print=large_print))
    assert fast == plain


def test_odd_text_is_drawn_the_same():
    fast, plain = with_and_without(text, ODD_TEXT)
    assert operators(fast) == operators(plain)
    assert len(operators(fast)) == 2


def test_a_handout_draws_every_line_from_the_layout_it_was_laid_out_with(
    awkward_plan,  # noqa: F811
    monkeypatch,
):
    html = handout_html(awkward_plan)
    render.render_pdf_html(html)
    made_again: list[Any] = []
    original = text._original_reactivate

    def spy(layout: Any, style: Any) -> None:
        made_again.append(layout)
        original(layout, style)

    monkeypatch.setattr(text, "_original_reactivate", spy)
    fallbacks: list[Any] = []

    def fallback(*args: Any) -> list[Any]:
        fallbacks.append(args)
        return []

    monkeypatch.setattr(text, "_original", fallback)
    render.render_pdf_html(html)
    assert made_again == []
    assert fallbacks == []
