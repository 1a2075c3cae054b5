"""Write a plan's handout to a PDF file: `manage.py handout PLAN_ID -o FILE.pdf`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from clinic.scoping import scope, unscoped
from prescriptions.handouts import handout_bytes
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
        # The operator names a plan of any clinic; the render then runs in that clinic's scope.
        with unscoped():
            plan = Plan.objects.select_related("patient").filter(pk=plan_id).first()
        if plan is None:
            raise CommandError(f"There is no plan with ID {plan_id}.")
        target = Path(output or f"handout-{plan_id}.pdf")
        if target.is_dir():
            raise CommandError(f"{target} is a folder; give a file name such as plan.pdf.")
        if not target.parent.is_dir():
            raise CommandError(f"The folder {target.parent} does not exist.")
        with scope(plan.patient.clinic_id):
            data = handout_bytes(plan)
        target.write_bytes(data)
        self.stdout.write(self.style.SUCCESS(f"Wrote {target} ({len(data):,} bytes)."))
