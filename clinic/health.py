"""`/healthz`: is this Rehabit able to serve a clinic right now?

For a load balancer or an uptime monitor. 200 with a small JSON when all checks
pass; 503 naming each failing check otherwise. The answer names what fails but
gives nothing away (no paths, no versions, no error text from the database).

The checks:

* database: a `SELECT 1` answers;
* migrations: every migration on disk is applied (a deploy that forgot
  `migrate` would otherwise fail on the first page that needs the new column);
* worker: the task worker started a task within `WORKER_SILENCE`. The probe keeps
  one heartbeat task queued, so an idle clinic's worker still shows up as alive
  as long as something probes more often than that;
* media: uploads and handouts can be stored: in the database (the default), the
  database check says so; in a media folder, it takes a file; in object storage,
  the bucket answers.
"""

from __future__ import annotations

import datetime
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Max
from django.http import HttpRequest, JsonResponse
from django.tasks import task
from django.utils import timezone
from django.views.decorators.http import require_safe

from clinic.storage import DatabaseStorage

logger = logging.getLogger(__name__)

WORKER_SILENCE = datetime.timedelta(minutes=5)
DB_BACKEND = "django_tasks_db.DatabaseBackend"


class CheckFailed(Exception):
    """A check's failure, with a short reason safe to show anyone."""


@task()
def heartbeat() -> None:
    """Does nothing: that the worker ran it is the news."""


def check_database() -> str:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        logger.warning("Health check: the database does not answer", exc_info=True)
        raise CheckFailed("no answer") from None
    return "ok"


_migrations_applied = False


def check_migrations() -> str:
    # Once all are applied they stay so for this process (new migration files
    # arrive with a new deploy, hence a restart): loading them costs ~0.1 s.
    global _migrations_applied
    if _migrations_applied:
        return "ok"
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        raise CheckFailed(f"{len(plan)} migration(s) not applied")
    _migrations_applied = True
    return "ok"


def check_worker() -> str:
    backend_path = settings.TASKS.get("default", {}).get("BACKEND", "")
    if backend_path != DB_BACKEND:
        # Tasks run inside the request (tests, small installs): there is no worker.
        return "no worker (tasks run in the web process)"
    from django_tasks_db.models import DBTaskResult

    last_start = DBTaskResult.objects.aggregate(last=Max("started_at"))["last"]
    if not DBTaskResult.objects.ready().filter(task_path=heartbeat.module_path).exists():
        heartbeat.enqueue()
    if last_start is None or timezone.now() - last_start > WORKER_SILENCE:
        minutes = int(WORKER_SILENCE.total_seconds() // 60)
        raise CheckFailed(f"no task started in the last {minutes} minutes")
    return "ok"


def check_media() -> str:
    storage = storages["default"]
    if isinstance(storage, DatabaseStorage):
        # Only reached once the database check passed (NEEDS_DATABASE).
        return "ok"
    if isinstance(storage, FileSystemStorage):
        root = Path(storage.location)
        try:
            root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=root, prefix=".healthz-"):
                pass
        except OSError:
            raise CheckFailed("media folder not writable") from None
        return "ok"
    try:
        storage.exists(".healthz")
    except Exception:
        logger.exception("Media storage did not answer")
        raise CheckFailed("media storage not answering") from None
    return "ok"


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "migrations": check_migrations,
    "worker": check_worker,
    "media": check_media,
}
# Checks that ask the database: skipped (and failed) when the database does not answer.
NEEDS_DATABASE = {"migrations", "worker"}


def _needs_database(name: str) -> bool:
    return name in NEEDS_DATABASE or (
        name == "media" and isinstance(storages["default"], DatabaseStorage)
    )


def run_checks() -> dict[str, str]:
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        if _needs_database(name) and results.get("database") != "ok":
            results[name] = "failing: database unavailable"
            continue
        try:
            results[name] = check()
        except CheckFailed as failure:
            results[name] = f"failing: {failure}"
        except Exception:
            logger.exception("Health check %s raised", name)
            results[name] = "failing: error (see the server log)"
    return results


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    results = run_checks()
    failing = [name for name, result in results.items() if result.startswith("failing")]
    body = {"status": "failing" if failing else "ok", "failing": failing, "checks": results}
    response = JsonResponse(body, status=503 if failing else 200)
    if failing:
        response["Retry-After"] = "30"
    return response
