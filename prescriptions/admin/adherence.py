"""Adherence in the therapist admin: patient list columns, plan chart, attention list.

PatientAdmin mixes in PatientAdherenceAdminMixin and appends
`adherence_list_display` / `adherence_list_filter`; PlanAdmin mixes in
PlanAdherenceAdminMixin and appends `adherence_readonly_fields`. The figures
come from prescriptions.adherence, computed by the database as annotations of
the changelist query, so the list costs the same few queries for 10 or 2,000
patients. The filters compare each patient with their own clinic's thresholds.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import PAGE_VAR, ChangeList
from django.core.paginator import Page, Paginator
from django.db.models import Count, F, QuerySet, Window
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from clinic.admin_scoping import clinic_of
from clinic.models import Clinic, Patient
from prescriptions import adherence
from prescriptions.charts import WIDE, adherence_chart_svg, nerve_chart_svg, pain_chart_svg
from prescriptions.models import Plan, SessionLog

RECENT_LOGS = 10
# The annotations the patient list's columns read (PatientAdherenceAdminMixin's
# list_display methods).
LIST_FIGURES = (
    "adherence_7",
    "adherence_7_completed",
    "adherence_7_prescribed",
    "adherence_28",
    "adherence_28_completed",
    "adherence_28_prescribed",
    "last_log_date",
    "latest_pain",
    "pain_change_7d",
)
CHART_DAYS = 28
DASH = "–"


def asking_clinic(request: HttpRequest) -> Clinic | None:
    """The signed-in therapist's clinic, looked up once per request (shared with the admin)."""
    return clinic_of(request)


def today_for(request: HttpRequest) -> datetime.date:
    """Today in the therapist's clinic; for superusers, in the server's time zone."""
    clinic = asking_clinic(request)
    return clinic.today() if clinic else timezone.localdate()


def _percent_cell(value: int | None, completed: int, prescribed: int) -> str:
    if value is None:
        return format_html('<span title="{}">{}</span>', _("Nothing was due"), DASH)
    return format_html(
        '<span title="{}">{}&nbsp;%</span>',
        _("%(done)s of %(due)s sessions") % {"done": completed, "due": prescribed},
        value,
    )


class _ThresholdFilter(admin.SimpleListFilter):
    def threshold_text(self, request: HttpRequest, field: str, unit: str) -> str:
        clinic = asking_clinic(request)
        if clinic is None:
            return _("the clinic's setting")
        return f"{getattr(clinic, field)}{unit}"


