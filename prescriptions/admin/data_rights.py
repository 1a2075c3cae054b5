"""A patient's data rights in the admin: export their data, erase them.

PatientAdmin mixes this in. Both pages look the patient up through the admin's
own clinic-scoped queryset (`get_object`), so another clinic's patient is a 404.

* Export (the zip of prescriptions.export): clinic administrators, and the
  patient's therapists (their primary therapist, or the therapist of one of
  their plans); superusers.
* Erasure (prescriptions.erasure): clinic administrators and superusers, after
  typing the patient's full name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic import audit
from clinic.admin_scoping import is_superuser
from clinic.models import Patient, therapist_for
from prescriptions.erasure import confirmation_matches, erase_patient
from prescriptions.export import export_filename, export_zip
from prescriptions.models import ExerciseLog, Handout, Plan, SessionLog

if TYPE_CHECKING:
    _Base = admin.ModelAdmin[Patient]
else:
    _Base = object


class ErasureForm(forms.Form):
    confirmation = forms.CharField(
        label=gettext_lazy("Type the patient's full name to confirm"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "size": 40}),
    )

    def __init__(self, *args: Any, patient: Patient, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.patient = patient

    def clean_confirmation(self) -> str:
        typed: str = self.cleaned_data["confirmation"]
        if not confirmation_matches(self.patient, typed):
            raise forms.ValidationError(
                _("That is not the patient's full name as recorded; nothing was erased.")
            )
        return typed


def may_export(request: HttpRequest, patient: Patient) -> bool:
    if is_superuser(request):
        return True
    therapist = therapist_for(request)
    if therapist is None or therapist.clinic_id != patient.clinic_id:
        return False
    if therapist.is_clinic_admin or patient.primary_therapist_id == therapist.pk:
        return True
    return Plan.objects.filter(patient=patient, therapist=therapist).exists()


def may_erase(request: HttpRequest, patient: Patient) -> bool:
    if is_superuser(request):
        return True
    therapist = therapist_for(request)
    return bool(
        therapist and therapist.is_clinic_admin and therapist.clinic_id == patient.clinic_id
    )


class PatientDataRightsAdminMixin(_Base):
    def get_urls(self) -> list[URLPattern]:
        info = (self.opts.app_label, self.opts.model_name)
        return [
            path(
                "<path:object_id>/export/",
                self.admin_site.admin_view(self.export_view),
                name="{}_{}_export".format(*info),
            ),
            path(
                "<path:object_id>/erase/",
                self.admin_site.admin_view(self.erase_view),
                name="{}_{}_erase".format(*info),
            ),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra: dict[str, Any] = dict(extra_context or {})
        # The buttons show only to those whom the pages let in.
        patient = self.get_object(request, object_id)
        if patient is not None:
            extra["may_export_data"] = may_export(request, patient)
            extra["may_erase"] = may_erase(request, patient)
        return super().change_view(request, object_id, form_url, extra)

    def _patient(self, request: HttpRequest, object_id: str) -> Patient:
        patient = self.get_object(request, object_id)
        if patient is None:
            raise Http404
        return patient

    def export_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        patient = self._patient(request, object_id)
        if not may_export(request, patient):
            raise PermissionDenied
        data = export_zip(patient, clinical_notes=True)
        audit.record(request, audit.Action.EXPORT, obj=patient, detail="data export (admin)")
        response = HttpResponse(data, content_type="application/zip")
        response["Content-Disposition"] = content_disposition_header(True, export_filename(patient))
        response["Cache-Control"] = "private, no-store"
        return response

    def erase_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        patient = self._patient(request, object_id)
        if not may_erase(request, patient):
            raise PermissionDenied
        form = ErasureForm(request.POST or None, patient=patient)
        if request.method == "POST" and form.is_valid():
            kept_id = erase_patient(patient=patient, request=request)
            self.message_user(
                request,
                _(
                    "The patient's data is erased. The audit trail keeps their "
                    "entries under patient %(id)s, with no name."
                )
                % {"id": kept_id},
                messages.SUCCESS,
            )
            return HttpResponseRedirect(
                reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
            )
        plans = Plan.objects.filter(patient=patient)
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "patient": patient,
            "form": form,
            "title": _("Erase %(patient)s") % {"patient": patient},
            "change_url": reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[patient.pk]
            ),
            "export_url": reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_export", args=[patient.pk]
            ),
            "counts": [
                (_("plans"), plans.count()),
                (_("session logs"), SessionLog.objects.filter(plan__patient=patient).count()),
                (
                    _("exercise logs"),
                    ExerciseLog.objects.filter(session__plan__patient=patient).count(),
                ),
                (_("handouts"), Handout.objects.filter(plan__patient=patient).count()),
                (_("portal invitations"), patient.invitations.count()),
            ],
        }
        status = 400 if request.method == "POST" else 200
        return TemplateResponse(
            request, "admin/clinic/patient/erase_confirm.html", context, status=status
        )
