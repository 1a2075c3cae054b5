"""A URLconf for tests/clinic/test_scoping.py: views that read clinic-owned rows and
enter no scope of their own, as a newly written view might forget to."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path

from clinic.models import Patient
from clinic.scoping import current_scope
from prescriptions.models import Exercise


def patient_names(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"names": sorted(p.full_name for p in Patient.objects.all())})


def exercise_slugs(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"slugs": sorted(Exercise.objects.values_list("slug", flat=True))})


def scope_seen(request: HttpRequest) -> JsonResponse:
    seen = current_scope()
    return JsonResponse({"scope": None if seen is None else [seen.clinic_id, seen.every_clinic]})


urlpatterns = [
    path("patients/", patient_names),
    path("exercises/", exercise_slugs),
    path("scope/", scope_seen),
]
