"""A patient's plan in the admin: exercises in order, status actions, handout and adherence."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from clinic import audit
from clinic.models import therapist_for
from prescriptions import history, plans
from prescriptions.admin.adherence import PlanAdherenceAdminMixin
from prescriptions.admin.builder import PlanBuilderAdminMixin
from prescriptions.admin.handouts import PlanHandoutAdminMixin
from prescriptions.admin.history import PlanHistoryAdminMixin
from prescriptions.admin.items import PlanItemInline, items_changed, save_items
from prescriptions.admin.outcomes import (
    OutcomeMeasureInline,
    PlanOutcomesAdminMixin,
    PlanSuggestionsAdminMixin,
)
from prescriptions.models import EducationPage, Plan, PlanItem
from prescriptions.tasks import schedule_handout


class PlanForm(forms.ModelForm[Plan]):
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
class PlanAdmin(
    PlanHistoryAdminMixin,
    PlanBuilderAdminMixin,
    PlanHandoutAdminMixin,
    PlanAdherenceAdminMixin,
    PlanOutcomesAdminMixin,
    PlanSuggestionsAdminMixin,
    admin.ModelAdmin[Plan],
):
    form = PlanForm
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
    inlines = [PlanItemInline, OutcomeMeasureInline]
    actions = [
        "activate",
        "pause",
        "complete",
        "duplicate",
        "save_as_template",
        *PlanHandoutAdminMixin.handout_actions,
    ]
    readonly_fields = (
        "phase_panel",
        "revision",
        "created_at",
        "updated_at",
        *PlanHandoutAdminMixin.handout_readonly_fields,
        *PlanAdherenceAdminMixin.adherence_readonly_fields,
        *PlanOutcomesAdminMixin.outcomes_readonly_fields,
        *PlanSuggestionsAdminMixin.suggestions_readonly_fields,
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
            (_("For the patient"), {"fields": ("goals", "notes_for_patient", "education")}),
        ]
        if obj is not None and obj.phase_id is not None:
            sets.insert(1, (_("Protocol phase"), {"fields": ("phase_panel",)}))
        extra = (
            *PlanHandoutAdminMixin.handout_readonly_fields,
            *PlanAdherenceAdminMixin.adherence_readonly_fields,
        )
        if obj is not None and extra:
            sets.insert(1, (_("Handout and progress"), {"fields": extra}))
            sets.insert(
                2,
                (
                    _("Dose suggestions"),
                    {"fields": PlanSuggestionsAdminMixin.suggestions_readonly_fields},
                ),
            )
            sets.insert(
                3,
                (_("Outcome scores"), {"fields": PlanOutcomesAdminMixin.outcomes_readonly_fields}),
            )
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

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "education":
            # A handful of pages: tick boxes, each with its own label.
            kwargs["widget"] = forms.CheckboxSelectMultiple
            kwargs["queryset"] = EducationPage.objects.filter(is_active=True).order_by("title")
        return super().formfield_for_manytomany(db_field, request, **kwargs)

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

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<path:object_id>/next-phase/",
                self.admin_site.admin_view(self.next_phase_view),
                name="prescriptions_plan_next_phase",
            ),
            *super().get_urls(),
        ]

    @admin.display(description=_("phase"))
    def phase_panel(self, obj: Plan) -> str:
        if obj.phase is None:
            return "–"
        return render_to_string(
            "admin/prescriptions/plan/phase_panel.html",
            {
                "plan": obj,
                "phase": obj.phase,
                "next": plans.next_phase(obj),
                "url": reverse("admin:prescriptions_plan_next_phase", args=[obj.pk]),
            },
        )

    def next_phase_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        plan = self.get_object(request, unquote(object_id))
        if plan is None or not self.has_change_permission(request, plan):
            raise Http404(_("No plan with this ID."))
        change_url = reverse("admin:prescriptions_plan_change", args=[plan.pk])
        if request.method != "POST":
            return HttpResponseRedirect(change_url)
        if plans.next_phase(plan) is None:
            message = _("This plan is in its protocol's last phase.")
            self.message_user(request, message, messages.WARNING)
            return HttpResponseRedirect(change_url)
        phase = plans.move_to_next_phase(plan)
        self.plan_saved(plan)
        self.message_user(
            request,
            _(
                "Moved to %(phase)s. The handout and the portal show the new exercises "
                "(revision %(revision)s)."
            )
            % {"phase": phase, "revision": plan.revision},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(change_url)

    @admin.display(description=_("patient"), ordering="patient__last_name")
    def patient_link(self, obj: Plan) -> str:
        url = reverse("admin:clinic_patient_change", args=[obj.patient_id])
        return format_html('<a href="{}">{}</a>', url, obj.patient.full_name)

    @admin.display(description=_("exercises"), ordering="n_items")
    def exercise_count(self, obj: Any) -> int:
        count: int = obj.n_items  # annotated by get_queryset
        return count

    def _changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None,
        form_url: str,
        extra_context: dict[str, Any] | None,
    ) -> HttpResponse:
        # The plan and its exercise rows, saved together, are one version, written
        # inside the transaction changeform_view() wraps this in.
        with history.batch():
            response: HttpResponse = super()._changeform_view(  # type: ignore[misc]
                request, object_id, form_url, extra_context
            )
        return response

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is PlanItem:
            save_items(formset)
        else:
            super().save_formset(request, form, formset, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        plan: Plan = form.instance
        if not change and plan.template_id and not plan.items.exists():
            assert plan.template is not None
            plans.copy_template_items(plan.template, plan)
        elif change and (
            form.has_changed() or items_changed([f for f in formsets if f.model is PlanItem])
        ):
            plans.bump_revision(plan)
        self.plan_saved(plan)

    def plan_saved(self, plan: Plan) -> None:
        """Pre-render the handout so that the patient's first download is instant."""
        schedule_handout(plan)

    def _set_status(
        self, request: HttpRequest, queryset: QuerySet[Plan], status: Plan.Status, done: Any
    ) -> None:
        changed = plans.set_status(queryset, status)
        for plan in changed:
            change = {"status": {"before": plan.status, "after": status.value}}
            audit.record(request, audit.Action.CHANGE, obj=plan, changes=change)
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
        copies = []
        for plan in queryset.select_related("patient__clinic"):
            try:
                copies.append(plans.duplicate_plan(plan, therapist=therapist))
            except ValidationError as error:
                # Longer than the clinic now allows: nothing is copied for this plan.
                self.message_user(request, f"{plan}: {' '.join(error.messages)}", messages.ERROR)
        for copy in copies:
            audit.record(request, audit.Action.CREATE, obj=copy, detail="duplicate")
        if not copies:
            return None
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
