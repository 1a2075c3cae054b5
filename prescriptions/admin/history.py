"""The History pages of a plan and of a patient: their versions (prescriptions.history).

Each version, newest first, says in plain words what changed from the one
before ("Status: Active → Paused.", "Sets for Calf raise: 2 → 3."), who changed
it and from which day; and the page shows the plan (or the record) as it was on
a day the therapist picks. They replace Django's own history page, which lists
only the admin's edits and none of the builder's, the portal's or the status
actions'.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from clinic import audit
from clinic.models import Patient, language_choices
from prescriptions.history import PATIENT_FIELDS
from prescriptions.models import (
    PRESCRIBED_FIELD_NAMES,
    PatientVersion,
    Plan,
    PlanItem,
    PlanVersion,
    Side,
)

DASH = "—"
# Long free text: the page says that it changed, not what it says.
TEXT_FIELDS = frozenset({"goals", "notes_for_patient", "notes", "instructions"})
PLAN_SHOWN = ("title", "condition", "status", "start_date", "end_date", "phase", "therapist_id")
PLAN_TEXTS = ("goals", "notes_for_patient")
ITEM_SHOWN = PRESCRIBED_FIELD_NAMES


def _label(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name.removesuffix("_id"))
    return str(capfirst(field.verbose_name))  # type: ignore[union-attr]


def _shown(name: str, value: Any) -> str:
    """A stored value (JSON: dates as ISO text) as the reader expects to see it."""
    if value is None or value == "":
        return DASH
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if name in ("start_date", "end_date", "date_of_birth"):
        return date_format(datetime.date.fromisoformat(value), "DATE_FORMAT")
    if name == "reminder_time":
        # 24-hour clock: no "a.m." whose full stop would end up doubled in a sentence.
        return time_format(datetime.time.fromisoformat(value), "H:i")
    if name == "preferred_language":
        return str(dict(language_choices()).get(value, value))
    if name == "status":
        return str(Plan.Status(value).label)
    if name == "side":
        return str(Side(value).label)
    return str(value)


def _field_changes(
    model: type[models.Model], names: Sequence[str], before: dict[str, Any], after: dict[str, Any]
) -> list[str]:
    lines = []
    for name in names:
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        label = _label(model, name)
        if name in TEXT_FIELDS or name.endswith("_id"):
            lines.append(_("%(field)s changed.") % {"field": label})
        else:
            lines.append(
                _("%(field)s: %(before)s → %(after)s.")
                % {"field": label, "before": _shown(name, old), "after": _shown(name, new)}
            )
    return lines


def plan_changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    """What changed from one version of a plan to the next, in plain words."""
    if before is None:
        return []
    lines = _field_changes(Plan, (*PLAN_SHOWN, *PLAN_TEXTS), before, after)
    old_items = {row["id"]: row for row in before.get("items", [])}
    new_items = {row["id"]: row for row in after.get("items", [])}
    for pk, row in new_items.items():
        old = old_items.get(pk)
        name = row["exercise"]
        if old is None:
            lines.append(_("Added %(exercise)s.") % {"exercise": name})
            continue
        if old["exercise_id"] != row["exercise_id"]:
            lines.append(
                _("%(before)s replaced by %(after)s.") % {"before": old["exercise"], "after": name}
            )
        for field in ITEM_SHOWN:
            if old.get(field) == row.get(field):
                continue
            label = _label(PlanItem, field)
            if field in TEXT_FIELDS:
                lines.append(
                    _("%(field)s for %(exercise)s changed.") % {"field": label, "exercise": name}
                )
            else:
                lines.append(
                    _("%(field)s for %(exercise)s: %(before)s → %(after)s.")
                    % {
                        "field": label,
                        "exercise": name,
                        "before": _shown(field, old.get(field)),
                        "after": _shown(field, row.get(field)),
                    }
                )
        if old["order"] != row["order"]:
            lines.append(
                _("%(exercise)s moved from position %(before)s to %(after)s.")
                % {"exercise": name, "before": old["order"], "after": row["order"]}
            )
    for pk, row in old_items.items():
        if pk not in new_items:
            lines.append(_("Removed %(exercise)s.") % {"exercise": row["exercise"]})
    old_pages, new_pages = before.get("education", []), after.get("education", [])
    for title in new_pages:
        if title not in old_pages:
            lines.append(_("Education page added: %(title)s.") % {"title": title})
    for title in old_pages:
        if title not in new_pages:
            lines.append(_("Education page removed: %(title)s.") % {"title": title})
    return lines or [_("No change the page shows (the record of it was kept).")]


def patient_changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    if before is None:
        return []
    lines = _field_changes(Patient, PATIENT_FIELDS, before, after)
    return lines or [_("No change the page shows (the record of it was kept).")]


@dataclass(frozen=True)
class Row:
    version: PlanVersion | PatientVersion
    changes: list[str]
    first: bool
    when: str
    since: str
    who: str


def _in_force_from(version: PlanVersion | PatientVersion) -> str:
    if isinstance(version, PlanVersion):
        first, last = version.in_force_from, version.in_force_until
        if first is not None and last is not None and last < first:
            return _("Replaced the same day")
        if first is None:
            return _("The plan's first day")
        return date_format(first, "DATE_FORMAT")
    return date_format(version.recorded_on, "DATE_FORMAT")


def _rows(versions: Sequence[PlanVersion | PatientVersion], describe: Any, zone: Any) -> list[Row]:
    """Newest first, each with what changed from the one before it."""
    rows = []
    previous: dict[str, Any] | None = None
    for index, version in enumerate(versions):  # oldest first
        user = version.changed_by
        rows.append(
            Row(
                version=version,
                changes=describe(previous, version.data),
                first=index == 0,
                when=date_format(timezone.localtime(version.recorded_at, zone), "DATETIME_FORMAT"),
                since=_in_force_from(version),
                who=(user.full_name or user.email) if user is not None else _("Rehabit"),
            )
        )
        previous = version.data
    rows.reverse()
    return rows


def plan_version_on(
    plan: Plan, versions: Sequence[PlanVersion], day: datetime.date
) -> PlanVersion | None:
    """The version in force on `day`, by the rule adherence counts with."""
    if not versions:
        return None
    if plan.current_since is None or day >= plan.current_since:
        return versions[-1]
    for version in versions:
        first = version.in_force_from or datetime.date.min
        if version.in_force_until is not None and first <= day <= version.in_force_until:
            return version
    return None


def patient_version_on(
    versions: Sequence[PatientVersion], day: datetime.date
) -> PatientVersion | None:
    """The record at the end of `day`: the newest version from that day or before."""
    found = None
    for version in versions:
        if version.recorded_on <= day:
            found = version
    return found


def _asked_day(request: HttpRequest) -> tuple[datetime.date | None, str, str]:
    """The day asked for (?on=YYYY-MM-DD), the text as typed, and an error message."""
    text = request.GET.get("on", "").strip()[:20]
    if not text:
        return None, "", ""
    try:
        return datetime.date.fromisoformat(text), text, ""
    except ValueError:
        return None, text, _("Enter a date such as 2026-03-03 (year, month, day).")


HISTORY_TEMPLATE = "admin/prescriptions/history.html"


def _history_object(model_admin: Any, request: HttpRequest, object_id: str) -> Any:
    """The admin's object, or the 404 (with a refused lookup in the audit trail)."""
    obj = model_admin.get_object(request, unquote(object_id))
    if obj is None:
        # ClinicAdminMixin: 404, and the refused lookup goes to the audit trail.
        return model_admin._get_obj_does_not_exist_redirect(request, model_admin.opts, object_id)
    if not model_admin.has_view_or_change_permission(request, obj):
        raise PermissionDenied
    audit.record(request, audit.Action.VIEW, obj=obj, detail="history")
    return obj


