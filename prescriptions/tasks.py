"""Background work: render a plan's handout ahead of the patient's first download."""

from __future__ import annotations

import logging

from django.db import transaction
from django.tasks import task

from clinic.scoping import scope
from prescriptions.handouts import get_handout
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
        get_handout(plan)


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
