"""File storage that never leaves a half-written file under a real name.

Django's FileSystemStorage writes straight into the final file, so a full disk
left zero-byte or truncated files behind (handouts, issue 17). Here the bytes go
to a hidden temporary file in the same folder, which is moved into place (an
atomic rename) only once it is complete and on disk; a failed write removes it.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from django.core.files.storage import FileSystemStorage

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
