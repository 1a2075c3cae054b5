"""The portal as an installable web app that works offline.

The browser side is two static files: `static/portal/sw.js`, the service worker,
and `static/portal/offline.js`, which registers it and shows what it keeps. This
module serves the worker from the portal's own path (so its scope is the portal
without a `Service-Worker-Allowed` header), the web app manifest, and the value
that names the signed-in patient's offline storage.

Whose pages may be kept on the phone is decided by the server: every portal page
of a signed-in patient carries `data-offline="<namespace>"`, a keyed hash of the
patient's id that nobody can work out without the server's secret. The worker
keeps a page only when it carries the namespace it was told, stores it under that
namespace, and forgets everything on signing out or when another patient's pages
start to arrive. An anonymous page carries no namespace, so nothing is kept for it
and nothing kept is shown to it.
"""

from __future__ import annotations

import json

from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse
from django.templatetags.static import static
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from clinic.models import Clinic, Patient, patient_for

WORKER_FILE = "portal/sw.js"
THEME_DEFAULT = Clinic._meta.get_field("brand_colour").default


def namespace(patient: Patient) -> str:
    """The name of this patient's offline storage on a phone (see the module docstring)."""
    digest = salted_hmac("rehabit.portal.offline", str(patient.pk), algorithm="sha256")
    return digest.hexdigest()[:32]


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    path = finders.find(WORKER_FILE)
    if not isinstance(path, str):
        raise Http404
    with open(path, encoding="utf-8") as source:
        body = source.read()
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    # Browsers check for a new worker at least daily and on navigation; never from a cache.
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def manifest(request: HttpRequest) -> HttpResponse:
    """The web app manifest. Signed in, it takes the clinic's name and brand colour
    (the page asks for it with credentials); otherwise Rehabit's own."""
    patient = patient_for(request)
    clinic = patient.clinic if patient is not None else None
    theme = clinic.brand_colour if clinic is not None else THEME_DEFAULT
    start = reverse("portal:today")
    data = {
        "id": start,
        "name": clinic.name if clinic is not None else "Rehabit",
        "short_name": "Rehabit",
        "description": _("Your home exercises, and a note of how each session went."),
        "lang": request.LANGUAGE_CODE,
        "start_url": start,
        "scope": start,
        "display": "standalone",
        "theme_color": theme,
        "background_color": "#ffffff",
        "icons": [
            {"src": static("portal/icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("portal/icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static("portal/icons/maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    return HttpResponse(
        json.dumps(data, ensure_ascii=False), content_type="application/manifest+json"
    )
