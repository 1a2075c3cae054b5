"""`manage.py backup DIR`: the database and the media folder, restorable with `restore`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from clinic.backup import BackupError, make_backup
from clinic.models import StoredFile


class Command(BaseCommand):
    help = (
        "Back up the database (a consistent copy, safe while Rehabit is serving) and the "
        "media folder into a new folder under DIR, with a manifest of row counts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path, help="Where to put the new backup folder.")

    def handle(self, *args: Any, directory: Path, **options: Any) -> None:
        try:
            backup = make_backup(directory)
        except BackupError as error:
            raise CommandError(str(error)) from None
        tables = backup.manifest["tables"]
        rows = sum(table["rows"] for table in tables.values())
        kind = backup.manifest["media_storage"]
        if kind == "database":
            stored = tables.get(StoredFile._meta.db_table, {}).get("rows", 0)
            media = f"{stored} files, in the database"
        elif kind == "files":
            media = f"{backup.manifest['media_files']} files"
        else:
            media = "NOT COPIED: they are in object storage; back up the bucket with its own tools"
        self.stdout.write(
            self.style.SUCCESS(f"Backed up to {backup.folder}")
            + f"\n  {backup.manifest['engine']}: {len(tables)} tables, {rows} rows"
            + f"\n  media: {media}"
        )
