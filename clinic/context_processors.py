"""Template context shared by every page: the link to the source code (AGPL)."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def source_url(request: HttpRequest) -> dict[str, Any]:
    return {"SOURCE_URL": settings.SOURCE_URL}
