"""WeasyPrint and pydyf with the handout's speedups (handouts.speedups) write the same PDF."""

from __future__ import annotations

from collections.abc import Iterator

import pydyf
import pytest
from weasyprint.formatting_structure import boxes
from weasyprint.layout import block, page, percent

from prescriptions.handouts import render, speedups, text

from .handout_patches import with_and_without
from .test_handout_parse import awkward_plan, handout_html  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db

LAYOUTS = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Layouts</title>
<style>
@page { size: A5; margin: 10% 12mm 15mm; @top-center { content: element(header); }
  @bottom-right { content: counter(page); width: 20%; } }
body { font-family: "Liberation Sans", sans-serif; font-size: 10pt; }
header { position: running(header); }
.float { float: left; width: 30%; margin: 0 2% 2mm 0; padding: 1mm; border: 1pt solid; }
.right { float: right; width: calc(20% + 5mm); min-height: 10mm; }
.abs { position: absolute; top: 10%; right: 5mm; width: 25mm; height: 8mm; border: 1pt solid; }
.fixed { position: fixed; bottom: 0; left: 0; width: 50%; }
.box { box-sizing: border-box; width: 80%; max-width: 100mm; min-width: 20mm;
  padding: 2% 3mm; margin: 1em auto; border: 2pt solid; }
.note { float: footnote; }
table { border-collapse: collapse; width: 90%; }
td { border: 1pt solid; padding: 1mm; width: 33%; }
.flex { display: flex; gap: 2mm; } .flex > div { flex: 1; padding: 5%; }
.relative { position: relative; left: 10%; max-height: 50%; }
</style></head><body>
<header>Running header</header>
<div class="fixed">Fixed on every page</div>
<div class="abs">Absolute</div>
<p class="float">A float with a percentage width and margins.</p>
<p class="right">A float with calc().</p>
<p>Text beside the floats, long enough to wrap around them on several lines, with a
footnote<span class="note">The footnote's text.</span> in the middle.</p>
<div class="box">A border-box block with percentage padding and min and max widths.</div>
<table><tr><td>One</td><td>Two</td><td>Three</td></tr><tr><td colspan="2">Four</td>
<td>Five</td></tr></table>
<div class="flex"><div>Flex one</div><div>Flex two with more text</div></div>
<div class="relative">Relatively positioned, with a percentage max height.</div>
<ul><li>A list item with a marker</li><li>Another</li></ul>
<p style="break-before: page">A second page.</p>
</body></html>"""


@pytest.fixture(autouse=True)
def fresh_engine() -> Iterator[None]:
    render.reset_engine()
    yield
    speedups.install()
    render.reset_engine()


def test_it_is_installed_with_the_engine():
    render._get_engine()
    assert percent.resolve_percentages is speedups.resolve_percentages
    assert block.resolve_percentages is page.resolve_percentages is speedups.resolve_percentages
    assert boxes.Box.is_in_normal_flow is speedups.is_in_normal_flow
    assert pydyf.Stream.data.fget is speedups._stream_data
    assert pydyf.Dictionary.data.fget is speedups._dictionary_data


def test_uninstalling_gives_weasyprint_its_own_back():
    render._get_engine()
    speedups.uninstall()
    assert block.resolve_percentages is percent.resolve_percentages
    assert percent.resolve_percentages is not speedups.resolve_percentages
    assert boxes.Box.is_in_normal_flow is not speedups.is_in_normal_flow
    assert pydyf.Stream.data.fget is not speedups._stream_data


@pytest.mark.parametrize("large_print", [False, True], ids=["standard", "large-print"])
def test_a_handout_is_laid_out_the_same(awkward_plan, large_print):  # noqa: F811
    fast, plain = with_and_without(speedups, handout_html(awkward_plan, large_print=large_print))
    assert fast == plain


def test_floats_positions_tables_and_percentages_are_laid_out_the_same():
    fast, plain = with_and_without(speedups, LAYOUTS)
    assert fast == plain
    assert render.render_pdf_html(LAYOUTS).pages == 2


def test_the_pinned_releases_are_the_ones_the_speedups_were_written_for():
    # pyproject.toml pins WeasyPrint and pydyf: a new pin needs the comparisons above
    # run again, and render.PATCHED_RELEASES moved with it.
    assert render.patches_fit()


def test_another_release_renders_without_the_speedups(monkeypatch, caplog):
    monkeypatch.setattr(render, "PATCHED_RELEASES", {"weasyprint": "71.0", "pydyf": "0.13.0"})
    monkeypatch.setattr(render, "_engine", None)
    speedups.uninstall()
    text.uninstall()
    try:
        render._get_engine()
        assert not speedups._originals
        assert text._original is None
        assert "without their speed-ups: they were written for weasyprint 71.0" in caplog.text
    finally:
        speedups.install()
        text.install()
