"""Handout downloads, for the portal and the admin alike.

A stored handout is served at once, and a small plan's is rendered in the request.
A large plan's handout (more than `settings.HANDOUT_WEB_RENDER_MAX_EXERCISES`) is
rendered only by the task worker: a render of a few seconds would tie up a web
worker, and gunicorn kills one that takes 30. Meanwhile the visitor sees a
"being prepared" page that reloads itself (202, `Retry-After`); if the worker
gave up on it, the page says so instead, and the plan's admin page says why.
Callers check that the asker may see the plan first.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from prescriptions.handouts import HandoutPending, handout_response
from prescriptions.models import Plan
from prescriptions.tasks import latest_render, queue_render

# How often the "being prepared" page asks again.
PENDING_RETRY_SECONDS = 5


def handout_download(
    request: HttpRequest, plan: Plan, *, template: str, context: dict[str, Any] | None = None
) -> HttpResponse:
    try:
        return handout_response(plan, render_large=False)
    except HandoutPending:
        pass
    state = latest_render(plan)
    if state is None or not (state.waiting or state.failed):
        queue_render(plan)
        try:
            # The immediate task backend (development, tests) has rendered it now.
            return handout_response(plan, render_large=False)
        except HandoutPending:
            state = latest_render(plan)
    failed = state is not None and state.failed
    response = render(
        request,
        template,
        {
            **(context or {}),
            "plan": plan,
            "failed": failed,
            "too_slow": failed and state is not None and state.too_slow,
            "retry_seconds": PENDING_RETRY_SECONDS,
        },
        status=200 if failed else 202,
    )
    if not failed:
        response["Retry-After"] = str(PENDING_RETRY_SECONDS)
    response["Cache-Control"] = "private, no-store"
    return response
