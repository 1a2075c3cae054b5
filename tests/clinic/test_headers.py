"""No page that can carry patient data is kept in a cache; public files still are."""

from __future__ import annotations

import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from PIL import Image

from tests.conftest import login

pytestmark = pytest.mark.django_db


def assert_private(response) -> None:
    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= directives, response["Cache-Control"]
    assert "public" not in directives


def test_it_keeps_portal_pages_out_of_every_cache(client, patient, plan):
    login(client, patient)
    for name in ["portal:today", "portal:plan", "portal:history", "portal:settings"]:
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        assert_private(response)


def test_it_keeps_the_patients_handout_out_of_every_cache(client, patient, plan):
    login(client, patient)
    response = client.get(reverse("portal:handout", args=[plan.pk]))
    assert response.status_code == 200
    assert_private(response)


def test_it_keeps_admin_pages_out_of_every_cache(client, therapist, patient, plan):
    login(client, therapist)
    for url in [
        reverse("admin:index"),
        reverse("admin:clinic_patient_changelist"),
        reverse("admin:clinic_patient_change", args=[patient.pk]),
        reverse("admin:prescriptions_plan_change", args=[plan.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_private(response)
        # Django's admin says no-cache and max-age=0 of its own; both stay.
        assert "max-age=0" in response["Cache-Control"]


def test_it_keeps_sign_in_and_error_pages_private(client):
    assert_private(client.get(reverse("portal:login")))
    assert_private(client.get("/portal/no-such-page/"))


def test_it_keeps_public_pictures_cacheable(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(buffer, "PNG")
    name = default_storage.save("exercises/curl.png", ContentFile(buffer.getvalue()))
    response = client.get(f"/media/{name}")
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=86400"


def test_it_denies_browser_features_no_page_uses(client):
    policy = client.get(reverse("portal:login"))["Permissions-Policy"]
    assert "camera=()" in policy
    assert "geolocation=()" in policy


def test_static_files_keep_long_caching(settings):
    # WhiteNoise answers before PrivateResponseMiddleware, so static files keep their
    # own caching. (Finders stand in for collectstatic, as in development.)
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_MAX_AGE = 31536000
    response = Client().get("/static/rehabit/two_factor.css")
    assert response.status_code == 200
    assert response["Cache-Control"] == "max-age=31536000, public"
