"""A picture of a handout's first exercise page, for the plan builder's preview.

The page is rendered by this package like any handout (same template, stylesheet
and renderer), then drawn as a PNG by poppler's pdftoppm, which the visual checks
already use. Without pdftoppm there is no picture, and the builder says so.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from prescriptions.handouts.context import render_html
from prescriptions.handouts.render import render_page_pdf
from prescriptions.models import Plan, PlanItem

# Pixels per inch: an A4 page about 500 px wide, legible beside the builder.
PREVIEW_DPI = 60
PDFTOPPM_TIMEOUT_SECONDS = 20


def preview_available() -> bool:
    return shutil.which("pdftoppm") is not None


def first_exercise_png(plan: Plan, items: list[PlanItem]) -> bytes | None:
    """The handout page that shows exercise 1, as a PNG; None without exercises or pdftoppm."""
    tool = shutil.which("pdftoppm")
    if tool is None or not items:
        return None
    pdf = render_page_pdf(render_html(plan, items), "exercise-1")
    if pdf is None:
        return None
    with tempfile.TemporaryDirectory(prefix="rehabit-preview-") as folder:
        source = Path(folder) / "page.pdf"
        source.write_bytes(pdf)
        subprocess.run(  # noqa: S603 - a fixed tool on a file we wrote
            [tool, "-png", "-singlefile", "-r", str(PREVIEW_DPI), str(source), str(source)],
            check=True,
            timeout=PDFTOPPM_TIMEOUT_SECONDS,
            capture_output=True,
        )
        return source.with_suffix(".pdf.png").read_bytes()
