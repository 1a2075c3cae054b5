"""Backups a clinic can restore: a consistent copy of the database taken while the app
serves writes, the media folder beside it, and a manifest to check a restore against.

Where uploads and handouts live decides what is copied (MEDIA_STORAGE): in the
database (the default), they are rows of the dump like any other, and the media
archive is empty; in a media folder (`files`), the folder goes into the archive;
in object storage (`s3`), the bucket is not copied: back it up with its own tools.

* SQLite: the online backup API copies the database as of one instant (in WAL mode
  writers carry on meanwhile); the counts are then read from the copy itself.
* PostgreSQL: `pg_dump -Fc` run inside a snapshot that this module exports from a
  REPEATABLE READ transaction, which also counts the rows: the dump and the counts
  describe the same instant however many writes land meanwhile.

Every file is written with mode 600 in a folder of mode 700: they hold health data.
The manifest holds, per table, the number of rows and a checksum of their contents,
which `restore` recomputes on the restored database.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, storages
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

MANIFEST = "manifest.json"
MEDIA_ARCHIVE = "media.tar.gz"
SQLITE_FILE = "database.sqlite3"
POSTGRES_FILE = "database.pgdump"
FORMAT = 1

TableFigures = dict[str, dict[str, Any]]


class BackupError(Exception):
    """A backup or restore that cannot go ahead, with a message for the operator."""


@dataclass
class Backup:
    folder: Path
    manifest: dict[str, Any]


def engine_of(connection: BaseDatabaseWrapper) -> str:
    if connection.vendor not in {"sqlite", "postgresql"}:
        raise BackupError(f"Backups support SQLite and PostgreSQL, not {connection.vendor}.")
    return connection.vendor


@contextmanager
def private_files() -> Iterator[None]:
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- table figures: row counts and content checksums --------------------------------


def sqlite_figures(path: Path) -> TableFigures:
    """Rows and a checksum per table of an SQLite file (read-only)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type='table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        figures: TableFigures = {}
        for name in names:
            digest = hashlib.sha256()
            rows = 0
            quoted = '"' + name.replace('"', '""') + '"'
            for row in db.execute(f"SELECT * FROM {quoted} ORDER BY rowid"):  # noqa: S608
                digest.update(repr(row).encode())
                rows += 1
            figures[name] = {"rows": rows, "checksum": digest.hexdigest()}
        return figures
    finally:
        db.close()


def postgres_figures(cursor: Any) -> TableFigures:
    """Rows and a checksum per table, in the cursor's transaction (its snapshot).

    The checksum is over each row's text form, sorted, so it does not depend on
    the order a restore writes the rows in."""
    cursor.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
    )
    figures: TableFigures = {}
    for (name,) in cursor.fetchall():
        quoted = '"' + name.replace('"', '""') + '"'
        cursor.execute(
            "SELECT count(*), md5(coalesce(string_agg(md5(t::text), '' "  # noqa: S608
            f"ORDER BY md5(t::text)), '')) FROM {quoted} t"
        )
        rows, checksum = cursor.fetchone()
        figures[name] = {"rows": rows, "checksum": checksum}
    return figures


def current_figures(alias: str = DEFAULT_DB_ALIAS) -> TableFigures:
    connection = connections[alias]
    if engine_of(connection) == "sqlite":
        return sqlite_figures(Path(connection.settings_dict["NAME"]))
    with connection.cursor() as cursor:
        return postgres_figures(cursor)


# -- PostgreSQL client tools ---------------------------------------------------------


def pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} was not found. Install the PostgreSQL client tools of the server's "
            "version or newer (Debian: apt-get install postgresql-client) and try again."
        )
    return path


