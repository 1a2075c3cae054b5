"""Write the shipped exercise drawings (SVG) from the pose descriptions in poses.toml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from prescriptions.illustrations import ILLUSTRATIONS_DIR, exercise_names, render_svg
from prescriptions.illustrations.rules import all_problems
from prescriptions.illustrations.scene import all_scenes


class Command(BaseCommand):
    help = "Draw every shipped exercise from its pose description into the static illustrations folder."  # noqa: E501

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check", action="store_true", help="Only report pose problems and stale files."
        )
        parser.add_argument("-d", "--directory", type=Path, default=ILLUSTRATIONS_DIR)

    def handle(self, *args: Any, check: bool, directory: Path, **options: Any) -> None:
        scenes = all_scenes()
        problems = [p for scene in scenes for p in all_problems(scene)]
        for problem in problems:
            self.stderr.write(problem)
        names = exercise_names()
        stale = []
        if not check:
            directory.mkdir(parents=True, exist_ok=True)
        for scene in scenes:
            svg = render_svg(scene, names.get(scene.slug, scene.slug))
            target = directory / f"{scene.slug}.svg"
            if check:
                if not target.exists() or target.read_text() != svg:
                    stale.append(scene.slug)
            else:
                target.write_text(svg)
        if check and stale:
            raise CommandError(
                f"Out of date drawings (run build_illustrations): {', '.join(stale)}"
            )
        if problems:
            raise CommandError(f"{len(problems)} pose problems")
        verb = "Checked" if check else "Wrote"
        self.stdout.write(f"{verb} {len(scenes)} drawings in {directory}")
