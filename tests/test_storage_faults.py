"""A full handout store (issue 17): a 1 MB tmpfs filled up, mounted where the tests
run as root (`.ci/run` does; skipped with the reason elsewhere). Downloads still
work, served from memory; no zero-byte or partial file and no row is left behind;
once there is room the handout is stored again. And which faults are a 503."""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.db import OperationalError, ProgrammingError
from django.urls import reverse

from clinic.errors import is_unavailable
from clinic.scoping import unscoped
from clinic.storage import AtomicFileSystemStorage
from prescriptions.models import Handout
from tests.conftest import login
from tests.live import fill_disk, small_tmpfs

FILES = "clinic.storage.AtomicFileSystemStorage"


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "media", size="1m") as mount:
        fill_disk(mount, leave_bytes=8192)
        yield mount


def left_behind(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and p.name != "filler"]


@pytest.mark.django_db
def test_a_full_handout_store_still_serves_the_pdf_and_leaves_nothing_behind(
    client, patient, plan, full_disk, settings
):
    # The store on a full disk: MEDIA_STORAGE=files (a full database is a 503, below).
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": FILES}}
    settings.MEDIA_ROOT = full_disk
    login(client, patient)
    url = reverse("portal:handout", args=[plan.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
    assert left_behind(full_disk) == []
    with unscoped():
        assert not Handout.objects.exists()

    # Room again: the next download stores it, whole.
    (full_disk / "filler").unlink()
    again = client.get(url)
    assert again.status_code == 200
    [stored] = left_behind(full_disk)
    assert stored.read_bytes() == again.content
    with unscoped():
        assert Handout.objects.get().size_bytes == len(again.content)


def test_the_storage_writes_a_whole_file_or_none(full_disk):
    storage = AtomicFileSystemStorage(location=full_disk)
    with pytest.raises(OSError) as error:
        storage.save("handouts/big.pdf", ContentFile(b"x" * 200_000))
    assert error.value.errno == errno.ENOSPC
    assert left_behind(full_disk) == []
    name = storage.save("handouts/small.pdf", ContentFile(b"%PDF small"))
    assert (full_disk / name).read_bytes() == b"%PDF small"
    assert (full_disk / name).stat().st_mode & 0o777 == 0o644


def _wrapped(driver_error: Exception) -> OperationalError:
    try:
        try:
            raise driver_error
        except Exception as error:
            raise OperationalError(str(error)) from error
    except OperationalError as wrapped:
        return wrapped


@pytest.mark.parametrize(
    ("error", "passes"),
    [
        (_wrapped(sqlite3.OperationalError("database is locked")), True),
        (_wrapped(sqlite3.OperationalError("database or disk is full")), True),
        (_wrapped(sqlite3.OperationalError("no such table: clinic_clinic")), False),
        (OSError(errno.ENOSPC, "No space left on device"), True),
        (OSError(errno.EACCES, "Permission denied"), False),
        (ProgrammingError("syntax error"), False),
        (ValueError("database is locked"), False),
    ],
)
def test_it_tells_a_passing_fault_from_a_bug(error, passes):
    assert is_unavailable(error) is passes


def test_it_knows_postgres_faults():
    psycopg = pytest.importorskip("psycopg")
    gone = psycopg.OperationalError("server closed the connection unexpectedly")
    assert is_unavailable(_wrapped(gone))
    assert is_unavailable(psycopg.errors.AdminShutdown("terminating connection"))
    assert is_unavailable(psycopg.errors.DiskFull("could not extend file"))
    assert not is_unavailable(psycopg.errors.UndefinedTable("no such table"))
