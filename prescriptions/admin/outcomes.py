"""Outcome measures in the admin: attached to a plan with a schedule; the library's terms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.forms.formsets import DELETION_FIELD_NAME
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from prescriptions.models import OutcomeMeasure, Plan


class OutcomeMeasureForm(forms.ModelForm[OutcomeMeasure]):
    class Meta:
        model = OutcomeMeasure
        fields = ("instrument", "at_start", "every_weeks", "at_end", "activities")
        widgets = {"activities": forms.Textarea(attrs={"rows": 3, "cols": 40})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A tabular row's boxes have only the column heading above them: name each
        # one for screen readers ("at the end, LEFS"), as the exercise rows do.
        row = self.instance.instrument.upper() if self.instance.pk else _("new row")
        for field in self.fields.values():
            if field.label and not field.widget.is_hidden:
                field.widget.attrs["aria-label"] = f"{field.label}, {row}"


class OutcomeMeasureFormSet(forms.BaseInlineFormSet[Any, Any, Any]):
    def add_fields(self, form: Any, index: int | None) -> None:
        super().add_fields(form, index)
        delete = form.fields.get(DELETION_FIELD_NAME)
        if delete is not None:
            row = form.instance.instrument.upper() if form.instance.pk else _("new row")
            delete.widget.attrs["aria-label"] = f"{_('Delete')}, {row}"


class OutcomeMeasureInline(admin.TabularInline[OutcomeMeasure, Plan]):
    """Questionnaires the patient answers in the portal, and when."""

    model = OutcomeMeasure
    form = OutcomeMeasureForm
    formset = OutcomeMeasureFormSet
    extra = 0
    verbose_name = _("outcome questionnaire")
    verbose_name_plural = _("outcome questionnaires")

    def get_extra(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        # An empty row to fill on a new plan; none once the plan has its measures.
        return 0 if obj is not None and obj.pk and obj.outcome_measures.exists() else 1