def pg_environment(settings_dict: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """Connection arguments for pg_dump/pg_restore; the password goes in the environment."""
    args = ["--dbname", settings_dict["NAME"]]
    if settings_dict.get("HOST"):
        args += ["--host", str(settings_dict["HOST"])]
    if settings_dict.get("PORT"):
        args += ["--port", str(settings_dict["PORT"])]
    if settings_dict.get("USER"):
        args += ["--username", str(settings_dict["USER"])]
    env = {**os.environ}
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    return args, env


def run_tool(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip()}")


# -- backup --------------------------------------------------------------------------


def backup_database(connection: BaseDatabaseWrapper, folder: Path) -> tuple[str, TableFigures]:
    if engine_of(connection) == "sqlite":
        source_path = Path(connection.settings_dict["NAME"])
        if not source_path.is_file():
            raise BackupError(f"The SQLite database {source_path} does not exist.")
        target = folder / SQLITE_FILE
        source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
        copy = sqlite3.connect(target)
        try:
            # One step: the whole database as of one instant.
            source.backup(copy)
            # The copy is one file: no -wal/-shm beside it (Rehabit turns WAL on again
            # when it opens a restored database).
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
            source.close()
        return SQLITE_FILE, sqlite_figures(target)

    pg_dump = pg_tool("pg_dump")
    args, env = pg_environment(connection.settings_dict)
    target = folder / POSTGRES_FILE
    # A connection of our own: the snapshot lives as long as its transaction.
    with connection.get_new_connection(connection.get_connection_params()) as own:
        own.autocommit = False
        with own.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            (snapshot,) = cursor.fetchone()
            run_tool(
                [
                    pg_dump,
                    "--format=custom",
                    "--no-owner",
                    f"--snapshot={snapshot}",
                    "--file",
                    str(target),
                    *args,
                ],
                env,
            )
            figures = postgres_figures(cursor)
        own.rollback()
    return POSTGRES_FILE, figures


def media_folder() -> Path | None:
    """The folder uploads and handouts are kept in, or None when they are not files on
    this server (in the database, or in object storage)."""
    storage = storages["default"]
    return Path(storage.location) if isinstance(storage, FileSystemStorage) else None


def media_storage_kind() -> str:
    from clinic.storage import DatabaseStorage

    storage = storages["default"]
    if isinstance(storage, DatabaseStorage):
        return "database"
    return "files" if isinstance(storage, FileSystemStorage) else "other"


def backup_media(folder: Path) -> int:
    media = media_folder()
    files = 0
    with tarfile.open(folder / MEDIA_ARCHIVE, "w:gz") as archive:
        if media is not None and media.is_dir():
            for path in sorted(media.rglob("*")):
                if path.is_file() and not path.name.startswith(".healthz-"):
                    archive.add(path, arcname=str(path.relative_to(media)), recursive=False)
                    files += 1
    return files


def make_backup(destination: Path, alias: str = DEFAULT_DB_ALIAS) -> Backup:
    connection = connections[alias]
    engine = engine_of(connection)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    with private_files():
        destination.mkdir(parents=True, exist_ok=True)
        folder = destination / f"rehabit-{stamp}"
        suffix = 1
        while folder.exists():
            suffix += 1
            folder = destination / f"rehabit-{stamp}-{suffix}"
        folder.mkdir(mode=0o700)
        database_file, tables = backup_database(connection, folder)
        media_files = backup_media(folder)
        manifest = {
            "format": FORMAT,
            "created_at": timezone.now().isoformat(),
            "engine": engine,
            "database_file": database_file,
            "media_file": MEDIA_ARCHIVE,
            "media_files": media_files,
            "media_storage": media_storage_kind(),
            "sha256": {name: sha256_of(folder / name) for name in (database_file, MEDIA_ARCHIVE)},
            "tables": tables,
        }
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        for path in folder.iterdir():
            path.chmod(0o600)
    return Backup(folder, manifest)


# -- restore -------------------------------------------------------------------------


def read_backup(folder: Path) -> Backup:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as error:
        raise BackupError(f"{folder} holds no readable {MANIFEST}: {error}") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"Unknown backup format {manifest.get('format')!r}.")
    for name, expected in manifest["sha256"].items():
        if not (folder / name).is_file():
            raise BackupError(f"The backup is missing {name}.")
        if sha256_of(folder / name) != expected:
            raise BackupError(f"{name} does not match its checksum: the backup is damaged.")
    return Backup(folder, manifest)


def restore_database(backup: Backup, alias: str = DEFAULT_DB_ALIAS) -> None:
    connection = connections[alias]
    engine = engine_of(connection)
    if engine != backup.manifest["engine"]:
        raise BackupError(
            f"This backup is of a {backup.manifest['engine']} database; the configured "
            f"database is {engine}."
        )
    if connection.introspection.table_names():
        raise BackupError(
            "The configured database already has tables. Restore into a new, empty "
            "database (see the README), so that nothing is overwritten by accident."
        )
    source = backup.folder / backup.manifest["database_file"]
    if engine == "sqlite":
        connection.close()
        target_path = Path(connection.settings_dict["NAME"])
        target_path.parent.mkdir(parents=True, exist_ok=True)
        with private_files():
            origin = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            target = sqlite3.connect(target_path)
            try:
                origin.backup(target)
            finally:
                target.close()
                origin.close()
        return
    pg_restore = pg_tool("pg_restore")
    args, env = pg_environment(connection.settings_dict)
    connection.close()
    run_tool(
        [pg_restore, "--no-owner", "--no-privileges", "--exit-on-error", *args, str(source)],
        env,
    )


def check_media_empty() -> None:
    media = media_folder()
    if media is None:
        # In the database: the database must be empty, which restore_database checks.
        # In object storage: a bucket is restored with its own tools.
        return
    if media.is_dir() and any(media.iterdir()):
        raise BackupError(
            f"The media folder {media} is not empty. Restore into an empty folder "
            "(move the present one aside first)."
        )


def restore_media(backup: Backup) -> int:
    """The archived media files, into the media folder or, when uploads are kept
    elsewhere (the database), into the storage under the same names. After the
    database is restored and checked: stored files are rows too."""
    check_media_empty()
    archive_path = backup.folder / backup.manifest["media_file"]
    media = media_folder()
    if media is not None:
        media.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive_path, "r:gz") as archive:
            members = archive.getmembers()
            # The "data" filter refuses absolute paths, links out of the folder and devices.
            archive.extractall(media, filter="data")
        return len(members)
    storage = storages["default"]
    files = 0
    with tarfile.open(archive_path, "r:gz") as archive:
        for member in archive.getmembers():
            if not member.isfile():
                continue
            name = tarfile.data_filter(member, "/nonexistent").name
            extracted = archive.extractfile(member)
            assert extracted is not None
            if storage.exists(name):
                raise BackupError(f"{name} is in the backup and in the media storage already.")
            storage.save(name, ContentFile(extracted.read()))
            files += 1
    return files


def compare(expected: TableFigures, actual: TableFigures) -> list[str]:
    """The tables whose rows or checksum differ, as readable lines (empty: all match)."""
    problems = []
    for name in sorted(set(expected) | set(actual)):
        want, got = expected.get(name), actual.get(name)
        if want is None or got is None:
            problems.append(f"{name}: {'missing' if got is None else 'not in the backup'}")
        elif want != got:
            problems.append(f"{name}: {want['rows']} rows expected, {got['rows']} restored")
    return problems
