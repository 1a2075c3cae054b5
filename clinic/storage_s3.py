"""Uploads and handouts in S3-compatible object storage (MEDIA_STORAGE=s3).

Imported only when configured: django-storages and boto3 are not installed by
default (`pip install "django-storages[s3]"`, pinned in pyproject.toml's `s3` extra).
"""

from __future__ import annotations

from urllib.parse import urljoin

from django.conf import settings
from django.utils.encoding import filepath_to_uri
from storages.backends.s3 import S3Storage  # type: ignore[import-not-found,import-untyped,unused-ignore]


class S3MediaStorage(S3Storage):  # type: ignore[misc]
    """S3Storage whose URLs stay under MEDIA_URL.

    Pictures and logos are served by Rehabit's own view (clinic.media), which reads
    them through the storage; handouts only through views that check who asks. So
    pages keep their Content-Security-Policy (no other image host), the handout
    renderer finds the files, and the bucket stays private.
    """

    def url(self, name: str | None, *args: object, **kwargs: object) -> str:
        return urljoin(settings.MEDIA_URL, filepath_to_uri(name or "").lstrip("/"))
