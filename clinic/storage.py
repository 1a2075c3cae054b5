"""Where uploaded pictures, logos and rendered handouts are kept.

`DatabaseStorage` (the default) keeps them in the database, so every web server
and task worker of an installation reads the same files with nothing shared but
the database (README, "More than one server"). `MEDIA_STORAGE=files` keeps them
in MEDIA_ROOT on this server's disk with `AtomicFileSystemStorage`, and
`MEDIA_STORAGE=s3` in S3-compatible object storage (django-storages).

Neither leaves a half-written file under a real name. Django's FileSystemStorage
writes straight into the final file, so a full disk left zero-byte or truncated
files behind (handouts, issue 17): AtomicFileSystemStorage writes to a hidden
temporary file in the same folder, moved into place (an atomic rename) only once
it is complete and on disk. DatabaseStorage inserts the whole file in one row,
in its own transaction (a savepoint inside an outer one), or nothing.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import tempfile
from typing import Any
from urllib.parse import urljoin

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import FileSystemStorage, Storage
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils.deconstruct import deconstructible
from django.utils.encoding import filepath_to_uri

PARTIAL_PREFIX = ".partial-"


class _WrittenFile:
    """A complete file on disk, moved into place by FileSystemStorage._save."""

    def __init__(self, path: str) -> None:
        self.path = path

    def temporary_file_path(self) -> str:
        return self.path


class AtomicFileSystemStorage(FileSystemStorage):
    def _save(self, name: str, content: Any) -> str:
        if hasattr(content, "temporary_file_path"):
            # Already a complete file on disk (a large upload): moved, not copied.
            saved: str = super()._save(name, content)  # type: ignore[misc]
            return saved
        directory = os.path.dirname(self.path(name))
        os.makedirs(directory, exist_ok=True)
        fd, partial = tempfile.mkstemp(dir=directory, prefix=PARTIAL_PREFIX)
        try:
            with os.fdopen(fd, "wb") as file:
                for chunk in content.chunks():
                    file.write(chunk.encode() if isinstance(chunk, str) else chunk)
                file.flush()
                os.fsync(file.fileno())
            saved = super()._save(name, _WrittenFile(partial))  # type: ignore[misc]
            return saved
        finally:
            if os.path.exists(partial):
                os.remove(partial)


@deconstructible(path="clinic.storage.DatabaseStorage")
class DatabaseStorage(Storage):
    """Files as rows of `clinic.models.StoredFile`, read and written whole.

    Meant for what Rehabit stores: pictures and logos of at most a few megabytes
    (FILE_UPLOAD_MAX_MEMORY_SIZE) and handouts of about 30-150 KB.
    """

    def __init__(self, base_url: str | None = None) -> None:
        self._base_url = base_url

    @property
    def base_url(self) -> str:
        url = self._base_url if self._base_url is not None else settings.MEDIA_URL
        return url if url.endswith("/") else url + "/"

    def _rows(self) -> Any:
        from clinic.models import StoredFile

        return StoredFile.objects

    def _open(self, name: str, mode: str = "rb") -> File[bytes]:
        if set(mode) & set("wa+"):
            raise ValueError("DatabaseStorage opens files for reading only; save() writes.")
        content = self._rows().filter(name=name).values_list("content", flat=True).first()
        if content is None:
            raise FileNotFoundError(f"No stored file named {name!r}.")
        return ContentFile(bytes(content), name=name)

    def _save(self, name: str, content: Any) -> str:
        data = b"".join(
            chunk.encode() if isinstance(chunk, str) else chunk for chunk in content.chunks()
        )
        digest = hashlib.sha256(data).hexdigest()
        while True:
            try:
                with transaction.atomic():
                    self._rows().create(name=name, content=data, size=len(data), sha256=digest)
                return name
            except IntegrityError:
                # Another process took the name between get_available_name() and now.
                if not self.exists(name):
                    raise
                name = self.get_available_name(name)

    def delete(self, name: str) -> None:
        self._rows().filter(name=name).delete()

    def exists(self, name: str) -> bool:
        found: bool = self._rows().filter(name=name).exists()
        return found

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        prefix = path.strip("/") + "/" if path.strip("/") else ""
        directories, files = set(), []
        for name in self._rows().filter(name__startswith=prefix).values_list("name", flat=True):
            rest = name[len(prefix) :]
            if "/" in rest:
                directories.add(rest.split("/", 1)[0])
            else:
                files.append(rest)
        return sorted(directories), sorted(files)

    def size(self, name: str) -> int:
        size = self._rows().filter(name=name).values_list("size", flat=True).first()
        if size is None:
            raise FileNotFoundError(f"No stored file named {name!r}.")
        return int(size)

    def digest(self, name: str) -> str | None:
        """The SHA-256 of the file's bytes (stored with them), or None if there is no such file."""
        found: str | None = self._rows().filter(name=name).values_list("sha256", flat=True).first()
        return found

    def url(self, name: str | None) -> str:
        return urljoin(self.base_url, filepath_to_uri(name or "").lstrip("/"))

    def get_created_time(self, name: str) -> datetime.datetime:
        created = self._rows().filter(name=name).values_list("created_at", flat=True).first()
        if created is None:
            raise FileNotFoundError(f"No stored file named {name!r}.")
        return created  # type: ignore[no-any-return]

    get_modified_time = get_accessed_time = get_created_time


def content_subquery(storage: Storage, name_field: str) -> Subquery | None:
    """The stored bytes of the file named by `name_field` of each row, as a subquery to
    annotate, when `storage` keeps files in the database: a row and its file in one
    query (a stored handout is served with no query more than a file on disk)."""
    if not isinstance(storage, DatabaseStorage):
        return None
    from clinic.models import StoredFile

    return Subquery(StoredFile.objects.filter(name=OuterRef(name_field)).values("content")[:1])
