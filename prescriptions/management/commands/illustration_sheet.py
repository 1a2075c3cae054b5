"""Draw every exercise illustration on one contact sheet (PDF or PNG) to review them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from prescriptions.illustrations import exercise_names, render_svg
from prescriptions.illustrations.scene import all_scenes
from prescriptions.illustrations.sheet import sheet_html, write_pdf, write_png


class Command(BaseCommand):
    help = "Render every exercise drawing, with its name and slug, onto one sheet (PNG or PDF) for review."  # noqa: E501

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("-o", "--output", type=Path, required=True, help="FILE.png or FILE.pdf")
        parser.add_argument("--columns", type=int, default=4)
        parser.add_argument("--dpi", type=int, default=110, help="PNG resolution")
        parser.add_argument("slugs", nargs="*", help="Only these exercises")

    def handle(
        self, *args: Any, output: Path, columns: int, dpi: int, slugs: list[str], **options: Any
    ) -> None:
        suffix = output.suffix.lower()
        if suffix not in (".png", ".pdf"):
            raise CommandError("The output must end in .png or .pdf")
        if not 1 <= columns <= 8:
            raise CommandError("--columns must be between 1 and 8")
        names = exercise_names()
        scenes = [s for s in all_scenes() if not slugs or s.slug in slugs]
        unknown = set(slugs) - {s.slug for s in scenes}
        if unknown:
            raise CommandError(f"No pose description for: {', '.join(sorted(unknown))}")
        items = [
            (s.slug, names.get(s.slug, s.slug), render_svg(s, names.get(s.slug, s.slug)))
            for s in scenes
        ]
        # A PDF is printed on A4 pages; a PNG is looked at on screen, as one long strip.
        html = sheet_html(items, columns=columns, strip=suffix == ".png")
        if suffix == ".pdf":
            write_pdf(html, output)
        else:
            write_png(html, output, dpi=dpi)
        self.stdout.write(f"Wrote {len(items)} drawings to {output}")