def _render_history(
    model_admin: Any, request: HttpRequest, obj: Any, **context: Any
) -> HttpResponse:
    day, typed, error = _asked_day(request)
    return TemplateResponse(
        request,
        HISTORY_TEMPLATE,
        {
            **model_admin.admin_site.each_context(request),
            "opts": model_admin.opts,
            "object": obj,
            "title": _("History: %(object)s") % {"object": obj},
            "subtitle": None,
            "asked_day": day,
            "asked_text": typed,
            "asked_label": date_format(day, "DATE_FORMAT") if day else "",
            "day_error": error,
            **context,
        },
    )


class PlanHistoryAdminMixin:
    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        plan = _history_object(self, request, object_id)
        if not isinstance(plan, Plan):
            return plan  # type: ignore[no-any-return]
        versions = list(
            PlanVersion.objects.filter(plan=plan).select_related("changed_by").order_by("pk")
        )
        zone = plan.patient.clinic.zone
        day, _typed, _error = _asked_day(request)
        then = plan_version_on(plan, versions, day) if day else None
        return _render_history(
            self,
            request,
            plan,
            kind="plan",
            rows=_rows(versions, plan_changes, zone),
            then=then,
            then_fields=_plan_fields(then) if then else [],
            then_items=[_item_cells(row) for row in then.data["items"]] if then else [],
            item_headers=[_label(PlanItem, name) for name in ITEM_SHOWN[:-1]],
        )


def _plan_fields(version: PlanVersion) -> list[tuple[str, str]]:
    data = version.data
    fields = [
        (_label(Plan, name), _shown(name, data.get(name)))
        for name in ("title", "condition", "status", "start_date", "end_date")
    ]
    fields += [(_label(Plan, name), data.get(name) or DASH) for name in PLAN_TEXTS]
    fields.append((_label(Plan, "education"), "; ".join(data.get("education", [])) or DASH))
    return fields


def _item_cells(row: dict[str, Any]) -> tuple[str, list[str], str]:
    return (
        row["exercise"],
        [_shown(name, row.get(name)) for name in ITEM_SHOWN[:-1]],
        row.get("instructions") or "",
    )


class PatientHistoryAdminMixin:
    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        patient = _history_object(self, request, object_id)
        if not isinstance(patient, Patient):
            return patient  # type: ignore[no-any-return]
        versions = list(
            PatientVersion.objects.filter(patient=patient)
            .select_related("changed_by")
            .order_by("pk")
        )
        day, _typed, _error = _asked_day(request)
        then = patient_version_on(versions, day) if day else None
        return _render_history(
            self,
            request,
            patient,
            kind="patient",
            rows=_rows(versions, patient_changes, patient.clinic.zone),
            then=then,
            then_fields=[
                (_label(Patient, name), _shown(name, then.data.get(name)))
                for name in PATIENT_FIELDS
                if not name.endswith("_id")
            ]
            if then
            else [],
        )
