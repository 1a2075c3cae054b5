"""Plan handouts: one Django template, one stylesheet, rendered to a tagged PDF by WeasyPrint.

This package is the only code that turns a plan into a PDF:

- `context`: what the handout shows (branding, plan, a card per exercise, tick
  sheet, QR code) and the HTML the template makes of it;
- `files`: what the renderer may read, through an allow-list URL fetcher that
  serves only files under the static and media roots and ``data:`` URIs
  (everything else is refused and logged);
- `render`: the HTML turned into a PDF, with one font configuration, parsed
  stylesheet and image cache per process;
- `store`: the rendered PDFs, stored in the ``Handout`` model under a hash of
  the HTML, the stylesheet and the files they name, so an unchanged handout is
  never rendered twice and a changed one never served stale.

Callers check that the asker may see the plan before asking for its handout.
"""

from prescriptions.handouts.context import (
    PlanLoad,
    build_context,
    css_string,
    handout_plans,
    load_plan,
    load_warnings,
    plan_load,
    prepared_handout_plan,
    render_html,
)
from prescriptions.handouts.files import BASE_URL, RefusedURL, local_file
from prescriptions.handouts.render import (
    RenderedHandout,
    RenderTooSlow,
    render_pdf,
    reset_engine,
)
from prescriptions.handouts.store import (
    HandoutPending,
    get_handout,
    handout_bytes,
    handout_filename,
    handout_key,
    handout_response,
    renders_in_worker,
)

__all__ = [
    "BASE_URL",
    "HandoutPending",
    "PlanLoad",
    "RefusedURL",
    "RenderTooSlow",
    "RenderedHandout",
    "build_context",
    "css_string",
    "get_handout",
    "handout_bytes",
    "handout_filename",
    "handout_key",
    "handout_plans",
    "handout_response",
    "load_plan",
    "load_warnings",
    "local_file",
    "plan_load",
    "prepared_handout_plan",
    "render_html",
    "render_pdf",
    "renders_in_worker",
    "reset_engine",
]
