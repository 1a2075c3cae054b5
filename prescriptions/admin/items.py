"""The exercise rows of a plan or a template: one inline, positions renumbered on save."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import QuerySet
from django.forms.formsets import DELETION_FIELD_NAME
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from clinic.admin_site import SafeAutocompleteMixin
from prescriptions import plans
from prescriptions.admin.common import thumbnail
from prescriptions.models import (
    PRESCRIBED_FIELD_NAMES,
    Exercise,
    PlanItem,
    Side,
    TemplateItem,
    TemplatePhase,
)

NOT_PER_SIDE = _("not per side")


class ItemForm(forms.ModelForm[Any]):
    """A plan or template row. `order` is a sort key: rows are renumbered 1..n on save."""

    order = forms.IntegerField(
        label=_("position"),
        min_value=1,
        max_value=999,
        required=False,
        widget=forms.NumberInput(attrs={"class": "rehabit-order"}),
    )

    class Meta:
        fields = "__all__"
        # Short column headings: sixteen columns must fit a laptop screen; the
        # full names stay in the help texts and error messages.
        labels = {
            "reps": _("reps"),
            "hold_seconds": _("hold (s)"),
            "duration_minutes": _("minutes"),
            "rest_seconds": _("rest (s)"),
        }
        widgets = {
            "instructions": forms.Textarea(attrs={"rows": 2, "cols": 28}),
            "load": forms.TextInput(attrs={"size": 10}),
            "tempo": forms.TextInput(attrs={"size": 8}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A tabular row's boxes have only the column heading above them, which is
        # no label: name each one for screen readers ("sets, Glute bridge").
        exercise = getattr(self.instance, "exercise", None) if self.instance.pk else None
        row = exercise.name if exercise is not None else _("new row")
        for field in self.fields.values():
            if field.label and not field.widget.is_hidden:
                field.widget.attrs["aria-label"] = f"{field.label}, {row}"
        side = self.fields.get("side")
        if isinstance(side, forms.ChoiceField):
            # "Both legs together" read oddly for a pelvic tilt or a bird dog: say
            # what the choice means, that the exercise is not counted per side.
            side.choices = [
                (value, NOT_PER_SIDE if value == Side.NONE else label)
                for value, label in Side.choices
            ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        exercise = data.get("exercise")
        amounts = ("reps", "hold_seconds", "duration_minutes")
        if exercise and not self.instance.pk and not any(data.get(a) for a in amounts):
            # A new row left without an amount takes the exercise's default dosage
            # (what the picker fills in with JavaScript, for browsers without it).
            data.update(exercise.dosage_dict())
        return data

    def _get_validation_exclusions(self) -> set[str]:
        # Positions are renumbered on save, so two rows with the same number are
        # merely ordered by their place on the page; don't report a clash.
        return {*super()._get_validation_exclusions(), "order"}  # type: ignore[misc]


class ItemFormSet(forms.BaseInlineFormSet[Any, Any, Any]):
    def add_fields(self, form: Any, index: int | None) -> None:
        super().add_fields(form, index)
        delete = form.fields.get(DELETION_FIELD_NAME)
        if delete is not None:
            exercise = getattr(form.instance, "exercise", None) if form.instance.pk else None
            row = exercise.name if exercise is not None else _("new row")
            delete.widget.attrs["aria-label"] = f"{_('Delete')}, {row}"


class ItemInline(SafeAutocompleteMixin, admin.TabularInline[Any, Any]):
    form = ItemForm
    formset = ItemFormSet
    autocomplete_fields = ("exercise",)
    fields = (
        "order",
        "picture",
        "exercise",
        *PRESCRIBED_FIELD_NAMES,
    )
    readonly_fields = ("picture",)
    extra = 0
    classes = ("rehabit-items",)

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "exercise" and field is not None:
            # Editing the library from inside a plan row only clutters the row.
            wrapper = field.widget
            wrapper.can_add_related = wrapper.can_change_related = False
            wrapper.can_delete_related = wrapper.can_view_related = False
        return field

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "exercise":
            # Retired exercises stay in old plans but cannot be picked for new rows.
            kwargs.setdefault("queryset", Exercise.objects.filter(is_active=True))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="")
    def picture(self, obj: Any) -> str:
        return thumbnail(obj.exercise, 48) if obj.pk else ""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("exercise")

    class Media:
        # Listed with its dependencies so that form media keeps it after them.
        js = ("admin/js/jquery.init.js", "admin/js/autocomplete.js", "rehabit/admin_items.js")
        css = {"all": ("rehabit/admin.css",)}


class PlanItemFormSet(ItemFormSet):
    """A plan's rows, counted together against the clinic's limit on exercises per plan."""

    def _construct_form(self, i: int, **kwargs: Any) -> Any:
        form = super()._construct_form(i, **kwargs)  # type: ignore[misc]
        form.instance.counted_by_formset = True
        return form

    def clean(self) -> None:
        super().clean()
        plan = self.instance
        if not plan.patient_id:
            return  # the plan's own form reports the missing patient
        kept = sum(
            1
            for form in self.forms
            if not (form.cleaned_data or {}).get("DELETE")
            and (form.instance.pk or form.has_changed())
        )
        try:
            plan.check_exercise_count(kept)
        except ValidationError as error:
            raise ValidationError(error.messages) from None


class PlanItemInline(ItemInline):
    model = PlanItem
    formset = PlanItemFormSet


class TemplateItemInline(ItemInline):
    model = TemplateItem

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("phase", *super().get_fields(request, obj))


class TemplatePhaseInline(admin.StackedInline[TemplatePhase, Any]):
    """A protocol's phases: the exercises of each are the rows below with its number."""

    model = TemplatePhase
    fields = (("number", "name"), "criteria", "notes_for_patient")
    extra = 0
    formfield_overrides = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 3})}}


def save_items(formset: Any) -> None:
    """Save an item inline with positions renumbered 1..n in the order shown."""
    instances = formset.save(commit=False)
    if formset.model is PlanItem:
        # A logged exercise is ended, not deleted: the patient's records of it stay.
        plans.remove_items(formset.instance, [obj.pk for obj in formset.deleted_objects])
    else:
        for obj in formset.deleted_objects:
            obj.delete()
    kept = [
        (form.cleaned_data.get("order"), index, form.instance)
        for index, form in enumerate(formset.forms)
        if form.cleaned_data
        and not form.cleaned_data.get("DELETE")
        and (form.instance.pk or form.instance in instances)
    ]
    kept.sort(key=lambda row: (row[0] if row[0] is not None else 10_000, row[1]))
    items = []
    for position, (_order, _index, item) in enumerate(kept, start=1):
        item.order = position
        items.append(item)
    plans.renumber(items, formset.model)
    formset.save_m2m()


def items_changed(formsets: list[Any]) -> bool:
    return any(fs.has_changed() or fs.deleted_objects for fs in formsets)
