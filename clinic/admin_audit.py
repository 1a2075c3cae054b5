"""The audit trail in the admin: read-only, for clinic administrators and superusers.

A clinic administrator sees their own clinic's entries (the trail's manager is
clinic-scoped like every other); superusers see every clinic's and the entries
of no clinic (sign-ins with unknown addresses). Nobody may add, change or
delete an entry here, superusers included. The list filters by patient, user,
action and date and exports what it shows as CSV.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _

from clinic import audit
from clinic.admin_scoping import is_superuser
from clinic.models import AuditEntry, Patient, therapist_for
from clinic.scoping import Scope, current_scope, scope, unscoped

# A cell that starts with one of these is a formula to a spreadsheet program
# (OWASP "CSV injection"): it gets a leading apostrophe, which shows it as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


CSV_COLUMNS = (
    "timestamp",
    "actor_label",
    "clinic_id",
    "patient_id",
    "action",
    "object_type",
    "object_id",
    "changes",
    "detail",
    "ip_address",
)


def csv_rows(entries: QuerySet[AuditEntry], asker: Scope | None) -> Iterator[str]:
    """The CSV lines, read in the asker's scope: a streamed response is read after the
    view (and its scope) has returned."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    if asker is None:
        return
    within = unscoped() if asker.every_clinic else scope(asker.clinic_id)
    with within:
        yield from _entry_rows(writer, entries)


def _entry_rows(writer: Any, entries: QuerySet[AuditEntry]) -> Iterator[str]:
    for entry in entries.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                neutralise(entry.timestamp.isoformat()),
                neutralise(entry.actor_label),
                neutralise(entry.clinic_id),
                neutralise(entry.patient_id),
                neutralise(entry.action),
                neutralise(entry.object_type),
                neutralise(entry.object_id),
                neutralise(_json(entry.changes)),
                neutralise(entry.detail),
                neutralise(entry.ip_address),
            ]
        )


def _json(value: Any) -> str:
    import json

    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


class PatientFilter(admin.SimpleListFilter):
    """The clinic's patients by name; an erased patient's entries are found by their id."""

    title = _("patient")
    parameter_name = "patient_id"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        patients = Patient.objects.order_by("last_name", "first_name").only(
            "first_name", "last_name"
        )
        return [(str(patient.pk), f"{patient.full_name} ({patient.pk})") for patient in patients]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value is None:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(patient_id=int(value))


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin[AuditEntry]):
    list_display = ("timestamp", "actor_label", "action", "patient", "what", "ip_address")
    list_filter = (
        PatientFilter,
        ("actor", admin.RelatedOnlyFieldListFilter),
        "action",
        "timestamp",
    )
    date_hierarchy = "timestamp"
    search_fields = ("actor_label", "object_type", "object_id", "detail")
    list_per_page = 100
    show_full_result_count = False
    fields = (
        "timestamp",
        "actor_label",
        "clinic",
        "patient_id",
        "action",
        "object_type",
        "object_id",
        "changes",
        "detail",
        "ip_address",
    )
    readonly_fields = fields
    change_list_template = "admin/clinic/auditentry/change_list.html"
    actions = None  # not even "delete selected"

    @admin.display(description=_("patient"), ordering="patient_id")
    def patient(self, obj: AuditEntry) -> str:
        if obj.patient_id is None:
            return "–"
        url = reverse("admin:clinic_auditentry_changelist") + f"?patient_id={obj.patient_id}"
        return format_html('<a href="{}">{}</a>', url, obj.patient_id)

    @admin.display(description=_("what"))
    def what(self, obj: AuditEntry) -> str:
        parts = [obj.object_type, obj.object_id, obj.detail]
        return " ".join(part for part in parts if part)

    def _may_read(self, request: HttpRequest) -> bool:
        if is_superuser(request):
            return True
        therapist = therapist_for(request)
        return bool(request.user.is_staff and therapist and therapist.is_clinic_admin)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._may_read(request)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._may_read(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name="clinic_auditentry_export",
            ),
            *super().get_urls(),
        ]

    def export_view(self, request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
        """The entries the list shows with the same filters, as CSV."""
        if not self._may_read(request):
            raise PermissionDenied
        changelist: ChangeList = self.get_changelist_instance(request)
        entries = changelist.get_queryset(request)
        audit.record(request, audit.Action.EXPORT, detail="audit trail as CSV")
        response = StreamingHttpResponse(
            csv_rows(entries, current_scope()), content_type="text/csv"
        )
        name = f"audit-{timezone.localdate():%Y-%m-%d}.csv"
        response["Content-Disposition"] = content_disposition_header(True, name)
        response["Cache-Control"] = "private, no-store"
        return response
