"""`manage.py restore FOLDER`: a backup into a new, empty database and media folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from clinic.backup import (
    BackupError,
    check_media_empty,
    compare,
    current_figures,
    read_backup,
    restore_database,
    restore_media,
)


class Command(BaseCommand):
    help = (
        "Restore a folder made by `backup` into the configured database, which must be "
        "new and empty, and the media folder, which must be empty; then check every "
        "table's row count and checksum against the backup's manifest."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path, help="A folder made by `manage.py backup`.")

    def handle(self, *args: Any, folder: Path, **options: Any) -> None:
        try:
            backup = read_backup(folder)
            check_media_empty()
            restore_database(backup)
        except BackupError as error:
            raise CommandError(str(error)) from None
        expected = backup.manifest["tables"]
        problems = compare(expected, current_figures())
        if problems:
            raise CommandError(
                "The restored database differs from the backup:\n  " + "\n  ".join(problems)
            )
        try:
            # After the check: into database storage, the archived files are new rows.
            files = restore_media(backup)
        except BackupError as error:
            raise CommandError(str(error)) from None
        rows = sum(table["rows"] for table in expected.values())
        self.stdout.write(
            self.style.SUCCESS(f"Restored {folder}")
            + f"\n  {len(expected)} tables, {rows} rows, every table's checksum matches"
            + f"\n  media: {files} files"
        )
