"""`backup` while sessions are being written, then `restore` into a new database."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from clinic import backup

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


def postgres_url(name: str) -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name}"


def manage(
    database_url: str, media: Path, *args: str, storage: str = "database"
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(media),
        "MEDIA_STORAGE": storage,
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


class Databases:
    """The source database (the test database's schema and rows), a new empty
    target, and a raw connection factory for each, on the engine the suite runs on."""

    def __init__(self, tmp_path: Path) -> None:
        self.vendor = connection.vendor
        if self.vendor == "sqlite":
            self.source_path = tmp_path / "source.sqlite3"
            self.target_path = tmp_path / "target.sqlite3"
            connection.ensure_connection()
            copy = sqlite3.connect(self.source_path)
            connection.connection.backup(copy)
            copy.execute("PRAGMA journal_mode=WAL")
            copy.close()
            self.source_url = f"sqlite:///{self.source_path}"
            self.target_url = f"sqlite:///{self.target_path}"
        else:
            if shutil.which("pg_dump") is None:
                pytest.skip("pg_dump is not installed")
            self.target_name = f"restore_{uuid.uuid4().hex[:12]}"
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{self.target_name}"')
            self.source_url = postgres_url(connection.settings_dict["NAME"])
            self.target_url = postgres_url(self.target_name)

    def connect(self, which: str) -> Any:
        if self.vendor == "sqlite":
            path = self.source_path if which == "source" else self.target_path
            return sqlite3.connect(path, timeout=30, isolation_level=None)
        import psycopg

        return psycopg.connect(
            self.source_url if which == "source" else self.target_url, autocommit=True
        )

    def figures(self, which: str) -> backup.TableFigures:
        if self.vendor == "sqlite":
            return backup.sqlite_figures(self.target_path)
        with self.connect(which) as db, db.cursor() as cursor:
            return backup.postgres_figures(cursor)

    def count(self, which: str, table: str) -> int:
        db = self.connect(which)
        try:
            return int(db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])  # noqa: S608
        finally:
            db.close()

    def drop(self) -> None:
        if self.vendor != "sqlite":
            with connection.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{self.target_name}" WITH (FORCE)')


@pytest.fixture
def stored_logo(clinic) -> bytes:
    """A logo in the database storage (the default), before the source database is copied."""
    logo = b"\x89PNG the clinic's logo"
    clinic.logo.save("logo.png", ContentFile(logo), save=True)
    return logo


@pytest.fixture
def databases(tmp_path, patient, plan, stored_logo) -> Iterator[Databases]:
    dbs = Databases(tmp_path)
    yield dbs
    dbs.drop()


class SessionWriter(threading.Thread):
    """Writes session rows, one per statement, as a busy server would."""

    def __init__(self, connect: Callable[[], Any], placeholder: str) -> None:
        super().__init__(daemon=True)
        self.connect, self.placeholder = connect, placeholder
        self.stop = threading.Event()
        self.written = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        db = self.connect()
        p = self.placeholder
        columns = "django_session (session_key, session_data, expire_date)"
        sql = f"INSERT INTO {columns} VALUES ({p}, {p}, {p})"  # noqa: S608
        try:
            while not self.stop.is_set():
                db.execute(sql, (uuid.uuid4().hex, "x" * 200, timezone.now().isoformat()))
                self.written += 1
                self.stop.wait(0.002)
        except BaseException as error:
            self.error = error
        finally:
            db.close()


def test_it_backs_up_while_sessions_are_written_and_restores_every_row(databases, tmp_path):
    media = tmp_path / "media"
    (media / "exercises").mkdir(parents=True)
    (media / "exercises" / "curl.png").write_bytes(b"\x89PNG picture")
    writer = SessionWriter(
        lambda: databases.connect("source"), "?" if databases.vendor == "sqlite" else "%s"
    )
    writer.start()
    try:
        while writer.written < 20 and writer.error is None:
            writer.stop.wait(0.01)
        before = databases.count("source", "django_session")
        done = manage(
            databases.source_url, media, "backup", str(tmp_path / "backups"), storage="files"
        )
        assert done.returncode == 0, done.stderr
        written_during = writer.written
        writer.stop.wait(0.2)
    finally:
        writer.stop.set()
        writer.join(timeout=10)
    assert writer.error is None
    after = databases.count("source", "django_session")

    (folder,) = (tmp_path / "backups").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    backed_up = manifest["tables"]["django_session"]["rows"]
    # The copy is of one instant while writes went on around it.
    assert before <= backed_up < after, (before, backed_up, after, written_during)
    assert manifest["tables"]["clinic_patient"]["rows"] == 1
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path

    restored_media = tmp_path / "restored-media"
    done = manage(databases.target_url, restored_media, "restore", str(folder), storage="files")
    assert done.returncode == 0, done.stderr
    assert "every table's checksum matches" in done.stdout

    restored = databases.figures("target")
    assert restored == manifest["tables"]
    for table, figures in manifest["tables"].items():
        assert databases.count("target", table) == figures["rows"], table
    assert (restored_media / "exercises" / "curl.png").read_bytes() == b"\x89PNG picture"


def test_it_backs_up_files_kept_in_the_database_with_the_database(databases, tmp_path, stored_logo):
    media = tmp_path / "media"
    done = manage(databases.source_url, media, "backup", str(tmp_path / "backups"))
    assert done.returncode == 0, done.stderr
    assert "media: 1 files, in the database" in done.stdout
    (folder,) = (tmp_path / "backups").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["media_storage"] == "database"
    assert manifest["tables"]["clinic_storedfile"]["rows"] == 1

    done = manage(databases.target_url, tmp_path / "restored-media", "restore", str(folder))
    assert done.returncode == 0, done.stderr
    assert "every table's checksum matches" in done.stdout
    target = databases.connect("target")
    try:
        (content,) = target.execute("SELECT content FROM clinic_storedfile").fetchall()[0]
    finally:
        target.close()
    assert bytes(content) == stored_logo
    assert not media.exists() and not (tmp_path / "restored-media").exists()


def test_it_moves_a_media_folder_into_the_database_on_restore(databases, tmp_path):
    media = tmp_path / "media"
    (media / "exercises").mkdir(parents=True)
    (media / "exercises" / "curl.png").write_bytes(b"\x89PNG picture")
    done = manage(databases.source_url, media, "backup", str(tmp_path / "b"), storage="files")
    assert done.returncode == 0, done.stderr
    (folder,) = (tmp_path / "b").iterdir()

    done = manage(databases.target_url, tmp_path / "restored-media", "restore", str(folder))
    assert done.returncode == 0, done.stderr
    assert "media: 1 files" in done.stdout
    target = databases.connect("target")
    try:
        rows = target.execute("SELECT name, content FROM clinic_storedfile ORDER BY name")
        stored = {name: bytes(content) for name, content in rows.fetchall()}
    finally:
        target.close()
    assert stored["exercises/curl.png"] == b"\x89PNG picture"


def test_it_refuses_to_restore_over_a_database_in_use(databases, tmp_path):
    done = manage(databases.source_url, tmp_path / "media", "backup", str(tmp_path / "b"))
    assert done.returncode == 0, done.stderr
    (folder,) = (tmp_path / "b").iterdir()
    done = manage(databases.source_url, tmp_path / "other-media", "restore", str(folder))
    assert done.returncode == 1
    assert "already has tables" in done.stderr


def test_it_refuses_a_damaged_backup(databases, tmp_path):
    done = manage(databases.source_url, tmp_path / "media", "backup", str(tmp_path / "b"))
    assert done.returncode == 0, done.stderr
    (folder,) = (tmp_path / "b").iterdir()
    database_file = folder / json.loads((folder / "manifest.json").read_text())["database_file"]
    with database_file.open("r+b") as handle:
        handle.seek(2000)
        handle.write(b"damage")
    with pytest.raises(CommandError, match="does not match its checksum"):
        call_command("restore", str(folder))


def test_it_says_how_to_get_pg_dump_when_it_is_missing(monkeypatch):
    monkeypatch.setattr("clinic.backup.shutil.which", lambda name: None)
    with pytest.raises(backup.BackupError, match="apt-get install postgresql-client"):
        backup.pg_tool("pg_dump")
