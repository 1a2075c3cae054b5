"""The admin's Exports page: CSV downloads for clinic administrators.

Patients with their adherence and latest pain, and the session logs of a date
range, streamed (see `prescriptions.exports`). Clinic administrators export
their own clinic; superusers every clinic (with a clinic column).
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic import audit
from clinic.models import Patient, therapist_for
from clinic.scoping import current_scope, stream_in_scope
from clinic.widgets import DateBox
from prescriptions import exports
from prescriptions.models import SessionLog


def can_export(request: HttpRequest) -> bool:
    """Clinic administrators and superusers may download their data as CSV."""
    if request.user.is_superuser:
        return True
    therapist = therapist_for(request)
    return therapist is not None and therapist.is_clinic_admin


def _today(request: HttpRequest) -> datetime.date:
    therapist = therapist_for(request)
    return therapist.clinic.today() if therapist is not None else timezone.localdate()


class SessionRangeForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=DateBox())
    end = forms.DateField(label=_("To"), widget=DateBox())

    def clean(self) -> dict[str, Any] | None:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", _("The end date cannot be before the start date."))
            elif (end - start).days >= exports.MAX_RANGE_DAYS:
                self.add_error(
                    "end",
                    _("Export at most %(days)s days at a time.") % {"days": exports.MAX_RANGE_DAYS},
                )
        return data


def _csv_response(lines: Any, name: str) -> StreamingHttpResponse:
    # Streamed after the request's scope has ended: each line is read in it.
    response = StreamingHttpResponse(
        stream_in_scope(lines, current_scope()), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


def exports_page(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    if not can_export(request):
        raise PermissionDenied
    today = _today(request)
    form = SessionRangeForm(
        request.GET if "start" in request.GET or "end" in request.GET else None,
        initial={"start": today - datetime.timedelta(days=27), "end": today},
    )
    if form.is_bound and form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        with_clinic = request.user.is_superuser
        lines = exports.csv_lines(
            exports.session_header(with_clinic),
            exports.session_rows(SessionLog.objects.all(), start, end, with_clinic=with_clinic),
        )
        audit.record(request, audit.Action.EXPORT, detail=f"session logs {start} to {end} as CSV")
        return _csv_response(lines, exports.filename("sessions", start, end))
    context = {
        **admin.site.each_context(request),
        "title": _("Exports"),
        "form": form,
        "today": today,
    }
    status = 400 if form.is_bound else 200
    return render(request, "admin/prescriptions/exports.html", context, status=status)


def export_patients(request: HttpRequest) -> StreamingHttpResponse:
    if not can_export(request):
        raise PermissionDenied
    today = _today(request)
    with_clinic = request.user.is_superuser
    lines = exports.csv_lines(
        exports.patient_header(with_clinic),
        exports.patient_rows(Patient.objects.all(), today, with_clinic=with_clinic),
    )
    audit.record(request, audit.Action.EXPORT, detail="patients with adherence as CSV")
    return _csv_response(lines, exports.filename("patients", today))


# Mounted at /admin/exports/ (clinic.urls), before the admin's own URLs.
urlpatterns = [
    path("", admin.site.admin_view(exports_page), name="rehabit_exports"),
    path(
        "patients.csv",
        admin.site.admin_view(export_patients),
        name="rehabit_export_patients",
    ),
]
