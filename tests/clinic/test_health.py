"""/healthz: 200 when every check passes, 503 naming the failing one otherwise."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from clinic import health

pytestmark = pytest.mark.django_db

FILES = "clinic.storage.AtomicFileSystemStorage"
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def db_tasks(settings):
    settings.TASKS = DB_TASKS


def started(minutes_ago: float) -> None:
    result = health.heartbeat.enqueue()
    DBTaskResult.objects.filter(pk=result.id).update(
        status="SUCCESSFUL",
        started_at=timezone.now() - datetime.timedelta(minutes=minutes_ago),
    )


def test_it_answers_ok_with_every_check(client, media_root, db_tasks):
    started(minutes_ago=1)
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "failing": [],
        "checks": {"database": "ok", "migrations": "ok", "worker": "ok", "media": "ok"},
    }
    assert "no-store" in response["Cache-Control"]


def test_it_fails_when_the_worker_has_been_silent(client, media_root, db_tasks):
    started(minutes_ago=6)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["worker"]
    assert body["checks"]["worker"] == "failing: no task started in the last 5 minutes"
    assert response["Retry-After"] == "30"


def test_it_fails_when_no_worker_ever_ran(client, media_root, db_tasks):
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["failing"] == ["worker"]


def test_it_keeps_one_heartbeat_queued_for_the_worker(client, media_root, db_tasks):
    client.get(reverse("healthz"))
    client.get(reverse("healthz"))
    waiting = DBTaskResult.objects.ready().filter(task_path=health.heartbeat.module_path)
    assert waiting.count() == 1


def test_it_needs_no_worker_when_tasks_run_in_the_web_process(client, media_root, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json()["checks"]["worker"] == "no worker (tasks run in the web process)"


def test_it_fails_when_the_media_folder_takes_no_file(client, tmp_path, settings, db_tasks):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": FILES}}
    started(minutes_ago=0)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the media folder should be")
    settings.MEDIA_ROOT = blocker
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["failing"] == ["media"]
    assert response.json()["checks"]["media"] == "failing: media folder not writable"


def test_it_fails_when_a_migration_is_not_applied(client, media_root, db_tasks, monkeypatch):
    started(minutes_ago=0)
    monkeypatch.setattr(health, "_migrations_applied", False)
    monkeypatch.setattr(
        "clinic.health.MigrationExecutor.migration_plan", lambda self, targets: [("m", False)]
    )
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "failing: 1 migration(s) not applied"


def test_it_names_the_database_and_skips_what_needs_it(client, media_root, monkeypatch):
    def unreachable() -> str:
        raise health.CheckFailed("no answer")

    # A real outage is tested against a server in tests/clinic/test_health_live.py.
    monkeypatch.setitem(health.CHECKS, "database", unreachable)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["database", "migrations", "worker", "media"]
    assert body["checks"]["database"] == "failing: no answer"
    assert body["checks"]["worker"] == "failing: database unavailable"
    # Uploads and handouts are kept in the database by default.
    assert body["checks"]["media"] == "failing: database unavailable"


def test_it_checks_a_media_folder_without_the_database(client, media_root, settings, monkeypatch):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": FILES}}

    def unreachable() -> str:
        raise health.CheckFailed("no answer")

    monkeypatch.setitem(health.CHECKS, "database", unreachable)
    body = client.get(reverse("healthz")).json()
    assert body["failing"] == ["database", "migrations", "worker"]
    assert body["checks"]["media"] == "ok"


def test_it_asks_the_database_a_fixed_number_of_times(client, media_root, db_tasks):
    started(minutes_ago=0)
    client.get(reverse("healthz"))  # the migration check is remembered after once
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("healthz")).status_code == 200
    # SELECT 1, the last start, the waiting heartbeat.
    assert len(queries) == 3
