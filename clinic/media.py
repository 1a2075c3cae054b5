"""Serving uploaded files that are public by nature: exercise pictures and clinic logos.

Everything else in the media storage (rendered handouts carry patients' names) is
only ever served through views that check who is asking, so this view answers
404 for any other folder. The files are read through the storage (the database by
default), so every web server serves the same ones.
"""

from __future__ import annotations

import mimetypes

from django.core.files.storage import default_storage
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponseBase,
    HttpResponseNotModified,
    HttpResponseRedirect,
)
from django.templatetags.static import static
from django.utils.http import http_date, parse_http_date_safe
from django.views.decorators.http import require_safe

PUBLIC_FOLDERS = ("exercises/", "clinics/logos/")


@require_safe
def public_media(request: HttpRequest, path: str) -> HttpResponseBase:
    if not path.startswith(PUBLIC_FOLDERS) or ".." in path.split("/") or "\x00" in path:
        raise Http404
    try:
        modified = int(default_storage.get_modified_time(path).timestamp())
    except (FileNotFoundError, OSError, NotImplementedError):
        raise Http404 from None
    since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
    response: HttpResponseBase
    if since is not None and modified <= since:
        response = HttpResponseNotModified()
    else:
        try:
            file = default_storage.open(path, "rb")
        except (FileNotFoundError, OSError):
            raise Http404 from None
        content_type, encoding = mimetypes.guess_type(path)
        response = FileResponse(file, content_type=content_type or "application/octet-stream")
        if encoding:
            response["Content-Encoding"] = encoding
    response["Last-Modified"] = http_date(modified)
    # An uploaded SVG is sanitised on upload; this is the second line of defence
    # should one be opened directly: no scripts, no fetches, its own origin.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "public, max-age=86400"
    return response


@require_safe
def favicon(request: HttpRequest) -> HttpResponseRedirect:
    # Browsers ask for /favicon.ico whatever the page says; point them at the icon.
    return HttpResponseRedirect(static("rehabit/favicon.svg"))
