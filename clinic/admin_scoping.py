"""Row-level scoping for the therapist admin.

A therapist sees and can choose only their own clinic's rows (plus, for the
exercise library and templates, the shared rows, read-only). Superusers see
everything, explicitly. Another clinic's object is a 404, never a redirect or a
403, so that its existence does not leak.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Model, Q, QuerySet
from django.http import Http404, HttpRequest

from clinic.admin_site import SafeAutocompleteMixin
from clinic.models import Clinic, Patient, Therapist, therapist_for


def clinic_of(request: HttpRequest) -> Clinic | None:
    """The asking therapist's clinic (cached on the request), or None."""
    if not hasattr(request, "_rehabit_clinic"):
        therapist = therapist_for(request)
        request._rehabit_clinic = therapist.clinic if therapist else None  # type: ignore[attr-defined]
    return request._rehabit_clinic  # type: ignore[attr-defined]


def is_superuser(request: HttpRequest) -> bool:
    return bool(request.user.is_authenticated and request.user.is_superuser)


class HiddenIs404Admin(admin.ModelAdmin):
    """An object outside the asker's queryset is a 404.

    Django's default redirects to the index with "does not exist", a hint that
    another clinic's object exists.
    """

    def _get_obj_does_not_exist_redirect(
        self, request: HttpRequest, opts: Any, object_id: str
    ) -> Any:
        raise Http404


class ClinicScopedAdmin(HiddenIs404Admin):
    """Limit a ModelAdmin to the asking therapist's clinic.

    `clinic_path` is the lookup from the model to its clinic ("clinic",
    "patient__clinic", ...). With `shared_rows`, rows whose clinic is empty (the
    shared library) are visible too, but only superusers may change them.
    """

    clinic_path: str = "clinic"
    shared_rows: bool = False

    def scope(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if is_superuser(request):
            return queryset
        clinic = clinic_of(request)
        if clinic is None:
            return queryset.none()
        condition = Q(**{self.clinic_path: clinic})
        if self.shared_rows:
            condition |= Q(**{f"{self.clinic_path}__isnull": True})
        return queryset.filter(condition)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return self.scope(request, super().get_queryset(request))

    def object_clinic(self, obj: Model) -> Clinic | None:
        value: Any = obj
        for part in self.clinic_path.split("__"):
            value = getattr(value, part, None)
            if value is None:
                return None
        return value

    def is_shared(self, obj: Model | None) -> bool:
        return bool(self.shared_rows and obj is not None and obj.pk and not self.object_clinic(obj))

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if self.is_shared(obj) and not is_superuser(request):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if self.is_shared(obj) and not is_superuser(request):
            return False
        return super().has_delete_permission(request, obj)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        queryset = scoped_choices(db_field.related_model, request)
        if queryset is not None:
            kwargs["queryset"] = queryset
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ClinicScopedInline(SafeAutocompleteMixin, admin.options.InlineModelAdmin):
    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        queryset = scoped_choices(db_field.related_model, request)
        if queryset is not None:
            kwargs["queryset"] = queryset
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def scoped_choices(model: type[Model], request: HttpRequest) -> QuerySet[Any] | None:
    """What a therapist may pick in a foreign-key field pointing at `model`."""
    if is_superuser(request):
        return None
    clinic = clinic_of(request)
    if model is Patient:
        return Patient.objects.filter(clinic=clinic)
    if model is Therapist:
        return Therapist.objects.filter(clinic=clinic).select_related("user")
    if model is Clinic:
        return Clinic.objects.filter(pk=clinic.pk) if clinic else Clinic.objects.none()
    choices = model._default_manager.all()
    if hasattr(choices, "visible_to"):
        # A shared library (the exercises, the protocols): its rows plus the clinic's own.
        visible: QuerySet[Any] = choices.visible_to(clinic)
        return visible
    return None


class ClinicOwnedForm(forms.ModelForm):
    """A form for a clinic-owned row whose clinic is not on the form.

    The admin sets `owner_clinic` to the therapist's clinic; it is put on the
    instance before validation so that (clinic, slug) uniqueness and other
    clinic-dependent checks are validated as form errors, not IntegrityErrors.
    """

    owner_clinic: Clinic | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.owner_clinic is not None and not self.instance.pk:
            self.instance.clinic = self.owner_clinic

    def _get_validation_exclusions(self) -> set[str]:
        exclude: set[str] = super()._get_validation_exclusions()  # type: ignore[misc]
        if self.owner_clinic is not None:
            exclude.discard("clinic")
        return exclude


def owned_form(form: type[forms.ModelForm], request: HttpRequest) -> type[forms.ModelForm]:
    """Bind `form` (a ClinicOwnedForm) to the asking therapist's clinic."""
    clinic = clinic_of(request)
    if is_superuser(request) or clinic is None:
        return form
    return type(form.__name__, (form,), {"owner_clinic": clinic})
