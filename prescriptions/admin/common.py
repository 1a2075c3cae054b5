"""Pieces shared by the prescriptions admin pages: exercise thumbnails, the owner filter
and the behaviour every shared-library page has (exercises, education pages, templates)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from clinic import audit
from clinic.admin_scoping import clinic_of, is_superuser, owned_form
from prescriptions.models import Exercise, Plan, PlanTemplate
from prescriptions.tasks import schedule_handout

THUMB = (
    '<img src="{}" alt="{}" title="{}" class="rehabit-thumb" width="{}" height="{}" loading="lazy">'
)


def thumbnail(exercise: Exercise | None, size: int = 64) -> str:
    if exercise is None:
        return "–"
    text = exercise.illustration_text()
    return format_html(THUMB, exercise.illustration_url(), text, text, size, size * 5 // 8)


class OwnerFilter(admin.SimpleListFilter):
    title = _("owner")
    parameter_name = "owner"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("shared", _("Shared library")), ("clinic", _("Our clinic's own"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "shared":
            return queryset.filter(clinic__isnull=True)
        if self.value() == "clinic":
            return queryset.filter(clinic__isnull=False)
        return queryset


class SharedLibraryAdminMixin:
    """A library whose shared rows come with Rehabit and whose clinic rows a clinic
    writes: the form is the clinic's own, a therapist's new row belongs to their clinic,
    the owner column says whose it is, and (for models with ``is_active``) the picker
    offers only rows that are still in use: retired ones stay in old plans."""

    shared_label: Any = _("Shared library")

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        return owned_form(super().get_form(request, obj, change, **kwargs), request)  # type: ignore[misc]

    @admin.display(description=_("owner"), ordering="clinic__name")
    def owner(self, obj: Any) -> str:
        return obj.clinic.name if obj.clinic else str(self.shared_label)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        queryset, may_have_duplicates = super().get_search_results(  # type: ignore[misc]
            request, queryset, search_term
        )
        has_active = any(f.name == "is_active" for f in queryset.model._meta.fields)
        if has_active and request.path.endswith("/autocomplete/"):
            queryset = queryset.filter(is_active=True)
        return queryset, may_have_duplicates

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not is_superuser(request):
            obj.clinic = clinic_of(request)
        super().save_model(request, obj, form, change)  # type: ignore[misc]


def plan_started(
    model_admin: Any,
    request: HttpRequest,
    plan: Plan,
    template: PlanTemplate,
    *,
    change_message: str,
    where: str = "",
) -> str:
    """What follows a plan started from a protocol, from the plan builder or the
    template's page: the handout pre-rendered, the plan's admin history and the audit
    trail. Returns the message for the therapist."""
    schedule_handout(plan)
    model_admin.log_addition(request, plan, change_message)
    detail = f"started from protocol {template.pk}" + (f" {where}" if where else "")
    audit.record(request, audit.Action.CREATE, obj=plan, detail=detail)
    return gettext("Draft plan created from “%(template)s”. Adjust it, then activate it.") % {
        "template": template.name
    }
