"""A contact sheet of every drawing, for a clinic to review them by eye."""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterable
from html import escape
from pathlib import Path


def sheet_html(items: Iterable[tuple[str, str, str]], *, columns: int = 4) -> str:
    """items: (slug, name, svg source)."""
    cells = []
    for slug, name, svg in items:
        # Inline, so nothing is fetched; fixed size so every cell matches.
        svg = re.sub(r'width="\d+" height="\d+"', 'width="100%" height="auto"', svg, count=1)
        cells.append(
            f"<td><div class='img'>{svg}</div>"
            f"<b>{escape(name)}</b><br><code>{escape(slug)}</code></td>"
        )
    rows = [
        "<tr>" + "".join(cells[i : i + columns]) + "</tr>" for i in range(0, len(cells), columns)
    ]
    return (
        "<!doctype html><html><head><meta charset='utf-8'><style>"
        "@page { size: A4 landscape; margin: 8mm }"
        "body { font: 7.5pt 'DejaVu Sans', sans-serif; margin: 0 }"
        "table { border-collapse: collapse; width: 100% }"
        "td { width: 25%; border: 0.5pt solid #ccc; padding: 3pt; vertical-align: top;"
        " page-break-inside: avoid }"
        ".img svg { width: 100%; height: auto; display: block; margin-bottom: 2pt }"
        "code { color: #666 }"
        "</style></head><body><table>" + "".join(rows) + "</table></body></html>"
    )


def write_pdf(html: str, target: Path) -> None:
    from weasyprint import HTML

    # Everything on the sheet is inline text and SVG: there is nothing to fetch.
    HTML(string=html).write_pdf(target)


def write_png(html: str, target: Path, *, dpi: int = 110) -> None:
    """One PNG: pages rendered by pdftoppm and stacked vertically."""
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
