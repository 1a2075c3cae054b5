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
  everyone but superusers;
* the audit trail (`clinic.audit`) hears of every page of patient data shown,
  every change saved (with before/after values), every deletion, and every
  object asked for that the asker cannot see.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.db.models import Model
from django.http import Http404, HttpRequest

from clinic import audit
from clinic.models import Clinic, Therapist, therapist_for
from clinic.scoping import clinic_id_of, has_shared_rows, unscoped

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
        record_refused(request, self.model, object_id)
        raise Http404

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Model | None = None,
    ) -> Any:
        if request.method == "GET" and obj is not None and audit.patient_id_of(obj) is not None:
            audit.record(request, audit.Action.VIEW, obj=obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        response = super().changelist_view(request, extra_context)
        if (
            request.method == "GET"
            and getattr(response, "status_code", None) == 200
            and holds_patient_data(self.model)
        ):
            # The search text (a patient's name) stays out of the trail.
            audit.record(
                request,
                audit.Action.VIEW,
                detail=f"list of {self.model._meta.label_lower}",
            )
        return response

    def construct_change_message(
        self, request: HttpRequest, form: Any, formsets: Any, add: bool = False
    ) -> Any:
        # Called once the object and its inlines are saved, with the forms that
        # saved them: their initial and cleaned values are the before and after.
        record_form(request, form, add=add)
        for formset in formsets or ():
            for inline_form in formset.forms:
                if inline_form in getattr(formset, "deleted_forms", ()):
                    record_inline_deletion(request, inline_form)
                elif inline_form.has_changed():
                    existing = inline_form in formset.initial_forms
                    record_form(request, inline_form, add=not existing)
        return super().construct_change_message(request, form, formsets, add)

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        for obj in queryset:
            audit.record(request, audit.Action.DELETE, obj=obj)
        return super().log_deletions(request, queryset)

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


def holds_patient_data(model: type[Model]) -> bool:
    """Whether rows of `model` are a patient's data (the patient, their plans, logs...)."""
    queryset_class = getattr(model._default_manager, "_queryset_class", None)
    path: str = getattr(queryset_class, "clinic_path", "")
    return model._meta.label_lower == "clinic.patient" or "patient" in path.split("__")


def record_refused(request: HttpRequest, model: type[Model], object_id: str) -> None:
    """Audit an admin lookup of an object the asker cannot see (another clinic's, or none)."""
    exists = False
    pk = model._meta.pk
    try:
        value = pk.to_python(object_id) if pk is not None else None
    except Exception:  # not a key at all ("abc")
        value = None
    if value is not None:
        with unscoped():
            exists = model._default_manager.filter(pk=value).exists()
    audit.record(
        request,
        audit.Action.REFUSED,
        detail=f"{model._meta.label_lower} {object_id[:40]}: "
        + ("outside the asker's clinic" if exists else "no such object"),
    )


def record_form(request: HttpRequest, form: Any, *, add: bool) -> None:
    obj = form.instance
    if add:
        model = type(obj)
        after = {name: form.cleaned_data.get(name) for name in form.changed_data}
        changes = audit.value_changes(model, {}, after)
        audit.record(request, audit.Action.CREATE, obj=obj, changes=changes)
        return
    changes = audit.form_changes(form)
    if changes:
        audit.record(request, audit.Action.CHANGE, obj=obj, changes=changes)


def record_inline_deletion(request: HttpRequest, form: Any) -> None:
    obj = form.instance
    if obj.pk is None:  # deleted already: the key is in the submitted row
        obj.pk = form[obj._meta.pk.name].value()
    before = {name: form.initial.get(name) for name in form.initial}
    model = type(obj)
    kept = model._base_manager.filter(pk=obj.pk).first()
    if kept is not None and getattr(kept, "ended_on", None) is not None:
        # Taken out of use but kept: a plan's exercise the patient has logged is
        # ended, not deleted (prescriptions.plans.remove_items).
        ended = {"ended_on": {"before": None, "after": kept.ended_on}}
        audit.record(request, audit.Action.CHANGE, obj=kept, changes=ended, detail="ended")
        return
    audit.record(
        request, audit.Action.DELETE, obj=obj, changes=audit.value_changes(model, before, {})
    )


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
