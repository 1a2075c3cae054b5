"""A contact sheet of every drawing, for a clinic to review them by eye.

Every cell is the same size and the cells fill the page: a PDF has A4 landscape pages
with as many rows on each as fit, each row sized so that the rows fill the page's
height; a PNG is one long strip with no page breaks at all. Either way there is no
blank band between drawings.
"""

from __future__ import annotations

import math
import re
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from .svg import HEIGHT, WIDTH

# A4 landscape and its margins, in millimetres.
PAGE_W, PAGE_H, PAGE_MARGIN = 297.0, 210.0, 8.0
PAD = 1.2  # inside each cell, mm
BORDER = 0.2  # mm
CAPTION = 9.5  # the name (up to two lines) and the slug under each drawing, mm
# A drawing may be drawn narrower than its cell to let one more row fit on a page,
# but not below this part of the cell's width.
MIN_WIDTH = 0.8


@dataclass(frozen=True)
class Grid:
    """How the cells are laid out, in millimetres."""

    columns: int
    rows: int  # rows on each page (a strip has one page)
    cell_w: float
    cell_h: float
    page_h: float

    @property
    def per_page(self) -> int:
        return self.columns * self.rows


def grid(count: int, columns: int, *, strip: bool) -> Grid:
    """A4 pages filled from top to bottom, or one strip as long as the drawings need."""
    usable_w, usable_h = PAGE_W - 2 * PAGE_MARGIN, PAGE_H - 2 * PAGE_MARGIN
    cell_w = usable_w / columns
    natural_h = (cell_w - 2 * PAD) * HEIGHT / WIDTH + CAPTION + 2 * PAD
    if strip:
        rows = max(1, math.ceil(count / columns))
        # A millimetre to spare, so that rounding never pushes the last row onto a page
        # of its own.
        return Grid(columns, rows, cell_w, natural_h, rows * natural_h + 2 * PAGE_MARGIN + 1)
    # The most rows whose drawings stay at least MIN_WIDTH of the cell wide; then the
    # rows are stretched a little, if need be, so that they fill the page exactly.
    smallest_h = MIN_WIDTH * (cell_w - 2 * PAD) * HEIGHT / WIDTH + CAPTION + 2 * PAD
    rows = max(1, math.floor(usable_h / smallest_h))
    # A hair under the exact share, so that rounding never pushes the last row over.
    return Grid(columns, rows, cell_w, usable_h / rows - 0.1, PAGE_H)


def sheet_html(
    items: Iterable[tuple[str, str, str]], *, columns: int = 4, strip: bool = False
) -> str:
    """items: (slug, name, svg source)."""
    cells = list(items)
    g = grid(len(cells), columns, strip=strip)
    image_h = g.cell_h - CAPTION - 2 * PAD - BORDER
    image_w = min(g.cell_w - 2 * PAD, image_h * WIDTH / HEIGHT)
    html_cells = []
    for slug, name, svg in cells:
        # Inline, so nothing is fetched; every drawing drawn at the same size.
        svg = re.sub(
            r'width="\d+" height="\d+"',
            f'width="{image_w:.2f}mm" height="{image_w * HEIGHT / WIDTH:.2f}mm"',
            svg,
            count=1,
        )
        html_cells.append(
            f"<td><div class='img'>{svg}</div>"
            f"<div class='cap'><b>{escape(name)}</b><br><code>{escape(slug)}</code></div></td>"
        )
    pages = _chunks(html_cells, g.per_page) or [[]]
    tables = []
    for page in pages:
        rows = _chunks(page, columns)
        tables.append("<table>" + "".join("<tr>" + "".join(r) + "</tr>" for r in rows) + "</table>")
    return (
        "<!doctype html><html><head><meta charset='utf-8'><style>"
        f"@page {{ size: {PAGE_W}mm {g.page_h:.2f}mm; margin: {PAGE_MARGIN}mm }}"
        "body { font: 7.5pt 'DejaVu Sans', sans-serif; margin: 0 }"
        "table { border-collapse: collapse; table-layout: fixed; width: 100%;"
        " break-after: page }"
        "table:last-child { break-after: auto }"
        # Widths and heights are inside the padding and the hairline border.
        f"td {{ width: {g.cell_w - 2 * PAD - BORDER:.2f}mm;"
        f" height: {g.cell_h - 2 * PAD - BORDER:.2f}mm; padding: {PAD}mm;"
        f" border: {BORDER}mm solid #ccc; vertical-align: top; overflow: hidden }}"
        f".img {{ height: {image_h:.2f}mm }}"
        ".img svg { display: block; margin: 0 auto }"
        f".cap {{ height: {CAPTION:.2f}mm; overflow: hidden; line-height: 1.2 }}"
        "code { color: #666 }"
        "</style></head><body>" + "".join(tables) + "</body></html>"
    )


def _chunks(seq: Sequence[str], size: int) -> list[list[str]]:
    return [list(seq[i : i + size]) for i in range(0, len(seq), size)]


def write_pdf(html: str, target: Path) -> None:
    from weasyprint import HTML

    # Everything on the sheet is inline text and SVG: there is nothing to fetch.
    HTML(string=html).write_pdf(target)


def write_png(html: str, target: Path, *, dpi: int = 110) -> None:
    """One PNG of the sheet (made with ``strip=True``, it is one page long)."""
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "sheet.pdf"
        write_pdf(html, pdf)
        # A fixed program (Debian's poppler-utils) with our own paths as arguments.
        command = ["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(Path(tmp) / "page")]
        subprocess.run(command, check=True, timeout=120)  # noqa: S603
        pages = [Image.open(p) for p in sorted(Path(tmp).glob("page*.png"))]
        width = max(p.width for p in pages)
        out = Image.new("RGB", (width, sum(p.height for p in pages)), "white")
        y = 0
        for page in pages:
            out.paste(page, (0, y))
            y += page.height
        out.save(target, optimize=True)
