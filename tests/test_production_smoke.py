"""Every page under production settings: DEBUG off, static files collected into the
manifest storage that production uses, and demo data with the awkward cases (a
clinic's own exercise without a picture, a plan with it, an empty plan, a very
large plan). A missing static file or a lazy import that fails only there is
invisible under the test settings; here it is a failure.

The pages are found by following links, as a user would: from the admin and the
portal home pages, as each persona, every same-site link (GET only), with a cap
on how many variants of one URL shape are visited so that the run stays short.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse

from clinic.models import Clinic, Patient, Therapist, User
from clinic.scoping import scope, unscoped
from prescriptions import demo, handouts
from prescriptions.models import Exercise, Plan, PlanItem, shipped_drawings
from tests import factories

pytestmark = pytest.mark.django_db

MANIFEST_STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Exercises in the largest plan the smoke test builds.
LARGE_PLAN_SIZE = 40
# How many URLs of one shape (ids replaced, query string ignored) are visited.
VARIANTS_PER_SHAPE = 2
# Links that end the session or leave the site's pages.
SKIPPED = re.compile(r"/logout/|^/static/|^/media/|^/favicon")


@pytest.fixture(scope="module")
def collected_static(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("static")
    with override_settings(STATIC_ROOT=root, STORAGES=MANIFEST_STORAGES, DEBUG=False):
        call_command("collectstatic", interactive=False, verbosity=0)
    yield root


@pytest.fixture
def production(collected_static: Path) -> Iterator[None]:
    with override_settings(STATIC_ROOT=collected_static, STORAGES=MANIFEST_STORAGES, DEBUG=False):
        # The handout renderer caches file lookups per process: forget the test settings'.
        handouts.reset_engine()
        yield
    handouts.reset_engine()


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def _shape(path: str) -> str:
    return re.sub(r"/\d+/", "/N/", urlsplit(path).path)


def crawl(client: Client, start: list[str], *, limit: int = 400) -> dict[str, int]:
    """Visit `start` and every same-site page linked from what was visited; the
    status of each. The test client raises on an exception in a view (a 500)."""
    seen: dict[str, int] = {}
    per_shape: dict[str, int] = {}
    queue = deque(start)
    while queue and len(seen) < limit:
        url = queue.popleft()
        if url in seen:
            continue
        shape = _shape(url)
        if url not in start and per_shape.get(shape, 0) >= VARIANTS_PER_SHAPE:
            continue
        per_shape[shape] = per_shape.get(shape, 0) + 1
        response = client.get(url)
        seen[url] = response.status_code
        if response.get("Content-Type", "").startswith("text/html"):
            parser = _Links()
            parser.feed(response.content.decode())
            for href in parser.hrefs:
                target = urljoin(url, href)
                parts = urlsplit(target)
                if (
                    parts.scheme
                    or parts.netloc
                    or not parts.path.startswith(("/admin/", "/portal/"))
                ):
                    continue
                if SKIPPED.search(parts.path):
                    continue
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return seen


def _own_exercise_without_picture(clinic: Clinic) -> Exercise:
    # As the faults report made it: the admin's "Add exercise" with a name, a short
    # name, 3 sets of 10 and no picture.
    exercise = factories.make_exercise(
        clinic, name="Wall sit (own)", slug="wall-sit-own", sets=3, reps=10
    )
    assert not exercise.illustration and "wall-sit-own" not in shipped_drawings()
    return exercise


def _awkward_plans(patient: Patient, therapist: Therapist, own: Exercise) -> dict[str, Plan]:
    with_own = factories.make_plan(patient, therapist, [own], status=Plan.Status.ACTIVE)
    empty = factories.make_plan(patient, therapist, [], status=Plan.Status.ACTIVE)
    large = factories.make_plan(patient, therapist, [], status=Plan.Status.ACTIVE)
    with unscoped():  # setting up, like a factory
        library = list(Exercise.objects.filter(clinic=None).order_by("slug"))
        PlanItem.objects.bulk_create(
            PlanItem(plan=large, exercise=exercise, order=n, **exercise.dosage_dict())
            for n, exercise in enumerate(
                (library * (LARGE_PLAN_SIZE // len(library) + 1))[:LARGE_PLAN_SIZE], start=1
            )
        )
    return {"own": with_own, "empty": empty, "large": large}


def _staff(email: str) -> User:
    return User.objects.get(email=email)


def test_no_page_fails_under_production_settings(production: Any) -> None:
    demo.seed_demo()
    with unscoped():
        riverside = Clinic.objects.get(slug=demo.RIVERSIDE)
        therapist = Therapist.objects.get(user__email=demo.THERAPIST.email)
        patient = Patient.objects.get(user__email=demo.PATIENT.email)
    own = _own_exercise_without_picture(riverside)
    plans = _awkward_plans(patient, therapist, own)

    handout_urls = [
        reverse("admin:prescriptions_plan_handout", args=[plan.pk]) for plan in plans.values()
    ]
    admin_start = [
        reverse("admin:index"),
        reverse("admin:prescriptions_exercise_changelist"),
        reverse("admin:prescriptions_exercise_change", args=[own.pk]),
        *[reverse("admin:prescriptions_plan_change", args=[p.pk]) for p in plans.values()],
        reverse("admin:clinic_patient_change", args=[patient.pk]),
        *handout_urls,
    ]
    visited: dict[str, dict[str, int]] = {}
    for email in (demo.SUPERUSER.email, demo.CLINIC_ADMIN.email, demo.THERAPIST.email):
        client = Client()
        # The superuser signs in with a second factor under production settings.
        factories.sign_in_staff(client, _staff(email))
        visited[email] = crawl(client, admin_start)
        # Every handout route: the download button, and the zip of the plans' handouts.
        response = client.post(
            reverse("admin:prescriptions_plan_changelist"),
            {"action": "download_handouts", "_selected_action": [p.pk for p in plans.values()]},
        )
        assert response.status_code == 200
        assert response["Content-Type"] == "application/zip"

    # The other clinic's therapist: the same links, which must all be refused, not fail.
    outsider = Client()
    outsider.force_login(_staff(demo.OTHER_THERAPIST.email))
    visited["outsider"] = crawl(outsider, admin_start)
    for url in admin_start[2:]:
        assert visited["outsider"][url] == 404, url

    portal = Client()
    assert patient.user is not None
    portal.force_login(patient.user)
    portal_start = [
        reverse("portal:today"),
        reverse("portal:plan"),
        reverse("portal:history"),
        reverse("portal:settings"),
        *[reverse("portal:handout", args=[p.pk]) for p in plans.values()],
    ]
    visited["patient"] = crawl(portal, portal_start)

    anonymous = Client()
    visited["anonymous"] = crawl(
        anonymous,
        [
            reverse("portal:login"),
            reverse("portal:password_reset"),
            reverse("portal:welcome", args=["not-a-token"]),
            reverse("admin:login"),
            reverse("portal:today"),
        ],
    )

    failures = {
        who: {url: status for url, status in pages.items() if status >= 500}
        for who, pages in visited.items()
    }
    assert failures == {who: {} for who in visited}
    # The crawl really went round the site: the pages with the awkward exercise and plans.
    for email in (demo.CLINIC_ADMIN.email, demo.THERAPIST.email):
        assert all(visited[email][url] == 200 for url in admin_start), visited[email]
        assert len(visited[email]) > 40
    assert all(visited["patient"][url] == 200 for url in portal_start)
    assert len(visited["patient"]) >= len(portal_start) + 2
    assert visited["anonymous"][reverse("portal:today")] == 302


def test_the_pages_show_the_placeholder_for_an_exercise_without_a_picture(
    production: Any,
) -> None:
    demo.seed_demo()
    with unscoped():
        riverside = Clinic.objects.get(slug=demo.RIVERSIDE)
        therapist = Therapist.objects.get(user__email=demo.THERAPIST.email)
        patient = Patient.objects.get(user__email=demo.PATIENT.email)
    own = _own_exercise_without_picture(riverside)
    plan = _awkward_plans(patient, therapist, own)["own"]
    placeholder = own.illustration_url()
    assert re.fullmatch(r"/static/prescriptions/placeholder\.[0-9a-f]{12}\.svg", placeholder)

    portal = Client()
    assert patient.user is not None
    portal.force_login(patient.user)
    for name in ("portal:today", "portal:plan"):
        page = portal.get(reverse(name)).content.decode()
        assert f'src="{placeholder}"' in page
        assert "No picture yet · Strengthening" in page

    staff = Client()
    staff.force_login(_staff(demo.THERAPIST.email))
    listing = staff.get(reverse("admin:prescriptions_exercise_changelist"), {"q": "wall sit"})
    assert f'src="{placeholder}"' in listing.content.decode()
    found = staff.get(
        reverse("admin:autocomplete"),
        {
            "term": "wall sit",
            "app_label": "prescriptions",
            "model_name": "planitem",
            "field_name": "exercise",
        },
    ).json()
    assert [r["image"] for r in found["results"]] == [placeholder]

    with scope(riverside):
        rendered = handouts.render_pdf(plan)
    assert 'class="figure"' in rendered.html
    assert "prescriptions/placeholder." in rendered.html
