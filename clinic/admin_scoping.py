"""How the therapist admin stays inside the asker's clinic.

The rows themselves are scoped by `clinic.scoping`: every admin request runs in
the signed-in therapist's clinic scope (a superuser's in `unscoped()`), so
change lists, choices, autocomplete, filters and actions only ever hold the
clinic's own rows and the shared library. What the admin adds on top is
`ClinicAdminMixin`, which RehabitAdminSite mixes into every ModelAdmin it
registers, so that no admin has to remember it:

* an object the asker cannot see is a 404, never a redirect to the index with
  "does not exist", a hint that another clinic's object exists;
* the shared library (exercises and protocols of no clinic) is read-only for
  everyone but superusers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.db.models import Model
from django.http import Http404, HttpRequest

from clinic.models import Clinic, Therapist, therapist_for
from clinic.scoping import clinic_id_of, has_shared_rows

if TYPE_CHECKING:
    _Base = admin.ModelAdmin[Any]
else:
    _Base = object


def clinic_of(request: HttpRequest) -> Clinic | None:
    """The asking therapist's clinic, or None."""
    therapist = therapist_for(request)
    return therapist.clinic if therapist else None


def is_superuser(request: HttpRequest) -> bool:
    return bool(request.user.is_authenticated and request.user.is_superuser)


class ClinicAdminMixin(_Base):
    """404 for hidden objects, a read-only shared library, therapists with their names."""

    def _get_obj_does_not_exist_redirect(
        self, request: HttpRequest, opts: Any, object_id: str
    ) -> Any:
        raise Http404

    def is_shared(self, obj: Model | None) -> bool:
        """A row of the shared library (no clinic), which only superusers may change."""
        return bool(
            obj is not None and obj.pk and has_shared_rows(type(obj)) and clinic_id_of(obj) is None
        )

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if self.is_shared(obj) and not is_superuser(request):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if self.is_shared(obj) and not is_superuser(request):
            return False
        return super().has_delete_permission(request, obj)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.related_model is Therapist and "queryset" not in kwargs:
            # A therapist's name is their login's: fetch both in one query.
            kwargs["queryset"] = Therapist.objects.select_related("user")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ClinicOwnedForm(forms.ModelForm[Any]):
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


def owned_form(
    form: type[forms.ModelForm[Any]], request: HttpRequest
) -> type[forms.ModelForm[Any]]:
    """Bind `form` (a ClinicOwnedForm) to the asking therapist's clinic."""
    clinic = clinic_of(request)
    if is_superuser(request) or clinic is None:
        return form
    return type(form.__name__, (form,), {"owner_clinic": clinic})
