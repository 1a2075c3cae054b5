"""The exercise library in the admin: shared exercises read-only, a clinic's own editable."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from clinic.admin_scoping import (
    ClinicOwnedForm,
    clinic_of,
    is_superuser,
)
from clinic.models import Clinic
from clinic.scoping import current_scope
from clinic.uploads import sanitise_svg
from prescriptions import safety
from prescriptions.admin.common import OwnerFilter, SharedLibraryAdminMixin, thumbnail
from prescriptions.models import Exercise, ExerciseTranslation


class ExerciseForm(ClinicOwnedForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The admin puts a file box in a fieldset whose legend is no label for it.
        if "illustration" in self.fields:
            field = self.fields["illustration"]
            field.widget.attrs["aria-label"] = str(field.label)

    def clean_illustration(self) -> Any:
        upload = self.cleaned_data.get("illustration")
        if isinstance(upload, UploadedFile) and (upload.name or "").lower().endswith(".svg"):
            # Store the rebuilt SVG, never the file as uploaded: it is shown in
            # the portal and embedded in handouts.
            upload.seek(0)
            return ContentFile(sanitise_svg(upload.read()), name=upload.name)
        return upload

    class Meta:
        model = Exercise
        fields = "__all__"
        widgets = {
            "steps": forms.Textarea(attrs={"rows": 6}),
            "cautions": forms.Textarea(attrs={"rows": 3}),
            "stop_signs": forms.Textarea(attrs={"rows": 3}),
        }


class TranslationInlineMixin:
    """A version in another language: the shared library's come with Rehabit (only
    superusers change them); a clinic edits its own exercises' and templates'."""

    extra = 0

    def _may_edit(self, request: HttpRequest, obj: Any) -> bool:
        return obj is None or obj.clinic_id is not None or is_superuser(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_edit(request, obj) and super().has_add_permission(request, obj)  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_edit(request, obj) and super().has_change_permission(request, obj)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_edit(request, obj) and super().has_delete_permission(request, obj)  # type: ignore[misc]


class ExerciseTranslationInline(
    TranslationInlineMixin, admin.StackedInline[ExerciseTranslation, Exercise]
):
    model = ExerciseTranslation
    fields = ("language", "name", "purpose", "steps", "cautions", "stop_signs", "illustration_alt")
    verbose_name = _("version in another language")
    verbose_name_plural = _("Versions in other languages")
    formfield_overrides = {
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 4, "cols": 80})},
    }


@admin.register(Exercise)
class ExerciseAdmin(SharedLibraryAdminMixin, admin.ModelAdmin[Exercise]):
    inlines = [ExerciseTranslationInline]
    form = ExerciseForm
    list_display = (
        "picture",
        "name",
        "category",
        "body_region",
        "equipment",
        "difficulty",
        "owner",
        "is_active",
    )
    list_display_links = ("picture", "name")
    list_filter = ("category", "body_region", "equipment", "difficulty", OwnerFilter, "is_active")
    list_select_related = ("clinic",)
    search_fields = ("name", "purpose")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("easier", "harder")
    readonly_fields = ("picture_large", "shared_safety_text")
    actions = ["copy_to_clinic"]
    list_per_page = 50

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        main = ["name", "slug", "category", "body_region", "equipment", "difficulty", "is_active"]
        if is_superuser(request):
            main.insert(0, "clinic")
        safety_text: tuple[Any, ...] = (
            (
                _("Safety text printed with every nerve exercise"),
                {
                    "description": _(
                        "Written once for the whole library and shown with every nerve "
                        "mobilisation exercise, in the portal and on the handout: do not "
                        "repeat it in the stop signs above."
                    ),
                    "fields": ("shared_safety_text",),
                },
            ),
        )
        if obj is not None and not obj.is_nerve_work:
            safety_text = ()
        return (
            (None, {"fields": main}),
            (_("How to do it"), {"fields": ("purpose", "steps", "cautions", "stop_signs")}),
            *safety_text,
            (
                _("Default dosage"),
                {
                    "description": _("Copied into a plan when the exercise is added."),
                    "fields": (
                        ("sets", "reps", "hold_seconds", "duration_minutes"),
                        ("rest_seconds", "side", "times_per_day", "days_per_week"),
                    ),
                },
            ),
            (
                _("Illustration"),
                {"fields": ("picture_large", "illustration", "illustration_alt")},
            ),
            (_("Variants"), {"fields": ("easier", "harder")}),
        )

    def autocomplete_extra(self, obj: Exercise) -> dict[str, Any]:
        """The picker shows each exercise's drawing and category; a plan row's dosage
        boxes start from the exercise's default dosage."""
        return {
            "image": obj.illustration_url(),
            "category": obj.get_category_display(),
            "dosage": obj.dosage_dict(),
        }

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.related_model is Exercise:
            # A retired exercise cannot become another's variant.
            kwargs.setdefault("queryset", Exercise.objects.filter(is_active=True))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("picture"))
    def picture(self, obj: Exercise) -> str:
        return thumbnail(obj)

    @admin.display(description=_("warning signs and nerve rule"))
    def shared_safety_text(self, obj: Exercise) -> str:
        # With the emergency number of the therapist's clinic (the request's scope);
        # a superuser, in every clinic's scope, reads the fallback number.
        scope = current_scope()
        clinic_id = scope.clinic_id if scope is not None and not scope.every_clinic else None
        clinic = Clinic.objects.filter(pk=clinic_id).first() if clinic_id else None
        return render_to_string(
            "admin/prescriptions/safety_text.html", {"sources": safety.SOURCES, "clinic": clinic}
        )

    @admin.display(description=_("picture"))
    def picture_large(self, obj: Exercise) -> str:
        return thumbnail(obj, 320) if obj.pk else "–"

    @admin.action(description=_("Copy to our clinic's exercises (to adapt them)"))
    def copy_to_clinic(self, request: HttpRequest, queryset: QuerySet[Exercise]) -> None:
        clinic = clinic_of(request)
        if clinic is None:
            self.message_user(
                request, _("Only a clinic's therapists can copy exercises."), messages.ERROR
            )
            return
        taken = set(Exercise.objects.filter(clinic=clinic).values_list("slug", flat=True))
        copied = []
        for exercise in queryset.filter(clinic__isnull=True):
            if exercise.slug in taken:
                continue
            exercise.pk = None
            exercise.id = None
            exercise._state.adding = True
            exercise.clinic = clinic
            exercise.easier = exercise.harder = None
            exercise.save()
            copied.append(exercise)
        self.message_user(
            request,
            ngettext(
                "Copied %(n)d exercise to your clinic's own.",
                "Copied %(n)d exercises to your clinic's own.",
                len(copied),
            )
            % {"n": len(copied)},
            messages.SUCCESS if copied else messages.WARNING,
        )
