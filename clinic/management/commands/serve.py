"""Serve Rehabit for local use: the web server and the background workers together."""

import subprocess
import sys
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Run the development web server, the django.tasks worker and the exercise "
        "reminder sender side by side."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args: Any, addrport: str, **options: Any) -> None:
        # The worker renders handouts in the background so that downloads are instant.
        worker = subprocess.Popen([sys.executable, "manage.py", "db_worker", "--interval", "1"])
        # Reminder emails, a pass a minute; in development they print to this terminal.
        reminders = subprocess.Popen(
            [sys.executable, "manage.py", "send_reminders", "--loop", "--interval", "60"]
        )
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
            for process in (worker, reminders):
                process.terminate()
            for process in (worker, reminders):
                process.wait(timeout=10)
