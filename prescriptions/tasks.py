"""Background work: render a plan's handout ahead of the patient's first download.

Large plans' handouts are rendered only here, never in a web request
(prescriptions.downloads), and a render is stopped after
`settings.HANDOUT_RENDER_TIME_LIMIT` seconds: the task then fails with
`RenderTooSlow`, which the plan's admin page explains to the therapist.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.tasks import task

from clinic.scoping import scope
from prescriptions.handouts import RenderTooSlow, get_handout
from prescriptions.models import Plan

logger = logging.getLogger(__name__)


@task()
def render_handout(plan_id: int, clinic_id: int) -> None:
    """Render in the scope of the plan's clinic, which the enqueuer passes along."""
    with scope(clinic_id):
        plan = Plan.objects.filter(pk=plan_id).first()
        if plan is None:
            # Deleted between the save and the worker picking the task up.
            return
        limit: int = settings.HANDOUT_RENDER_TIME_LIMIT
        try:
            get_handout(plan, time_limit=limit)
        except RenderTooSlow:
            logger.error("The handout of plan %s took longer than %s s: stopped.", plan_id, limit)
            raise


def queue_render(plan: Plan) -> None:
    """Queue a render of the plan's handout now."""
    try:
        render_handout.enqueue(plan.pk, plan.patient.clinic_id)
    except Exception:
        logger.exception("Could not queue the handout render for plan %s", plan.pk)


def schedule_handout(plan: Plan) -> None:
    """Queue a render of an active plan's handout once the current transaction commits.

    After the commit, so that the worker sees the saved plan and its exercises (and
    nothing at all if the save rolls back). Drafts are not rendered: they change often
    and no patient downloads them.
    """
    if plan.pk is None or plan.status != Plan.Status.ACTIVE:
        return
    plan_id, clinic_id = plan.pk, plan.patient.clinic_id

    def enqueue() -> None:
        try:
            render_handout.enqueue(plan_id, clinic_id)
        except Exception:
            # A missing worker table must not break saving a plan: the handout is
            # then rendered on the first download instead.
            logger.exception("Could not queue the handout render for plan %s", plan_id)

    transaction.on_commit(enqueue)


@dataclass(frozen=True)
class RenderState:
    """The plan's latest handout render queued for the task worker."""

    status: str  # READY, RUNNING, SUCCESSFUL or FAILED (django.tasks' TaskResultStatus)
    too_slow: bool

    @property
    def failed(self) -> bool:
        return self.status == "FAILED"

    @property
    def waiting(self) -> bool:
        return self.status in {"READY", "RUNNING"}


def latest_render(plan: Plan) -> RenderState | None:
    """The plan's latest queued handout render, or None (none, or a task backend that
    keeps no results: only the database backend does)."""
    backend: str = str(settings.TASKS["default"]["BACKEND"])
    if not backend.startswith("django_tasks_db."):
        return None
    from django_tasks_db.models import DBTaskResult

    latest = (
        DBTaskResult.objects.filter(
            task_path=render_handout.module_path, args_kwargs__args__0=plan.pk
        )
        .order_by("-enqueued_at")
        .only("status", "exception_class_path")
        .first()
    )
    if latest is None:
        return None
    too_slow = latest.exception_class_path.endswith(f".{RenderTooSlow.__qualname__}")
    return RenderState(status=latest.status, too_slow=too_slow)
