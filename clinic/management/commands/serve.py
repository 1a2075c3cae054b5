"""Serve Rehabit for local use: the web server and the background task worker together."""

import subprocess
import sys
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the development web server and the django.tasks worker side by side."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args: Any, addrport: str, **options: Any) -> None:
        # The worker renders handouts in the background so that downloads are instant.
        worker = subprocess.Popen([sys.executable, "manage.py", "db_worker", "--interval", "1"])
        self.stdout.write(
            self.style.SUCCESS(
                f"\nRehabit is running at http://{addrport}/\n"
                f"  Therapist admin: http://{addrport}/admin/\n"
                f"  Patient portal:  http://{addrport}/portal/\n"
            )
        )
        try:
            call_command("runserver", addrport, use_reloader=False)
        finally:
            worker.terminate()
            worker.wait(timeout=10)
