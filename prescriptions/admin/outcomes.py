"""Outcome measures in the admin: attached to a plan with a schedule; the library's terms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from prescriptions.models import OutcomeMeasure, Plan


class OutcomeMeasureForm(forms.ModelForm[OutcomeMeasure]):
    class Meta:
        model = OutcomeMeasure
        fields = ("instrument", "at_start", "every_weeks", "at_end", "activities")
        widgets = {"activities": forms.Textarea(attrs={"rows": 3, "cols": 40})}


class OutcomeMeasureInline(admin.TabularInline[OutcomeMeasure, Plan]):
    """Questionnaires the patient answers in the portal, and when."""

    model = OutcomeMeasure
    form = OutcomeMeasureForm
    extra = 0
    verbose_name = _("outcome questionnaire")
    verbose_name_plural = _("outcome questionnaires")

    def get_extra(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        # An empty row to fill on a new plan; none once the plan has its measures.
        return 0 if obj is not None and obj.pk and obj.outcome_measures.exists() else 1
