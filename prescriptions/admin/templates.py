"""Plan templates (protocols) in the admin, and starting a patient's plan from one."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from clinic.admin_scoping import (
    ClinicOwnedForm,
    clinic_of,
    is_superuser,
)
from clinic.models import Patient, Therapist, therapist_for
from clinic.widgets import DateBox
from prescriptions import plans
from prescriptions.admin.common import OwnerFilter, SharedLibraryAdminMixin, plan_started
from prescriptions.admin.exercises import TranslationInlineMixin
from prescriptions.admin.items import TemplateItemInline, TemplatePhaseInline, save_items
from prescriptions.models import PlanTemplate, PlanTemplateTranslation, TemplateItem


class PlanTemplateTranslationInline(
    TranslationInlineMixin, admin.StackedInline[PlanTemplateTranslation, PlanTemplate]
):
    """A plan started from the template for a patient of that language takes these words."""

    model = PlanTemplateTranslation
    # Each exercise's instructions in the other language come with the shipped
    # protocols (item_texts); a clinic writes them on the plan.
    fields = ("language", "name", "condition", "description", "goals", "notes_for_patient")
    verbose_name = _("version in another language")
    verbose_name_plural = _("Versions in other languages")


class TemplateForm(ClinicOwnedForm):
    class Meta:
        model = PlanTemplate
        fields = "__all__"


@admin.register(PlanTemplate)
class PlanTemplateAdmin(SharedLibraryAdminMixin, admin.ModelAdmin[PlanTemplate]):
    shared_label = _("Shared")
    form = TemplateForm
    list_display = ("name", "condition", "owner", "exercise_count", "duration_weeks")
    list_filter = (OwnerFilter,)
    list_select_related = ("clinic",)
    search_fields = ("name", "condition")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [TemplatePhaseInline, TemplateItemInline, PlanTemplateTranslationInline]
    actions = ["start_plan"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = [
            "name",
            "slug",
            "condition",
            "duration_weeks",
            "description",
            "goals",
            "notes_for_patient",
            "sources",
        ]
        if is_superuser(request):
            fields.insert(0, "clinic")
        return fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[PlanTemplate]:
        return super().get_queryset(request).annotate(n_items=Count("items"))

    @admin.display(description=_("exercises"), ordering="n_items")
    def exercise_count(self, obj: Any) -> int:
        count: int = obj.n_items  # annotated by get_queryset
        return count

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is TemplateItem:
            save_items(formset)
        else:
            formset.save()

    @admin.action(description=_("Start a plan for a patient from this template"))
    def start_plan(self, request: HttpRequest, queryset: QuerySet[PlanTemplate]) -> Any:
        if queryset.count() != 1:
            self.message_user(request, _("Choose exactly one template."), messages.WARNING)
            return None
        template = queryset.get()
        therapist = therapist_for(request)
        form = StartPlanForm(request.POST if "apply" in request.POST else None, request=request)
        plan = None
        if form.is_valid():
            try:
                plan = plans.start_plan_from_template(
                    template,
                    patient=form.cleaned_data["patient"],
                    therapist=form.cleaned_data["therapist"],
                    start_date=form.cleaned_data["start_date"],
                )
            except ValidationError as error:
                # More exercises than the patient's clinic allows in one plan.
                form.add_error(None, error)
        if plan is not None:
            # In the plan's history too (log_addition takes any model's row).
            created = str(_("Created from a plan template."))
            self.message_user(
                request,
                plan_started(self, request, plan, template, change_message=created),
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:prescriptions_plan_change", args=[plan.pk]))
        if therapist and not form.is_bound:
            form.initial["therapist"] = therapist.pk
        return TemplateResponse(
            request,
            "admin/prescriptions/start_plan.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Start a plan from “%(name)s”") % {"name": template.name},
                "template": template,
                "form": form,
                "opts": self.opts,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
                "selected": template.pk,
            },
        )


class StartPlanForm(forms.Form):
    """Whom the plan is for. The choices are the request's scope: the therapist's clinic."""

    patient = forms.ModelChoiceField(queryset=Patient.objects.active(), label=_("Patient"))
    therapist = forms.ModelChoiceField(
        queryset=Therapist.objects.select_related("user"), label=_("Therapist")
    )
    start_date = forms.DateField(label=_("Start date"), widget=DateBox())

    def __init__(self, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        clinic = clinic_of(request)
        self.fields["start_date"].initial = clinic.today() if clinic else datetime.date.today()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        patient, therapist = data.get("patient"), data.get("therapist")
        if patient and therapist and patient.clinic_id != therapist.clinic_id:
            raise forms.ValidationError(_("The therapist must work at the patient's clinic."))
        return data
