"""Load or refresh the shared exercise library and protocols that ship with Rehabit."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from prescriptions.library.loader import LibraryError, load_library


class Command(BaseCommand):
    help = (
        "Create or update the shared exercise library and protocols from "
        "prescriptions/library/*.toml. Safe to run again: clinics' own exercises "
        "and templates are never touched."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = load_library()
        except LibraryError as error:
            raise CommandError(f"The library was not loaded: {error}") from None
        self.stdout.write(f"Exercises: {report.exercises}.")
        self.stdout.write(f"Protocols: {report.templates}.")
        self.stdout.write(f"Education pages: {report.pages}.")
        if report.changed:
            self.stdout.write(self.style.SUCCESS("Library loaded."))
        else:
            self.stdout.write("Library already up to date.")
