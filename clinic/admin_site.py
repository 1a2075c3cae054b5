"""Rehabit's admin site: the stock admin, with pictures in the exercise picker."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _


class ExerciseAutocompleteView(AutocompleteJsonView):
    """Adds each exercise's drawing, category and default dosage to the results."""

    def serialize_result(self, obj: Any, to_field_name: str) -> dict[str, Any]:
        result = super().serialize_result(obj, to_field_name)
        if hasattr(obj, "illustration_url"):
            result["image"] = obj.illustration_url()
            result["category"] = obj.get_category_display()
            # The plan row's dosage boxes start from the exercise's default dosage.
            result["dosage"] = obj.dosage_dict()
        return result


class RehabitAdminSite(admin.AdminSite):
    site_header = _("Rehabit")
    site_title = _("Rehabit")
    index_title = _("Home-exercise plans")
    # The plan page and the patient list need the full width for their columns.
    enable_nav_sidebar = False

    def autocomplete_view(self, request: HttpRequest) -> HttpResponse:
        return ExerciseAutocompleteView.as_view(admin_site=self)(request)  # type: ignore[return-value]
