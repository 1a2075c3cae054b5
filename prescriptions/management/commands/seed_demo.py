"""Fill the database with demo clinics, logins, patients, plans and four weeks of logs."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from prescriptions.demo import seed_demo


class Command(BaseCommand):
    help = (
        "Create the demo clinics, therapist and patient logins, plans and four weeks of "
        "session logs. Safe to run again: nothing is duplicated or changed. Loads the "
        "exercise library first if it is missing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--allow-without-debug",
            action="store_true",
            help="Run even though DEBUG is off. The demo accounts have published passwords.",
        )

    def handle(self, *args: Any, allow_without_debug: bool, **options: Any) -> None:
        if not settings.DEBUG and not allow_without_debug:
            raise CommandError(
                "seed_demo creates accounts with published passwords, so it only runs with "
                "DEBUG=true. Pass --allow-without-debug if this really is a demo server."
            )
        report = seed_demo()
        if report.created_total:
            made = ", ".join(f"{n} {what}" for what, n in report.created.items() if n)
            self.stdout.write(self.style.SUCCESS(f"Demo data created: {made}."))
        else:
            self.stdout.write("Demo data already in place; nothing changed.")
        self.stdout.write("\nDemo logins (email / password):")
        width = max(len(login.role) for login in report.logins)
        for login in report.logins:
            self.stdout.write(
                f"  {login.role:<{width}}  {login.email} / {login.password}  ({login.where})"
            )
        self.stdout.write(
            "  Other demo patients sign in with firstname.lastname@rehabit.example / "
            f"{report.logins[-1].password}."
        )