class AdherenceFilter(_ThresholdFilter):
    title = gettext_lazy("adherence (7 days)")
    parameter_name = "adherence"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        below = self.threshold_text(request, "attention_adherence_below", "\u00a0%")
        return [
            ("low", _("Under %(threshold)s") % {"threshold": below}),
            ("ok", _("%(threshold)s or more") % {"threshold": below}),
            ("none", _("Nothing due")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "low":
            return queryset.filter(adherence.low_adherence_q())
        if self.value() == "ok":
            return queryset.filter(adherence_7__isnull=False).exclude(adherence.low_adherence_q())
        if self.value() == "none":
            return queryset.filter(adherence_7__isnull=True)
        return queryset


class LastLogFilter(_ThresholdFilter):
    title = gettext_lazy("last session logged")
    parameter_name = "last_log"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        days = self.threshold_text(request, "attention_days_without_log", "")
        return [
            ("stale", _("No log for %(days)s days or more") % {"days": days}),
            ("never", _("Never logged")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "stale":
            return queryset.filter(adherence.no_log_q(today_for(request)))
        if self.value() == "never":
            return queryset.filter(last_log_date__isnull=True)
        return queryset


class AttentionFilter(admin.SimpleListFilter):
    title = gettext_lazy("needs attention")
    parameter_name = "attention"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", _("Needs attention"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(adherence.attention_q(today_for(request)))
        return queryset


class FiguresLastPaginator(Paginator[Any]):
    """Pages of the annotated patient list that compute the figures of the page's rows only.

    A sort or filter on a figure (7-day adherence, "needs attention") needs that
    figure for every patient of the clinic; the other columns are needed for the 50
    rows shown. So one query finds the page's ids in order, with the total as a
    window count over the filtered rows (no separate COUNT, which would evaluate the
    filter again), and a second reads the full rows of those ids. At 2,000 patients
    the "needs attention" page evaluated its conditions twice for every patient and
    every column for all of them before sorting (bench/adherence.py).

    The second query reads the rows by id from `rows`, the same scoped, annotated
    queryset without the list's filters (the ids have passed them), in the ids'
    order, with their adherence figures from one grouped pass over those ids. A
    sort or filter on a figure reads it for the whole clinic from one grouped pass
    where that is faster (adherence.PatientFigures, PostgreSQL).
    """

    def __init__(
        self,
        object_list: QuerySet[Any],
        per_page: int,
        page_number: str,
        rows: QuerySet[Any] | None = None,
        *,
        clinic: Clinic | None = None,
    ) -> None:
        super().__init__(object_list, per_page)
        self.queryset = object_list
        self.page_number = page_number
        # Whose plans the grouped pass reads: the asker's clinic (None: a superuser's
        # list of every clinic).
        self.clinic = clinic
        self._ids: dict[int, list[int]] = {}
        if rows is None:
            rows = object_list
        else:
            # The list's own joins (list_select_related), not its filters or order.
            rows = rows.all()
            rows.query.select_related = object_list.query.select_related
        self.rows = rows

    def _page_ids(self, number: int) -> tuple[list[int], int | None]:
        bottom = (number - 1) * self.per_page
        # A sort or filter on a figure reads it for the whole clinic in one grouped
        # pass (adherence.PatientFigures), where that is faster than a subquery per
        # patient.
        queryset = self.queryset
        periods = adherence.periods_read(queryset)
        if periods and adherence.grouping_pays_off(queryset):
            # Over the patients the list's other filters and search leave.
            among = adherence.unfiltered_by_figures(queryset)
            if among is None and self.clinic is not None:
                among = Patient.objects.filter(clinic=self.clinic)
            queryset = adherence.with_patient_figures(queryset, periods, among)
        rows = list(
            queryset.annotate(page_total=Window(Count("pk"))).values_list("pk", "page_total")[
                bottom : bottom + self.per_page + self.orphans
            ]
        )
        return [pk for pk, _total in rows], (rows[0][1] if rows else None)

    @cached_property
    def count(self) -> int:
        try:
            number = max(1, int(self.page_number))
        except ValueError:
            number = 1
        ids, total = self._page_ids(number)
        if total is None:
            # Nothing matches, or a page past the last (then the total is wanted).
            return 0 if number == 1 else int(self.queryset.count())
        self._ids[number] = ids
        return int(total)

    def page(self, number: Any) -> Page[Any]:
        number = self.validate_number(number)
        ids = self._ids.get(number)
        if ids is None:
            ids, _total = self._page_ids(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans < self.count:
            ids = ids[: self.per_page]
        return Page(self.rows_of(ids), number, self)

    def rows_of(self, ids: list[int]) -> list[Any]:
        """The full rows of these ids, in their order (one query)."""
        position = {pk: n for n, pk in enumerate(ids)}
        rows = self.rows.filter(pk__in=ids).order_by()
        # Only the figures the list's columns show: the others (nerve symptoms,
        # outcome, first plan start and the pain change's parts, which the change
        # is computed from in the SQL anyway) are for filters and the patient page.
        rows.query.set_annotation_mask(LIST_FIGURES)
        # Each period's sessions due and done in one grouped pass over the page's
        # patients, rather than three subqueries a row (due, done and the percent,
        # each of which counts them again). Unlike a pass over the whole clinic
        # (grouping_pays_off), this is faster on both databases (bench/adherence.py).
        periods = adherence.periods_shown(rows)
        if periods:
            rows = adherence.with_patient_figures(rows, periods, Patient.objects.filter(pk__in=ids))
        return sorted(rows, key=lambda row: position[row.pk])

    def all_rows(self) -> list[Any] | None:
        """Every row of a list that fits on one page, from the ids the count found
        (None if the count has not read them)."""
        ids = self._ids.get(1)
        if ids is None or self.count > self.per_page:
            return None
        return self.rows_of(ids)


class FiguresChangeList(ChangeList):
    """The patient list: a list that fits on one page also reads its rows by id.

    Django's ChangeList shows such a list from its filtered queryset, which
    evaluated a figure filter ("needs attention") for every patient of the clinic
    a second time: half the SQL of such a page (bench/adherence.py's one-page case).
    """

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        paginator = self.paginator
        if isinstance(paginator, FiguresLastPaginator) and not self.multi_page:
            rows = paginator.all_rows()
            if rows is not None:
                self.result_list = rows


class PatientAdherenceAdminMixin:
    adherence_list_display: tuple[str, ...] = (
        "adherence_7_days",
        "adherence_28_days",
        "last_log",
        "latest_pain_score",
    )
    adherence_list_filter: tuple[object, ...] = (AttentionFilter, AdherenceFilter, LastLogFilter)
    adherence_readonly_fields: tuple[str, ...] = ("progress_summary",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Patient]:
        # Built once a request: the list asks again for its therapist filter's
        # choices, and building the annotations costs several milliseconds. Every
        # use filters or slices it, which makes a copy.
        cached: QuerySet[Patient] | None = getattr(request, "_rehabit_patient_figures", None)
        if cached is None:
            queryset = super().get_queryset(request)  # type: ignore[misc]
            cached = adherence.annotate_patients(queryset, today_for(request))
            request._rehabit_patient_figures = cached  # type: ignore[attr-defined]
        return cached

    def get_paginator(
        self,
        request: HttpRequest,
        queryset: QuerySet[Patient],
        per_page: int,
        orphans: int = 0,
        allow_empty_first_page: bool = True,
    ) -> FiguresLastPaginator:
        return FiguresLastPaginator(
            queryset,
            per_page,
            request.GET.get(PAGE_VAR, "1"),
            rows=getattr(request, "_rehabit_patient_figures", None),
            clinic=asking_clinic(request),
        )

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return FiguresChangeList

    @admin.display(
        description=gettext_lazy("adherence 7 days"),
        ordering=F("adherence_7").asc(nulls_last=True),
    )
    def adherence_7_days(self, obj: Patient) -> str:
        row: Any = obj
        return _percent_cell(row.adherence_7, row.adherence_7_completed, row.adherence_7_prescribed)

    @admin.display(
        description=gettext_lazy("adherence 28 days"),
        ordering=F("adherence_28").asc(nulls_last=True),
    )
    def adherence_28_days(self, obj: Patient) -> str:
        row: Any = obj
        return _percent_cell(
            row.adherence_28, row.adherence_28_completed, row.adherence_28_prescribed
        )

    @admin.display(
        description=gettext_lazy("last log"),
        ordering=F("last_log_date").asc(nulls_first=True),
        empty_value=DASH,
    )
    def last_log(self, obj: Patient) -> datetime.date | None:
        last: datetime.date | None = getattr(obj, "last_log_date", None)
        return last

    @admin.display(
        description=gettext_lazy("latest pain"),
        ordering=F("latest_pain").asc(nulls_first=True),
    )
    def latest_pain_score(self, obj: Patient) -> str:
        row: Any = obj
        if row.latest_pain is None:
            return DASH
        change = row.pain_change_7d
        if change:
            return format_html(
                '{}/10 <span title="{}">({}{})</span>',
                row.latest_pain,
                _("Change over 7 days"),
                "+" if change > 0 else "\u2212",
                abs(change),
            )
        return format_html("{}/10", row.latest_pain)

    @admin.display(description=pgettext_lazy("patient page", "Progress"))
    def progress_summary(self, obj: Patient | None) -> SafeString | str:
        if obj is None or obj.pk is None:
            return ""
        return render_patient_summary(obj)


def render_patient_summary(patient: Patient) -> SafeString:
    """The patient page's summary: adherence, latest pain and nerve symptoms.

    The figures are the patient list's own annotations (`annotate_patients`): the
    admin's change view reads the patient through the annotated queryset, so the
    page and the list can never disagree. A few small queries more: the clinic (its
    thresholds), whether the attention list flags the patient (by its own rule),
    the newest log, the newest log with nerve symptoms, and the newest active plan
    (whose progress panel has the charts).
    """
    row: Any = patient
    clinic = patient.clinic
    today = clinic.today()
    annotated = adherence.annotate_patients(Patient.objects.filter(pk=patient.pk), today)
    if not hasattr(row, "adherence_7"):  # not read through the admin's queryset
        row = annotated.get()
    flagged = annotated.filter(adherence.attention_q(today)).exists()
    logs = SessionLog.objects.filter(plan__patient=patient).order_by(*adherence.NEWEST_FIRST)
    latest = logs.first()
    nerve = logs.exclude(nerve_symptoms=SessionLog.NerveSymptoms.NONE).first()
    plan_pk = (
        Plan.objects.filter(patient=patient, status=Plan.Status.ACTIVE)
        .order_by("-start_date", "-pk")
        .values_list("pk", flat=True)
        .first()
    )
    context = {
        "adherence_7": adherence.Adherence.of(
            row.adherence_7_completed, row.adherence_7_prescribed
        ),
        "adherence_28": adherence.Adherence.of(
            row.adherence_28_completed, row.adherence_28_prescribed
        ),
        "latest": latest,
        # Compared as on the patient list: the newest score this week and the
        # newest the week before (None unless both exist).
        "pain_up": max(0, row.pain_change_7d or 0),
        "pain_down": max(0, -(row.pain_change_7d or 0)),
        "nerve": nerve,
        "lasting_this_week": bool(row.lasting_nerve_symptoms),
        "reasons": adherence.attention_reasons(row, clinic, today) if flagged else [],
        "progress_url": (
            reverse("admin:prescriptions_plan_change", args=[plan_pk]) + "#progress"
            if plan_pk
            else None
        ),
    }
    return render_to_string("admin/prescriptions/patient_summary.html", context)


class PlanAdherenceAdminMixin:
    adherence_readonly_fields: tuple[str, ...] = ("adherence_panel",)

    @admin.display(description=gettext_lazy("Adherence and pain"))
    def adherence_panel(self, obj: Plan | None) -> SafeString | str:
        if obj is None or obj.pk is None:
            return _("Shown once the plan is saved and the patient logs sessions.")
        return render_adherence_panel(obj)


def render_adherence_panel(plan: Plan) -> SafeString:
    """Charts for the last 28 days of the plan (adherence, pain, nerve symptoms),
    per-exercise adherence with sets per side, and recent logs."""
    clinic = plan.patient.clinic
    today = clinic.today()
    end = min(today, plan.end_date) if plan.end_date else today
    start = max(plan.start_date, end - datetime.timedelta(days=CHART_DAYS - 1))
    context: dict[str, Any] = {"plan": plan, "start": start, "end": end, "started": start <= end}
    if start <= end:
        days = adherence.day_by_day(plan, start, end)
        week_start = max(start, end - datetime.timedelta(days=6))
        logs = SessionLog.objects.filter(plan=plan)
        pain = adherence.pain_series(logs, start, end)
        nerve = adherence.nerve_series(logs, start, end)
        # The figures and the chart come from the same days, by the same rule.
        context.update(
            period_7=adherence.over([day for day in days if day.date >= week_start]),
            period_all=adherence.over(days),
            exercises=adherence.exercise_adherence(plan, start, end, include_ended=True),
            adherence_chart=adherence_chart_svg(
                days, title=_("Sessions due and done, day by day"), frame=WIDE
            ),
            pain_chart=pain_chart_svg(pain, title=_("Pain after sessions (0 to 10)"), frame=WIDE),
            nerve_chart=nerve_chart_svg(
                nerve, title=_("Nerve symptoms, session by session"), frame=WIDE
            ),
        )
    context["recent"] = list(
        SessionLog.objects.filter(plan=plan).order_by("-date", "-session_number")[:RECENT_LOGS]
    )
    return render_to_string("admin/prescriptions/adherence_panel.html", context)
