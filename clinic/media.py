"""Serving uploaded files that are public by nature: exercise pictures and clinic logos.

Everything else under MEDIA_ROOT (rendered handouts carry patients' names) is
only ever served through views that check who is asking, so this view answers
404 for any other folder.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.templatetags.static import static
from django.views.decorators.http import require_safe
from django.views.static import serve

PUBLIC_FOLDERS = ("exercises/", "clinics/logos/")


@require_safe
def public_media(request: HttpRequest, path: str) -> HttpResponseBase:
    if not path.startswith(PUBLIC_FOLDERS) or ".." in path.split("/"):
        raise Http404
    response = serve(request, path, document_root=str(settings.MEDIA_ROOT))
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
