"""Patient-education pages in the admin: the shared ones read-only, a clinic's own editable."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from clinic.admin_scoping import ClinicOwnedForm, clinic_of, is_superuser, owned_form
from prescriptions.admin.common import OwnerFilter
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
class EducationPageAdmin(admin.ModelAdmin[EducationPage]):
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

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        return owned_form(super().get_form(request, obj, change, **kwargs), request)

    @admin.display(description=_("owner"), ordering="clinic__name")
    def owner(self, obj: EducationPage) -> str:
        return obj.clinic.name if obj.clinic else str(_("Shared library"))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if request.path.endswith("/autocomplete/"):
            # Retired pages stay in old plans but cannot be added to new ones.
            queryset = queryset.filter(is_active=True)
        return queryset, may_have_duplicates

    def save_model(self, request: HttpRequest, obj: EducationPage, form: Any, change: bool) -> None:
        if not is_superuser(request):
            obj.clinic = clinic_of(request)
        super().save_model(request, obj, form, change)
