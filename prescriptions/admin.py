from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Count, Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, ngettext_lazy

from clinic.admin_scoping import (
    ClinicOwnedForm,
    ClinicScopedAdmin,
    ClinicScopedInline,
    clinic_of,
    is_superuser,
    owned_form,
)
from clinic.models import Patient, Therapist, therapist_for
from prescriptions import plans
from prescriptions.admin_adherence import PlanAdherenceAdminMixin
from prescriptions.admin_handouts import PlanHandoutAdminMixin
from prescriptions.models import (
    Exercise,
    ExerciseLog,
    Plan,
    PlanItem,
    PlanTemplate,
    SessionLog,
    TemplateItem,
)
from prescriptions.uploads import sanitise_svg

THUMB = (
    '<img src="{}" alt="{}" title="{}" class="rehabit-thumb" width="{}" height="{}" loading="lazy">'
)


def thumbnail(exercise: Exercise | None, size: int = 64) -> str:
    if exercise is None:
        return "–"
    text = exercise.illustration_text()
    return format_html(THUMB, exercise.illustration_url(), text, text, size, size * 5 // 8)


class OwnerFilter(admin.SimpleListFilter):
    title = _("owner")
    parameter_name = "owner"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("shared", _("Shared library")), ("clinic", _("Our clinic's own"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "shared":
            return queryset.filter(clinic__isnull=True)
        if self.value() == "clinic":
            return queryset.filter(clinic__isnull=False)
        return queryset


class ExerciseForm(ClinicOwnedForm):
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


@admin.register(Exercise)
class ExerciseAdmin(ClinicScopedAdmin):
    form = ExerciseForm
    shared_rows = True
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
    readonly_fields = ("picture_large",)
    actions = ["copy_to_clinic"]
    list_per_page = 50

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        main = ["name", "slug", "category", "body_region", "equipment", "difficulty", "is_active"]
        if is_superuser(request):
            main.insert(0, "clinic")
        return (
            (None, {"fields": main}),
            (_("How to do it"), {"fields": ("purpose", "steps", "cautions", "stop_signs")}),
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

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        return owned_form(super().get_form(request, obj, change, **kwargs), request)

    @admin.display(description=_("picture"))
    def picture(self, obj: Exercise) -> str:
        return thumbnail(obj)

    @admin.display(description=_("picture"))
    def picture_large(self, obj: Exercise) -> str:
        return thumbnail(obj, 320) if obj.pk else "–"

    @admin.display(description=_("owner"), ordering="clinic__name")
    def owner(self, obj: Exercise) -> str:
        return obj.clinic.name if obj.clinic else str(_("Shared library"))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if request.path.endswith("/autocomplete/"):
            # Retired exercises stay in old plans but cannot be picked for new ones.
            queryset = queryset.filter(is_active=True)
        return queryset, may_have_duplicates

    def save_model(self, request: HttpRequest, obj: Exercise, form: Any, change: bool) -> None:
        if not is_superuser(request):
            obj.clinic = clinic_of(request)
        super().save_model(request, obj, form, change)

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


class ItemForm(forms.ModelForm):
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


class ItemInline(ClinicScopedInline, admin.TabularInline):
    form = ItemForm
    autocomplete_fields = ("exercise",)
    fields = (
        "order",
        "picture",
        "exercise",
        "sets",
        "reps",
        "hold_seconds",
        "duration_minutes",
        "rest_seconds",
        "side",
        "times_per_day",
        "days_per_week",
        "load",
        "tempo",
        "instructions",
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

    @admin.display(description="")
    def picture(self, obj: Any) -> str:
        return thumbnail(obj.exercise, 48) if obj.pk else ""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("exercise")

    class Media:
        # Listed with its dependencies so that form media keeps it after them.
        js = ("admin/js/jquery.init.js", "admin/js/autocomplete.js", "rehabit/admin_items.js")
        css = {"all": ("rehabit/admin.css",)}


class PlanItemInline(ItemInline):
    model = PlanItem


class TemplateItemInline(ItemInline):
    model = TemplateItem


def save_items(formset: Any) -> None:
    """Save an item inline with positions renumbered 1..n in the order shown."""
    instances = formset.save(commit=False)
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


class TemplateForm(ClinicOwnedForm):
    class Meta:
        model = PlanTemplate
        fields = "__all__"


@admin.register(PlanTemplate)
class PlanTemplateAdmin(ClinicScopedAdmin):
    form = TemplateForm
    shared_rows = True
    list_display = ("name", "condition", "owner", "exercise_count", "duration_weeks")
    list_filter = (OwnerFilter,)
    list_select_related = ("clinic",)
    search_fields = ("name", "condition")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [TemplateItemInline]
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
        ]
        if is_superuser(request):
            fields.insert(0, "clinic")
        return fields

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        return owned_form(super().get_form(request, obj, change, **kwargs), request)

    def get_queryset(self, request: HttpRequest) -> QuerySet[PlanTemplate]:
        return super().get_queryset(request).annotate(n_items=Count("items"))

    @admin.display(description=_("exercises"), ordering="n_items")
    def exercise_count(self, obj: Any) -> int:
        return obj.n_items

    @admin.display(description=_("owner"), ordering="clinic__name")
    def owner(self, obj: PlanTemplate) -> str:
        return obj.clinic.name if obj.clinic else str(_("Shared"))

    def save_model(self, request: HttpRequest, obj: PlanTemplate, form: Any, change: bool) -> None:
        if not is_superuser(request):
            obj.clinic = clinic_of(request)
        super().save_model(request, obj, form, change)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        save_items(formset)

    @admin.action(description=_("Start a plan for a patient from this template"))
    def start_plan(self, request: HttpRequest, queryset: QuerySet[PlanTemplate]) -> Any:
        if queryset.count() != 1:
            self.message_user(request, _("Choose exactly one template."), messages.WARNING)
            return None
        template = queryset.get()
        therapist = therapist_for(request)
        form = StartPlanForm(request.POST if "apply" in request.POST else None, request=request)
        if form.is_valid():
            plan = plans.start_plan_from_template(
                template,
                patient=form.cleaned_data["patient"],
                therapist=form.cleaned_data["therapist"],
                start_date=form.cleaned_data["start_date"],
            )
            self.message_user(
                request,
                _("Draft plan created from “%(template)s”. Adjust it, then activate it.")
                % {"template": template.name},
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
    patient = forms.ModelChoiceField(queryset=Patient.objects.none(), label=_("Patient"))
    therapist = forms.ModelChoiceField(queryset=Therapist.objects.none(), label=_("Therapist"))
    start_date = forms.DateField(
        label=_("Start date"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        clinic = clinic_of(request)
        patients = Patient.objects.active()
        therapists = Therapist.objects.select_related("user")
        if not is_superuser(request):
            patients = patients.filter(clinic=clinic)
            therapists = therapists.filter(clinic=clinic)
        self.fields["patient"].queryset = patients  # type: ignore[attr-defined]
        self.fields["therapist"].queryset = therapists  # type: ignore[attr-defined]
        self.fields["start_date"].initial = clinic.today() if clinic else datetime.date.today()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        patient, therapist = data.get("patient"), data.get("therapist")
        if patient and therapist and patient.clinic_id != therapist.clinic_id:
            raise forms.ValidationError(_("The therapist must work at the patient's clinic."))
        return data


class PlanForm(forms.ModelForm):
    class Meta:
        model = Plan
        fields = "__all__"
        widgets = {
            "goals": forms.Textarea(attrs={"rows": 3}),
            "notes_for_patient": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "template": _(
                "When you create a plan from a template, its exercises are copied "
                "in (unless you add exercises yourself)."
            ),
        }


@admin.register(Plan)
class PlanAdmin(PlanHandoutAdminMixin, PlanAdherenceAdminMixin, ClinicScopedAdmin):
    form = PlanForm
    clinic_path = "patient__clinic"
    list_display = (
        "title",
        "patient_link",
        "therapist",
        "status",
        "start_date",
        "end_date",
        "exercise_count",
        "revision",
    )
    list_filter = ("status", ("therapist", admin.RelatedOnlyFieldListFilter), "start_date")
    list_select_related = ("patient", "therapist__user")
    search_fields = ("title", "condition", "patient__first_name", "patient__last_name")
    autocomplete_fields = ("patient",)
    date_hierarchy = "start_date"
    inlines = [PlanItemInline]
    actions = [
        "activate",
        "pause",
        "complete",
        "duplicate",
        "save_as_template",
        *PlanHandoutAdminMixin.handout_actions,
    ]
    readonly_fields = (
        "revision",
        "created_at",
        "updated_at",
        *PlanHandoutAdminMixin.handout_readonly_fields,
        *PlanAdherenceAdminMixin.adherence_readonly_fields,
    )
    save_on_top = True
    list_per_page = 50
    # The plan's own page is the admin page: there is no public page to view.
    view_on_site = False

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        top: list[Any] = [
            ("patient", "therapist"),
            ("title", "condition"),
            ("status", "start_date", "end_date"),
        ]
        if obj is None:
            top.append("template")
        sets: list[Any] = [
            (None, {"fields": top}),
            (_("For the patient"), {"fields": ("goals", "notes_for_patient")}),
        ]
        extra = (
            *PlanHandoutAdminMixin.handout_readonly_fields,
            *PlanAdherenceAdminMixin.adherence_readonly_fields,
        )
        if obj is not None and extra:
            sets.insert(1, (_("Handout and progress"), {"fields": extra}))
        if obj is not None:
            sets.append(
                (
                    _("Record"),
                    {
                        "fields": (("revision", "created_at", "updated_at"),),
                        "classes": ("collapse",),
                    },
                )
            )
        return sets

    def get_queryset(self, request: HttpRequest) -> QuerySet[Plan]:
        return super().get_queryset(request).annotate(n_items=Count("items"))

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "template" and field is not None:
            # Pick a template here; editing or deleting one belongs on its own page.
            field.widget.can_change_related = field.widget.can_delete_related = False
        return field

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial: dict[str, Any] = dict(super().get_changeform_initial_data(request))
        therapist = therapist_for(request)
        if therapist is not None:
            initial.setdefault("therapist", therapist.pk)
            initial.setdefault("start_date", therapist.clinic.today())
        return initial

    @admin.display(description=_("patient"), ordering="patient__last_name")
    def patient_link(self, obj: Plan) -> str:
        url = reverse("admin:clinic_patient_change", args=[obj.patient_id])
        return format_html('<a href="{}">{}</a>', url, obj.patient.full_name)

    @admin.display(description=_("exercises"), ordering="n_items")
    def exercise_count(self, obj: Any) -> int:
        return obj.n_items

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        save_items(formset)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        plan: Plan = form.instance
        if not change and plan.template_id and not plan.items.exists():
            assert plan.template is not None
            plans.copy_template_items(plan.template, plan)
        elif change and (form.has_changed() or items_changed(formsets)):
            plans.bump_revision(plan)
        self.plan_saved(plan)

    def plan_saved(self, plan: Plan) -> None:
        """Pre-render the handout so that the patient's first download is instant."""
        try:
            from prescriptions.tasks import schedule_handout
        except ImportError:  # handouts not installed yet
            return
        if plan.status == Plan.Status.ACTIVE:
            schedule_handout(plan)

    def _set_status(
        self, request: HttpRequest, queryset: QuerySet[Plan], status: Plan.Status, done: Any
    ) -> None:
        changed = plans.set_status(queryset, status)
        for plan in changed:
            plan.refresh_from_db()
            self.plan_saved(plan)
        self.message_user(request, done % {"n": len(changed)}, messages.SUCCESS)

    @admin.action(description=_("Activate selected plans"), permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[Plan]) -> None:
        done = ngettext_lazy("%(n)d plan activated.", "%(n)d plans activated.", "n")
        self._set_status(request, queryset, Plan.Status.ACTIVE, done)

    @admin.action(description=_("Pause selected plans"), permissions=["change"])
    def pause(self, request: HttpRequest, queryset: QuerySet[Plan]) -> None:
        done = ngettext_lazy("%(n)d plan paused.", "%(n)d plans paused.", "n")
        self._set_status(request, queryset, Plan.Status.PAUSED, done)

    @admin.action(description=_("Mark selected plans completed"), permissions=["change"])
    def complete(self, request: HttpRequest, queryset: QuerySet[Plan]) -> None:
        done = ngettext_lazy("%(n)d plan marked completed.", "%(n)d plans marked completed.", "n")
        self._set_status(request, queryset, Plan.Status.COMPLETED, done)

    @admin.action(description=_("Duplicate selected plans (as drafts)"), permissions=["add"])
    def duplicate(self, request: HttpRequest, queryset: QuerySet[Plan]) -> HttpResponse | None:
        therapist = therapist_for(request)
        copies = [
            plans.duplicate_plan(plan, therapist=therapist)
            for plan in queryset.select_related("patient__clinic")
        ]
        if len(copies) == 1:
            self.message_user(request, _("Draft copy created."), messages.SUCCESS)
            return HttpResponseRedirect(
                reverse("admin:prescriptions_plan_change", args=[copies[0].pk])
            )
        self.message_user(
            request, _("%(n)d draft copies created.") % {"n": len(copies)}, messages.SUCCESS
        )
        return None

    @admin.action(description=_("Save selected plans as templates"), permissions=["add"])
    def save_as_template(self, request: HttpRequest, queryset: QuerySet[Plan]) -> None:
        names = []
        for plan in queryset.select_related("patient__clinic"):
            template = plans.save_plan_as_template(plan, clinic=plan.patient.clinic)
            names.append(template.name)
        self.message_user(
            request,
            _("Saved as template: %(names)s.") % {"names": ", ".join(names)},
            messages.SUCCESS,
        )


class ExerciseLogInline(admin.TabularInline):
    model = ExerciseLog
    fields = ("item", "sets_done", "sets_left", "sets_right")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[ExerciseLog]:
        return super().get_queryset(request).select_related("item__exercise")


@admin.register(SessionLog)
class SessionLogAdmin(ClinicScopedAdmin):
    """What patients recorded: read-only for therapists."""

    clinic_path = "plan__patient__clinic"
    list_display = (
        "date",
        "patient",
        "plan",
        "pain",
        "nerve_symptoms",
        "symptoms_lasted",
        "effort",
        "short_comment",
    )
    list_filter = ("nerve_symptoms", "symptoms_lasted", "effort", "date")
    list_select_related = ("plan__patient",)
    search_fields = ("plan__patient__first_name", "plan__patient__last_name", "comment")
    date_hierarchy = "date"
    inlines = [ExerciseLogInline]

    @admin.display(description=_("patient"), ordering="plan__patient__last_name")
    def patient(self, obj: SessionLog) -> str:
        return obj.plan.patient.full_name

    @admin.display(description=_("comment"))
    def short_comment(self, obj: SessionLog) -> str:
        return obj.comment[:80] + ("…" if len(obj.comment) > 80 else "")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return is_superuser(request)
