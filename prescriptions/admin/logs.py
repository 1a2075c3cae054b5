"""What patients recorded, read-only in the admin."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from clinic.admin_scoping import is_superuser
from prescriptions.models import ExerciseLog, SessionLog


class ExerciseLogInline(admin.TabularInline[ExerciseLog, SessionLog]):
    model = ExerciseLog
    fields = ("item", "sets_done", "sets_left", "sets_right")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[ExerciseLog]:
        return super().get_queryset(request).select_related("item__exercise")


@admin.register(SessionLog)
class SessionLogAdmin(admin.ModelAdmin[SessionLog]):
    """What patients recorded: read-only for therapists."""

    list_display = (
        "date",
        "patient",
        "plan",
        "pain",
        "nerve_symptoms",
        "symptoms_lasted",
        "effort",
        "short_comment",
    )
    list_filter = ("nerve_symptoms", "symptoms_lasted", "effort", "date")
    list_select_related = ("plan__patient",)
    search_fields = ("plan__patient__first_name", "plan__patient__last_name", "comment")
    date_hierarchy = "date"
    inlines = [ExerciseLogInline]

    @admin.display(description=_("patient"), ordering="plan__patient__last_name")
    def patient(self, obj: SessionLog) -> str:
        return obj.plan.patient.full_name

    @admin.display(description=_("comment"))
    def short_comment(self, obj: SessionLog) -> str:
        return obj.comment[:80] + ("…" if len(obj.comment) > 80 else "")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return is_superuser(request)
