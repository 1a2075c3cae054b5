"""The project's URLs: the admin, the patient portal (portal.urls), public media, health."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from clinic.health import healthz
from clinic.media import favicon, public_media

# A passing database or storage fault is a 503 with Retry-After, not a 500.
handler500 = "clinic.errors.server_error"

urlpatterns = [
    # Before the admin's own URLs, whose catch-all would answer first.
    path("admin/exports/", include("prescriptions.admin.exports")),
    path("admin/", admin.site.urls),
    path("", RedirectView.as_view(pattern_name="portal:login", permanent=False)),
    path("portal/", include("portal.urls")),
    path("media/<path:path>", public_media, name="public_media"),
    path("favicon.ico", favicon),
    path("healthz", healthz, name="healthz"),
]
