"""Patient-education pages in the admin: the shared ones read-only, a clinic's own editable."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from clinic.admin_scoping import ClinicOwnedForm, is_superuser
from prescriptions.admin.common import OwnerFilter, SharedLibraryAdminMixin
from prescriptions.models import EducationPage


class EducationPageForm(ClinicOwnedForm):
    class Meta:
        model = EducationPage
        fields = "__all__"
        widgets = {
            "body": forms.Textarea(attrs={"rows": 14}),
            "sources": forms.Textarea(attrs={"rows": 4}),
        }


@admin.register(EducationPage)
class EducationPageAdmin(SharedLibraryAdminMixin, admin.ModelAdmin[EducationPage]):
    form = EducationPageForm
    list_display = ("title", "summary", "owner", "is_active")
    list_filter = (OwnerFilter, "is_active")
    list_select_related = ("clinic",)
    search_fields = ("title", "summary")
    prepopulated_fields = {"slug": ("title",)}

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = ["title", "slug", "summary", "body", "sources", "is_active"]
        if is_superuser(request):
            fields.insert(0, "clinic")
        return fields
