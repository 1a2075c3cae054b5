"""Outcome measures in the admin: attached to a plan with a schedule, scores over time."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, QuerySet
from django.forms.formsets import DELETION_FIELD_NAME
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.template.loader import render_to_string
from django.urls import URLPattern, path, reverse
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic.models import Patient, User
from prescriptions import suggestions
from prescriptions.charts import outcome_chart_svg
from prescriptions.models import OutcomeMeasure, Plan, QuestionnaireResponse
from prescriptions.outcomes.library import Instrument
from prescriptions.outcomes.responses import score_series

if TYPE_CHECKING:
    _Base = admin.ModelAdmin[Plan]
else:
    _Base = object


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
    verbose_name = gettext_lazy("outcome questionnaire")
    verbose_name_plural = gettext_lazy("outcome questionnaires")

    def get_queryset(self, request: HttpRequest) -> QuerySet[OutcomeMeasure]:
        # Each row's title names the plan and its patient.
        return super().get_queryset(request).select_related("plan__patient")

    def get_extra(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        # An empty row to fill on a new plan; none once the plan has its measures.
        return 0 if obj is not None and obj.pk and obj.outcome_measures.exists() else 1


@dataclass(frozen=True)
class ScoreRow:
    due_date: datetime.date
    score: Decimal
    change: Decimal | None
    worse: bool


@dataclass(frozen=True)
class MeasurePanel:
    measure: OutcomeMeasure
    instrument: Instrument
    chart: SafeString
    rows: list[ScoreRow]
    schedule: str
    next_due: datetime.date | None


def schedule_text(measure: OutcomeMeasure) -> str:
    parts = []
    if measure.at_start:
        parts.append(_("at the start"))
    if measure.every_weeks:
        parts.append(
            _("every week")
            if measure.every_weeks == 1
            else _("every %(n)s weeks") % {"n": measure.every_weeks}
        )
    if measure.at_end:
        parts.append(_("at the end"))
    return ", ".join(str(p) for p in parts)


def measure_panels(measures: list[OutcomeMeasure], today: datetime.date) -> list[MeasurePanel]:
    """Each measure's scores, chart and next occasion, from prefetched responses."""
    panels = []
    for measure in measures:
        instrument = measure.definition
        series = score_series(measure)
        flags = {
            r.due_date: r.worse_by_mcid
            for r in measure.responses.all()
            if r.status == QuestionnaireResponse.Status.COMPLETED
        }
        centre = Decimal(0) if instrument.change_scale else (series[0][1] if series else None)
        # The change since the first score (a change scale's score is one already).
        rows = [
            ScoreRow(
                day,
                value,
                None
                if centre is None or (index == 0 and not instrument.change_scale)
                else value - centre,
                flags.get(day, False),
            )
            for index, (day, value) in enumerate(series)
        ]
        upcoming = [
            o.due_date
            for o in measure.occasions(measure.plan.end_date or today + datetime.timedelta(365))
            if o.due_date > today
        ]
        panels.append(
            MeasurePanel(
                measure=measure,
                instrument=instrument,
                chart=outcome_chart_svg(
                    instrument,
                    series,
                    title=_("%(name)s over time") % {"name": instrument.short},
                ),
                rows=rows,
                schedule=schedule_text(measure),
                next_due=upcoming[0] if upcoming else None,
            )
        )
    return panels


def _prefetched(measures: QuerySet[OutcomeMeasure]) -> list[OutcomeMeasure]:
    return list(
        measures.select_related("plan").prefetch_related(
            Prefetch("responses", queryset=QuestionnaireResponse.objects.order_by("due_date"))
        )
    )


def render_outcomes_panel(measures: QuerySet[OutcomeMeasure], today: datetime.date) -> SafeString:
    return render_to_string(
        "admin/prescriptions/outcomes_panel.html",
        {"panels": measure_panels(_prefetched(measures), today)},
    )


