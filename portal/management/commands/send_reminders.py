"""Send the exercise reminder emails that are due now (see portal/reminders.py)."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections

from portal.reminders import LATE_WINDOW, PassResult, send_due_reminders

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Send the exercise reminder emails that are due now, then stop. Run it every "
        "5 minutes from cron or a systemd timer, or once with --loop as a service. "
        f"Reminders more than {LATE_WINDOW.total_seconds() / 3600:g} hours late are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--loop",
            action="store_true",
            help="Keep running, one pass every --interval seconds.",
        )
        parser.add_argument(
            "--interval",
            type=int,
            default=60,
            help="Seconds between passes with --loop (default 60).",
        )

    def handle(self, *args: Any, loop: bool, interval: int, **options: Any) -> None:
        if interval < 1:
            raise CommandError("--interval must be at least 1 second.")
        verbosity: int = options["verbosity"]
        if not loop:
            result = self._one_pass()
            if verbosity >= 1 or result.failed:
                self._report(result)
            if result.failed:
                # A non-zero exit shows up in cron mail and as a failed systemd unit.
                raise CommandError(f"{result.failed} reminder(s) could not be sent; see the log.")
            return
        if verbosity >= 1:
            self.stdout.write(f"Sending exercise reminders every {interval} seconds.")
        try:
            while True:
                # A long-running process must not hold on to a connection the
                # database has closed in the meantime.
                close_old_connections()
                try:
                    result = self._one_pass()
                except CommandError:
                    raise
                except Exception:
                    # The database may be restarting: try again next time.
                    logger.exception("Reminder pass failed.")
                else:
                    if verbosity >= 1 and (result.sent or result.failed):
                        self._report(result)
                time.sleep(interval)
        except KeyboardInterrupt:
            pass

    def _one_pass(self) -> PassResult:
        try:
            return send_due_reminders()
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error

    def _report(self, result: PassResult) -> None:
        self.stdout.write(
            f"Reminders: {result.sent} sent, {result.skipped} skipped, {result.failed} failed."
        )
