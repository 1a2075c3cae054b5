"""Write a plan's handout to a PDF file: `manage.py handout PLAN_ID -o FILE.pdf`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from prescriptions.models import Plan


class Command(BaseCommand):
    help = "Render a plan's PDF handout (from the cache when it is unchanged) to a file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("plan_id", type=int, help="The plan's ID, as in its admin URL.")
        parser.add_argument(
            "-o",
            "--output",
            help="Where to write the PDF (default: handout-PLAN_ID.pdf in this folder).",
        )

    def handle(self, *args: Any, plan_id: int, output: str | None, **options: Any) -> None:
        from prescriptions.handouts import handout_bytes

        plan = Plan.objects.filter(pk=plan_id).first()
        if plan is None:
            raise CommandError(f"There is no plan with ID {plan_id}.")
        target = Path(output or f"handout-{plan_id}.pdf")
        if target.is_dir():
            raise CommandError(f"{target} is a folder; give a file name such as plan.pdf.")
        if not target.parent.is_dir():
            raise CommandError(f"The folder {target.parent} does not exist.")
        data = handout_bytes(plan)
        target.write_bytes(data)
        self.stdout.write(self.style.SUCCESS(f"Wrote {target} ({len(data):,} bytes)."))
