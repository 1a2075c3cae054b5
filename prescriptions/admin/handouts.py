"""Handout downloads in the therapist admin (button, zip action, warnings).

PlanAdmin mixes this in and appends `handout_actions` to its actions and
`handout_readonly_fields` to its read-only fields. Every lookup goes through the
admin's own scoped queryset (`get_object`, the action's queryset), so another
clinic's plan is a 404 here as everywhere else in the admin.
"""

from __future__ import annotations

import io
import zipfile
from typing import TYPE_CHECKING

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import content_disposition_header
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from clinic import audit
from prescriptions.downloads import handout_download
from prescriptions.handouts import (
    handout_bytes,
    handout_filename,
    load_warnings,
    plan_load,
)
from prescriptions.models import Plan
from prescriptions.tasks import latest_render

if TYPE_CHECKING:
    _Base = admin.ModelAdmin[Plan]
else:
    _Base = object

# Rendering is about a third of a second a plan when nothing is cached: a bigger
# selection would keep the request (and a worker) busy for too long.
ZIP_MAX_PLANS = 30


class PlanHandoutAdminMixin(_Base):
    handout_actions: tuple[str, ...] = ("download_handouts",)
    handout_readonly_fields: tuple[str, ...] = ("handout_summary",)

    def get_urls(self) -> list[URLPattern]:
        opts = self.opts
        return [
            path(
                "<path:object_id>/handout/",
                self.admin_site.admin_view(self.handout_view),
                name=f"{opts.app_label}_{opts.model_name}_handout",
            ),
            *super().get_urls(),
        ]

    def handout_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        plan = self.get_object(request, unquote(object_id))
        if plan is None or not self.has_view_or_change_permission(request, plan):
            raise Http404(_("No plan with this ID."))
        audit.record(request, audit.Action.DOWNLOAD, obj=plan, detail="handout")
        return handout_download(request, plan, template="admin/prescriptions/handout_pending.html")

    @admin.action(description=gettext_lazy("Download handouts (zip)"), permissions=["view"])
    def download_handouts(
        self, request: HttpRequest, queryset: QuerySet[Plan]
    ) -> HttpResponse | None:
        plans = list(queryset.select_related("patient").order_by("pk")[: ZIP_MAX_PLANS + 1])
        if len(plans) > ZIP_MAX_PLANS:
            self.message_user(
                request,
                _("Select at most %(n)d plans at a time to download their handouts.")
                % {"n": ZIP_MAX_PLANS},
                messages.ERROR,
            )
            return None
        buffer = io.BytesIO()
        names: set[str] = set()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
            for plan in plans:
                name = handout_filename(plan)
                if name in names:
                    name = f"{plan.pk}-{name}"
                names.add(name)
                # PDFs are compressed already: storing them is as small and faster.
                archive.writestr(name, handout_bytes(plan))
                audit.record(request, audit.Action.DOWNLOAD, obj=plan, detail="handout (zip)")
        response = HttpResponse(buffer.getvalue(), content_type="application/zip")
        response["Content-Disposition"] = content_disposition_header(True, "handouts.zip")
        response["Cache-Control"] = "private, no-store"
        return response

    @admin.display(description=gettext_lazy("Handout"))
    def handout_summary(self, obj: Plan | None) -> SafeString | str:
        if obj is None or obj.pk is None:
            return _("Save the plan to see its time and download its handout.")
        items = list(obj.items.all())
        load = plan_load(items, obj.patient.clinic)
        clinic = obj.patient.clinic
        warnings = load_warnings(load, clinic)
        state = latest_render(obj)
        if state is not None and state.failed:
            warnings.append(
                _(
                    "The handout could not be prepared: it took longer than the time "
                    "allowed for one handout. Consider splitting the plan in two."
                )
                if state.too_slow
                else _("The handout could not be prepared: the renderer failed.")
            )
        url = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_handout", args=[quote(obj.pk)]
        )
        summary = format_html(
            "<p>{}: {}</p>",
            ngettext("%(count)d exercise", "%(count)d exercises", load.exercise_count)
            % {"count": load.exercise_count},
            _("about %(session)d minutes a session, %(daily)d minutes a day.")
            % {"session": load.session_minutes, "daily": load.daily_minutes},
        )
        warning_html = format_html_join(
            "",
            '<p class="errornote" role="alert"><strong>{}</strong> {}</p>',
            ((_("Warning:"), text) for text in warnings),
        )
        button = format_html(
            '<p><a class="button" href="{}">{}</a></p>', url, _("Download handout")
        )
        return format_html("{}{}{}", summary, warning_html, button)
