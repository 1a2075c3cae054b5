"""Patients in the admin: the list with adherence columns, plans, portal invitations.

Registered here rather than in `clinic.admin`: the patient list shows adherence
and the patient's plans, which belong to this app.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from clinic import audit
from clinic.admin_portal import PatientPortalAdminMixin
from clinic.admin_scoping import clinic_of, is_superuser
from clinic.dates import DateOfBirthField
from clinic.models import Patient, therapist_for
from clinic.scoping import current_scope, stream_in_scope
from prescriptions import fhir
from prescriptions.admin.adherence import PatientAdherenceAdminMixin
from prescriptions.admin.data_rights import PatientDataRightsAdminMixin
from prescriptions.admin.history import PatientHistoryAdminMixin
from prescriptions.admin.outcomes import PatientOutcomesAdminMixin
from prescriptions.models import Plan


class PlanInline(admin.TabularInline[Plan, Patient]):
    """The patient's plans, as links: plans are edited on their own page."""

    model = Plan
    fields = ("title", "status", "start_date", "end_date", "therapist", "revision")
    readonly_fields = fields
    show_change_link = True
    extra = 0
    can_delete = False
    verbose_name_plural = _("plans")

    class Media:
        # The outcome charts on the patient's page.
        css = {"all": ("rehabit/admin.css",)}

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Plan]:
        return super().get_queryset(request).select_related("therapist__user")


@admin.register(Patient)
class PatientAdmin(
    PatientHistoryAdminMixin,
    PatientAdherenceAdminMixin,
    PatientOutcomesAdminMixin,
    PatientPortalAdminMixin,
    PatientDataRightsAdminMixin,
    admin.ModelAdmin[Patient],
):
    list_display = (
        "full_name",
        "date_of_birth",
        "primary_therapist",
        "has_login",
        *PatientAdherenceAdminMixin.adherence_list_display,
    )
    list_display_links = ("full_name",)
    list_filter = (
        "is_active",
        ("primary_therapist", admin.RelatedOnlyFieldListFilter),
        *PatientAdherenceAdminMixin.adherence_list_filter,  # type: ignore[arg-type]
    )
    list_select_related = ("primary_therapist__user",)
    search_fields = ("first_name", "last_name", "email", "phone")
    actions = [*PatientPortalAdminMixin.portal_actions, "export_fhir"]
    readonly_fields = (
        "created_at",
        "last_reminded_on",
        *PatientPortalAdminMixin.portal_readonly_fields,
        *PatientOutcomesAdminMixin.outcomes_readonly_fields,
        *PatientAdherenceAdminMixin.adherence_readonly_fields,
    )
    inlines = [PlanInline]
    list_per_page = 50

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        who = ["first_name", "last_name", "date_of_birth", "primary_therapist", "is_active"]
        if is_superuser(request):
            who.insert(0, "clinic")
        progress: tuple[Any, ...] = ()
        outcomes: tuple[Any, ...] = ()
        if obj is not None:
            # What the therapist came for first: how the patient is doing.
            progress = (
                (
                    pgettext_lazy("patient page", "Progress"),
                    {
                        "fields": PatientAdherenceAdminMixin.adherence_readonly_fields,
                        "classes": ("rehabit-progress",),
                    },
                ),
            )
            fields = PatientOutcomesAdminMixin.outcomes_readonly_fields
            outcomes = ((_("Outcome scores"), {"fields": fields}),)
        return (
            *progress,
            (None, {"fields": who}),
            *outcomes,
            (_("Contact"), {"fields": ("email", "phone", "preferred_language")}),
            (
                _("Handouts and portal"),
                {
                    "fields": (
                        "large_print",
                        "reminder_time",
                        "last_reminded_on",
                        *PatientPortalAdminMixin.portal_readonly_fields,
                    )
                },
            ),
            (_("Clinical notes"), {"fields": ("notes", "created_at")}),
        )

    @admin.display(description=_("name"), ordering="last_name")
    def full_name(self, obj: Patient) -> str:
        return obj.full_name

    @admin.display(description=_("portal"), boolean=True, ordering="user")
    def has_login(self, obj: Patient) -> bool:
        return obj.user_id is not None

    @admin.action(description=_("Export as FHIR (R4)"), permissions=["view"])
    def export_fhir(
        self, request: HttpRequest, queryset: QuerySet[Patient]
    ) -> StreamingHttpResponse:
        """One patient: a FHIR Bundle (JSON). Several: one Bundle a line (NDJSON),
        streamed, so a whole clinic's export never sits in memory at once."""
        ids = list(queryset.order_by("pk").values_list("pk", flat=True))
        for pk in ids:
            audit.record(request, audit.Action.EXPORT, patient=pk, detail="FHIR bundle")

        def bundles() -> Iterator[str]:
            for pk in ids:
                patient = Patient.objects.select_related("clinic").filter(pk=pk).first()
                if patient is not None:
                    text = fhir.export_patient(patient)
                    yield text if len(ids) == 1 else text + "\n"

        single = len(ids) == 1
        response = StreamingHttpResponse(
            # Streamed after the request's scope has ended: each bundle is built in it.
            stream_in_scope(bundles(), current_scope()),
            content_type="application/fhir+json" if single else "application/fhir+ndjson",
        )
        name = f"patient-{ids[0]}.fhir.json" if single else "patients.fhir.ndjson"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Cache-Control"] = "private, no-store"
        return response

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "date_of_birth":
            # Day, month by name and year, rather than a calendar that opens at today.
            return DateOfBirthField(
                label=capfirst(db_field.verbose_name), required=not db_field.blank
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial: dict[str, Any] = dict(super().get_changeform_initial_data(request))
        therapist = therapist_for(request)
        if therapist is not None:
            initial.setdefault("primary_therapist", therapist.pk)
        return initial

    def save_model(self, request: HttpRequest, obj: Patient, form: Any, change: bool) -> None:
        if not is_superuser(request):
            clinic = clinic_of(request)
            assert clinic is not None
            obj.clinic = clinic
        super().save_model(request, obj, form, change)
