"""Uploaded exercise pictures and logos are public; everything else in media is not."""

from __future__ import annotations

import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from clinic.models import StoredFile
from clinic.scoping import unscoped
from prescriptions.models import Exercise
from tests.conftest import login

pytestmark = pytest.mark.django_db

FILES = "clinic.storage.AtomicFileSystemStorage"

HOSTILE_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" onload="alert(1)">'
    b"<script>alert(2)</script><circle cx='5' cy='5' r='4'/>"
    b'<image href="http://127.0.0.1:9/x.png"/></svg>'
)


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(buffer, "PNG")
    return buffer.getvalue()


def test_it_serves_exercise_pictures_with_a_locked_down_policy(client, media_root):
    name = default_storage.save("exercises/curl.png", ContentFile(png_bytes()))
    response = client.get(f"/media/{name}")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == png_bytes()
    assert response["Content-Type"] == "image/png"
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["Cache-Control"] == "public, max-age=86400"


def test_it_answers_not_modified_when_the_browser_has_the_picture(client, media_root):
    name = default_storage.save("exercises/curl.png", ContentFile(png_bytes()))
    last_modified = client.get(f"/media/{name}")["Last-Modified"]
    response = client.get(f"/media/{name}", headers={"If-Modified-Since": last_modified})
    assert response.status_code == 304


def test_it_keeps_pictures_in_the_database_by_default(client, media_root):
    name = default_storage.save("clinics/logos/logo.png", ContentFile(png_bytes()))
    assert not any(media_root.iterdir())
    with unscoped():
        assert StoredFile.objects.get(name=name).content == png_bytes()
    assert client.get(f"/media/{name}").status_code == 200


def test_it_serves_pictures_from_a_media_folder_when_so_configured(client, media_root, settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": FILES}}
    (media_root / "exercises").mkdir()
    (media_root / "exercises" / "curl.png").write_bytes(png_bytes())
    response = client.get("/media/exercises/curl.png")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == png_bytes()


def test_it_never_serves_handouts_or_other_folders(client, media_root):
    default_storage.save("handouts/plan.pdf", ContentFile(b"%PDF-1.7 secret"))
    assert client.get("/media/handouts/plan.pdf").status_code == 404
    assert client.get("/media/exercises/../handouts/plan.pdf").status_code == 404
    assert client.get("/media/exercises/missing.png").status_code == 404


def exercise_form(**overrides):
    data = {
        "name": "Towel slide", "slug": "towel-slide", "category": "mobility",
        "body_region": "knee", "equipment": "none", "difficulty": 1, "is_active": "on",
        "purpose": "Bends the knee gently.", "steps": "Sit.\nSlide.\nReturn.",
        "sets": 2, "reps": 10, "rest_seconds": 30, "side": "each", "times_per_day": 1,
        "days_per_week": 7, "illustration_alt": "A person sliding a towel",
        # The (empty) inline of the exercise's versions in other languages.
        "translations-TOTAL_FORMS": 0, "translations-INITIAL_FORMS": 0,
    }  # fmt: skip
    data.update(overrides)
    return data


def test_it_stores_an_uploaded_svg_sanitised(client, therapist, media_root):
    login(client, therapist)
    upload = SimpleUploadedFile("slide.svg", HOSTILE_SVG, content_type="image/svg+xml")
    response = client.post(
        reverse("admin:prescriptions_exercise_add"), exercise_form(illustration=upload)
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    with unscoped():
        stored = Exercise.objects.get(slug="towel-slide").illustration.read()
    assert b"<circle" in stored
    assert b"script" not in stored and b"onload" not in stored and b"127.0.0.1" not in stored


def test_it_refuses_a_file_that_is_not_what_its_name_says(client, therapist, media_root):
    login(client, therapist)
    upload = SimpleUploadedFile("slide.png", b"GIF89a not really", content_type="image/png")
    response = client.post(
        reverse("admin:prescriptions_exercise_add"), exercise_form(illustration=upload)
    )
    assert response.status_code == 200
    assert "illustration" in response.context["adminform"].form.errors
    with unscoped():
        assert not Exercise.objects.filter(slug="towel-slide").exists()


def test_it_points_browsers_at_the_favicon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response.url.endswith("rehabit/favicon.svg")