class PlanOutcomesAdminMixin:
    outcomes_readonly_fields: tuple[str, ...] = ("outcomes_panel",)

    @admin.display(description=gettext_lazy("Outcome scores"))
    def outcomes_panel(self, obj: Plan | None) -> SafeString | str:
        if obj is None or obj.pk is None:
            return _("Shown once the plan is saved and the patient answers a questionnaire.")
        return render_outcomes_panel(
            OutcomeMeasure.objects.filter(plan=obj), obj.patient.clinic.today()
        )


class PatientOutcomesAdminMixin:
    outcomes_readonly_fields: tuple[str, ...] = ("outcomes_panel",)

    @admin.display(description=gettext_lazy("Outcome scores"))
    def outcomes_panel(self, obj: Patient | None) -> SafeString | str:
        if obj is None or obj.pk is None:
            return "–"
        return render_outcomes_panel(
            OutcomeMeasure.objects.filter(plan__patient=obj).order_by("-plan__start_date", "pk"),
            obj.clinic.today(),
        )


# --- Dose suggestions on the plan page ------------------------------------------


class PlanSuggestionsAdminMixin(_Base):
    """The plan page lists each exercise's suggestion with Apply and Dismiss.

    The buttons sit inside the plan's own form (forms cannot nest) and post to
    the views below with `formaction`, so they work without JavaScript; those
    views read only the suggestion's signature.
    """

    suggestions_readonly_fields: tuple[str, ...] = ("suggestions_panel",)

    def get_urls(self) -> list[URLPattern]:
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/suggestion/<str:decision>/",
                view(self.suggestion_view),
                name=f"{info}_suggestion",
            ),
            *super().get_urls(),
        ]

    @admin.display(description=gettext_lazy("Dose suggestions"))
    def suggestions_panel(self, obj: Plan | None) -> SafeString | str:
        if obj is None or obj.pk is None:
            return "–"
        clinic = obj.patient.clinic
        rows = suggestions.suggestions_for_plan(obj, clinic.today())
        start, end = suggestions.window(obj, clinic.today())
        return render_to_string(
            "admin/prescriptions/suggestions_panel.html",
            {
                "plan": obj,
                "suggestions": rows,
                "start": start,
                "end": end,
                "apply_url": reverse(
                    f"admin:{self.opts.app_label}_{self.opts.model_name}_suggestion",
                    args=[obj.pk, "apply"],
                ),
                "dismiss_url": reverse(
                    f"admin:{self.opts.app_label}_{self.opts.model_name}_suggestion",
                    args=[obj.pk, "dismiss"],
                ),
            },
        )

    def suggestion_view(self, request: HttpRequest, object_id: str, decision: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        plan = self.get_object(request, unquote(object_id))
        if plan is None or decision not in {"apply", "dismiss"}:
            raise Http404(_("No plan with this ID."))
        if not self.has_change_permission(request, plan):
            raise PermissionDenied
        user = request.user
        assert isinstance(user, User)
        signature = request.POST.get("signature", "")
        change_url = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[plan.pk]
        )
        try:
            if decision == "apply":
                done = suggestions.apply_suggestion(
                    plan=plan, signature=signature, user=user, request=request
                )
                self.message_user(
                    request,
                    _(
                        "Applied to %(exercise)s: %(change)s. This is revision %(revision)s of "
                        "the plan; the handout is being made again."
                    )
                    % {
                        "exercise": done.item.exercise.name,
                        "change": "; ".join(done.changes),
                        "revision": plan.revision + 1,
                    },
                    messages.SUCCESS,
                )
            else:
                done = suggestions.dismiss_suggestion(
                    plan=plan, signature=signature, user=user, request=request
                )
                self.message_user(
                    request,
                    _("Suggestion for %(exercise)s dismissed. Nothing was changed.")
                    % {"exercise": done.item.exercise.name},
                    messages.INFO,
                )
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
        return HttpResponseRedirect(change_url + "#suggestions")
