"""Remove audit entries older than the retention period (settings.AUDIT_RETENTION_DAYS)."""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from clinic.models import AuditEntry


def prune(days: int) -> int:
    """Delete the entries older than `days` days; returns how many.

    The only way entries leave the trail. On PostgreSQL the append-only trigger
    lets a DELETE through only for rows older than the cut-off this transaction
    names in `rehabit.audit_prune_before`.
    """
    cutoff = timezone.now() - datetime.timedelta(days=days)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('rehabit.audit_prune_before', %s, true)",
                    [cutoff.isoformat()],
                )
        old = AuditEntry._base_manager.filter(timestamp__lt=cutoff)
        return old._raw_delete(old.db)


class Command(BaseCommand):
    help = "Remove audit entries older than AUDIT_RETENTION_DAYS (or --days)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Keep this many days instead of settings.AUDIT_RETENTION_DAYS.",
        )

    def handle(self, *args: Any, days: int | None, **options: Any) -> None:
        keep = settings.AUDIT_RETENTION_DAYS if days is None else days
        if keep < 1:
            raise CommandError("--days must be at least 1.")
        removed = prune(keep)
        self.stdout.write(f"Removed {removed} audit entries older than {keep} days.")
