"""What the handout renderer may read: static and media files and data: URIs, nothing else.

Relative URLs in the handout resolve against a made-up origin (BASE_URL); the
allow-list fetcher maps its static paths to files on disk and its media paths to
files in the media storage (the database by default), and never opens a
connection. The cache key hashes the same files (`Resource.digest`).
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import FileSystemStorage, storages
from django.utils._os import safe_join

if TYPE_CHECKING:
    from weasyprint.urls import URLFetcher

logger = logging.getLogger(__name__)

BASE_URL = "https://handout.rehabit.invalid/"


def _url_path(url: str, prefix: str) -> str | None:
    """The part of `url` under `prefix` (STATIC_URL or MEDIA_URL), or None."""
    if not prefix:
        return None
    parts = urlsplit(url)
    base = urlsplit(BASE_URL)
    if parts.query or parts.fragment:
        return None
    if prefix.startswith(("http://", "https://")):
        # Static or media files on another host (a CDN): still mapped to the local copy.
        if not url.startswith(prefix):
            return None
        rest = url[len(prefix) :]
    else:
        if (parts.scheme, parts.netloc) not in {(base.scheme, base.netloc), ("", "")}:
            return None
        path = parts.path
        prefix = "/" + prefix.lstrip("/")
        if not path.startswith(prefix):
            return None
        rest = path[len(prefix) :]
    rest = unquote(rest)
    if not rest or "\x00" in rest or ".." in rest.split("/") or rest.startswith("/"):
        return None
    return rest


@lru_cache(maxsize=2048)
def static_file(relative: str) -> Path | None:
    # Collected files first (hashed names from the manifest storage live there), then
    # the app and project static folders through the finders.
    if settings.STATIC_ROOT:
        try:
            collected = Path(safe_join(str(settings.STATIC_ROOT), relative))
        except SuspiciousFileOperation:
            return None
        if collected.is_file():
            return collected
    try:
        found = finders.find(relative)
    except SuspiciousFileOperation:
        return None
    if isinstance(found, list):
        found = found[0] if found else None
    return Path(found) if found and Path(found).is_file() else None


@dataclass(frozen=True)
class Resource:
    """A file the renderer may read: a static file, or a file in the media storage."""

    name: str
    path: Path | None = None  # on this server's disk
    sha256: str | None = None  # known already (DatabaseStorage keeps it with the bytes)

    def read_bytes(self) -> bytes:
        if self.path is not None:
            return self.path.read_bytes()
        with storages["default"].open(self.name, "rb") as file:
            data: bytes = file.read()
            return data

    def digest(self) -> str:
        if self.path is not None:
            return file_digest(self.path)
        return self.sha256 or hashlib.sha256(self.read_bytes()).hexdigest()


def _media_file(relative: str) -> Resource | None:
    storage = storages["default"]
    if isinstance(storage, FileSystemStorage):
        try:
            path = Path(safe_join(str(storage.location), relative))
        except SuspiciousFileOperation:
            return None
        return Resource(relative, path=path) if path.is_file() else None
    digest = getattr(storage, "digest", None)
    if digest is not None:
        # DatabaseStorage: whether the file is there and its hash, in one query.
        sha256 = digest(relative)
        return Resource(relative, sha256=sha256) if sha256 else None
    return Resource(relative) if storage.exists(relative) else None


def local_file(url: str) -> Resource | None:
    """The file behind a static or media URL, or None when the URL is anything else."""
    if relative := _url_path(url, settings.STATIC_URL or ""):
        path = static_file(relative)
        return Resource(relative, path=path) if path else None
    if relative := _url_path(url, settings.MEDIA_URL or ""):
        return _media_file(relative)
    return None


def absolute_url(url: str) -> str:
    """`url` resolved against the handout's made-up origin."""
    if urlsplit(url).scheme:
        return url
    return BASE_URL.rstrip("/") + "/" + url.lstrip("/")


class RefusedURL(ValueError):
    """The renderer asked for something that is not a static or media file or data: URI."""


def make_fetcher_class() -> type[URLFetcher]:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    # WeasyPrint ships no type information: its classes are Any to mypy.
    class AllowListFetcher(URLFetcher):  # type: ignore[misc]
        """Serves static and media files and data: URIs; refuses everything else.

        No http(s), no file:// paths, no redirects: a hostile URL in a plan's text or an
        uploaded SVG cannot make the server read its own files or call the network.
        """

        def __init__(self) -> None:
            super().__init__(allowed_protocols=("data",), allow_redirects=False)

        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            if url.startswith("data:"):
                return super().fetch(url, headers)
            resource = local_file(url)
            if resource is None:
                logger.warning("Handout renderer refused to fetch %r", url[:200])
                raise RefusedURL(f"Not an allowed handout resource: {url[:200]}")
            mime, _encoding = mimetypes.guess_type(resource.name)
            return URLFetcherResponse(
                url,
                body=resource.read_bytes(),
                headers={"Content-Type": mime or "application/octet-stream"},
            )

    return AllowListFetcher


def file_digest(path: Path) -> str:
    """A hash of the file's bytes; read again only when its size or time changes."""
    stat = path.stat()
    return _digest(str(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=4096)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def file_text(path: Path) -> str:
    """The file's text; read again only when its size or time changes."""
    stat = path.stat()
    return _text(str(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=16)
def _text(path: str, size: int, mtime_ns: int) -> str:
    return Path(path).read_text(encoding="utf-8")
