"""Large plans' handouts are rendered only by the task worker (issue 17): the download
waits on a "being prepared" page, and a render past the time limit fails cleanly,
with the reason on the therapist's side. The worker here is the real one
(django_tasks_db's `db_worker`), run for one batch."""

from __future__ import annotations

import time
from typing import Any

import pytest
import weasyprint
from django.core.management import call_command
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from clinic.scoping import unscoped
from prescriptions.models import Handout
from tests import factories
from tests.conftest import login

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@pytest.fixture
def worker_settings(settings, tmp_path):
    settings.TASKS = DB_TASKS
    settings.MEDIA_ROOT = tmp_path
    settings.HANDOUT_WEB_RENDER_MAX_EXERCISES = 3
    return settings


@pytest.fixture
def large_plan(patient, therapist):
    exercises = [factories.make_exercise(None) for _ in range(4)]
    return factories.make_plan(patient, therapist, exercises)


def run_worker() -> None:
    call_command("db_worker", batch=True, no_startup_delay=True, verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_a_large_plans_handout_is_prepared_by_the_worker(
    client, patient, large_plan, worker_settings
):
    login(client, patient)
    url = reverse("portal:handout", args=[large_plan.pk])
    first = client.get(url)
    assert first.status_code == 202
    assert first["Retry-After"] == "5"
    html = first.content.decode()
    assert "Your handout is being prepared" in html
    assert '<meta http-equiv="refresh" content="5">' in html
    # Asking again does not queue it twice, and nothing was rendered in the request.
    assert client.get(url).status_code == 202
    with unscoped():
        assert DBTaskResult.objects.count() == 1
        assert not Handout.objects.exists()

    run_worker()
    done = client.get(url)
    assert done.status_code == 200
    assert done["Content-Type"] == "application/pdf"
    with unscoped():
        assert Handout.objects.filter(plan=large_plan).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_small_plan_is_still_rendered_at_once(client, patient, plan, worker_settings):
    login(client, patient)
    response = client.get(reverse("portal:handout", args=[plan.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"


@pytest.mark.django_db(transaction=True)
def test_a_render_past_the_time_limit_fails_cleanly_and_the_therapist_sees_why(
    client, patient, therapist, worker_settings, tmp_path, monkeypatch
):
    # A render that takes longer than the limit whatever the machine's speed: the
    # real render after a pause of three times the limit (the alarm interrupts it).
    real_render = weasyprint.HTML.render

    def slow_render(self: Any, *args: Any, **kwargs: Any) -> Any:
        time.sleep(3)
        return real_render(self, *args, **kwargs)

    monkeypatch.setattr(weasyprint.HTML, "render", slow_render)
    exercises = [factories.make_exercise(None) for _ in range(4)]
    plan = factories.make_plan(patient, therapist, exercises)
    worker_settings.HANDOUT_RENDER_TIME_LIMIT = 1
    login(client, patient)
    url = reverse("portal:handout", args=[plan.pk])
    assert client.get(url).status_code == 202
    run_worker()
    with unscoped():
        result = DBTaskResult.objects.get()
        assert result.status == "FAILED"
        assert result.exception_class_path == "prescriptions.handouts.render.RenderTooSlow"
        assert not Handout.objects.exists()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []

    # The patient is told, without a page that reloads for ever ...
    page = client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "could not be prepared" in text and "http-equiv" not in text
    # ... and the therapist sees why, on the download and on the plan.
    login(client, therapist)
    admin_download = client.get(reverse("admin:prescriptions_plan_handout", args=[plan.pk]))
    assert "took longer than the time allowed" in admin_download.content.decode()
    plan_page = client.get(reverse("admin:prescriptions_plan_change", args=[plan.pk]))
    assert "took longer than the time allowed" in plan_page.content.decode()
