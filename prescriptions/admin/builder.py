"""The plan builder: a page of the plan admin for building a patient's plan from the library.

PlanAdmin mixes this in. Every view is wrapped by the admin site (sign-in, staff,
CSRF) and runs in the request's clinic scope; plans and patients are looked up
through the scoped managers, so another clinic's plan or patient is a 404. The
browser talks JSON to the views below; the page itself needs JavaScript and says
so, while the plan form next to it keeps working without.
"""

from __future__ import annotations

import base64
import json
import logging
import subprocess
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from clinic import audit
from clinic.admin_scoping import is_superuser, record_refused
from clinic.invitations import invite_patient
from clinic.models import Clinic, Patient, Therapist, User, therapist_for
from clinic.scoping import scope
from prescriptions import builder, plans, suggestions
from prescriptions.admin.common import plan_started
from prescriptions.handouts.preview import first_exercise_png, preview_available
from prescriptions.localise import show_in
from prescriptions.models import (
    DAYS_PER_WEEK,
    DURATION_MINUTES,
    HOLD_SECONDS,
    REPS,
    REST_SECONDS,
    SETS,
    TIMES_PER_DAY,
    Plan,
    PlanTemplate,
    Side,
)

if TYPE_CHECKING:
    _Base = admin.ModelAdmin[Plan]
else:
    _Base = object

logger = logging.getLogger(__name__)

BOUNDS = {
    "sets": SETS,
    "reps": REPS,
    "hold_seconds": HOLD_SECONDS,
    "duration_minutes": DURATION_MINUTES,
    "rest_seconds": REST_SECONDS,
    "times_per_day": TIMES_PER_DAY,
    "days_per_week": DAYS_PER_WEEK,
}
PATIENT_PICKER_LIMIT = 20


class BadRequest(Exception):
    """A request body that is not what the builder sends: answered with a 400."""


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest(_("The request could not be read.")) from error
    if not isinstance(data, dict):
        raise BadRequest(_("The request could not be read."))
    return data


def _refusal(message: str, status: int = 400, **extra: Any) -> JsonResponse:
    return JsonResponse({"ok": False, "message": message, **extra}, status=status)


class PlanBuilderAdminMixin(_Base):
    def get_urls(self) -> list[URLPattern]:
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path("builder/", view(self.builder_new_view), name=f"{info}_builder_new"),
            path(
                "builder/library/",
                view(require_GET(self.builder_library_view)),
                name=f"{info}_builder_library",
            ),
            path(
                "builder/protocol/<str:template_id>/",
                view(require_GET(self.builder_protocol_view)),
                name=f"{info}_builder_protocol",
            ),
            path(
                "builder/start/",
                view(require_POST(self.builder_start_view)),
                name=f"{info}_builder_start",
            ),
            path(
                "builder/check/",
                view(require_POST(self.builder_check_view)),
                name=f"{info}_builder_check",
            ),
            path(
                "builder/preview/",
                view(require_POST(self.builder_preview_view)),
                name=f"{info}_builder_preview",
            ),
            path(
                "<path:object_id>/builder/suggestion/",
                view(require_POST(self.builder_suggestion_view)),
                name=f"{info}_builder_suggestion",
            ),
            path("<path:object_id>/builder/", view(self.builder_view), name=f"{info}_builder"),
            path("<path:object_id>/handover/", view(self.handover_view), name=f"{info}_handover"),
            *super().get_urls(),
        ]

    # --- Lookups ----------------------------------------------------------------------

    def _patient(self, request: HttpRequest, value: Any) -> Patient:
        patient_id = builder._as_id(value)
        patient = (
            Patient.objects.select_related("clinic").filter(pk=patient_id).first()
            if patient_id
            else None
        )
        if patient is None:
            record_refused(request, Patient, str(value)[:40])
            raise Http404(_("No patient with this ID."))
        return patient

    def _plan(self, request: HttpRequest, object_id: str) -> Plan:
        plan = self.get_object(request, unquote(object_id))
        if plan is None or not self.has_view_or_change_permission(request, plan):
            record_refused(request, Plan, object_id)
            raise Http404(_("No plan with this ID."))
        return plan

    # --- The page ---------------------------------------------------------------------

    def builder_new_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        raw = request.GET.get("patient")
        if request.method == "POST":
            try:
                data = _json_body(request)
            except BadRequest as error:
                return _refusal(str(error))
            patient = self._patient(request, data.get("patient"))
            return self._save(
                request, builder.new_plan(patient, self._therapist(patient, request)), data
            )
        if raw is None:
            return self._patient_picker(request)
        patient = self._patient(request, raw)
        return self._page(request, builder.new_plan(patient, self._therapist(patient, request)))

    def builder_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        plan = self._plan(request, object_id)
        if not self.has_change_permission(request, plan):
            raise PermissionDenied
        if request.method == "POST":
            try:
                data = _json_body(request)
            except BadRequest as error:
                return _refusal(str(error))
            return self._save(request, plan, data)
        return self._page(request, plan)

    def _therapist(self, patient: Patient, request: HttpRequest) -> Therapist | None:
        # A superuser without a therapist profile builds on behalf of the patient's therapist.
        return therapist_for(request) or patient.primary_therapist

    def _page(self, request: HttpRequest, plan: Plan) -> TemplateResponse:
        patient = plan.patient
        clinic = patient.clinic
        audit.record(
            request, audit.Action.VIEW, obj=plan if plan.pk else patient, detail="plan builder"
        )
        info = f"admin:{self.opts.app_label}_{self.opts.model_name}"
        save_url = (
            reverse(f"{info}_builder", args=[quote(plan.pk)])
            if plan.pk
            else reverse(f"{info}_builder_new")
        )
        protocols = [
            {"id": t.pk, "name": t.name, "condition": t.condition, "own": t.clinic_id is not None}
            for t in _protocols(clinic).order_by("name")
        ]
        items = list(plan.items.select_related("exercise").order_by("order")) if plan.pk else []
        # The first answers come with the page: the library is painted and the plan read
        # back without waiting for the browser to ask.
        check = builder.describe_rows(items, clinic=clinic, language=patient.preferred_language)
        data = {
            "patient": patient.pk,
            "library": self._library(request, patient, builder.LibraryQuery()),
            "check": {
                **check,
                "rows": [
                    {"text": text, "minutes": minutes}
                    for text, minutes in zip(check.pop("texts"), check.pop("minutes"), strict=True)
                ],
            },
            "plan": {
                "id": plan.pk,
                "revision": plan.revision,
                "status_label": plan.get_status_display(),
                **builder.plan_values(plan),
            },
            "rows": builder.plan_rows(items),
            "suggestions": suggestion_data(plan) if plan.pk else {},
            "protocols": protocols,
            "limits": {
                name: {"min": bound.low, "max": bound.high} for name, bound in BOUNDS.items()
            },
            "max_exercises": clinic.max_plan_exercises,
            "urls": {
                "library": reverse(f"{info}_builder_library"),
                "protocol": reverse(f"{info}_builder_protocol", args=["0"]),
                "check": reverse(f"{info}_builder_check"),
                "start": reverse(f"{info}_builder_start"),
                "preview": reverse(f"{info}_builder_preview"),
                "save": save_url,
                "suggestion": (
                    reverse(f"{info}_builder_suggestion", args=[quote(plan.pk)]) if plan.pk else ""
                ),
            },
        }
        # The days the suggestions on the rows read, when there are any.
        window = suggestions.window(plan, clinic.today()) if data["suggestions"] else None
        header = builder.PlanHeaderForm(instance=plan, auto_id="plan-%s")
        title = _("Plan builder: %(patient)s") % {"patient": patient.full_name}
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "plan": plan,
            "patient": patient,
            "header": header,
            "builder_data": data,
            "strings": builder_strings(),
            "facets": builder.FACETS,
            "sides": Side.choices,
            "bounds": BOUNDS,
            "preview_available": preview_available(),
            "suggestions_from": window[0] if window else None,
            "suggestions_to": window[1] if window else None,
            "patient_url": reverse("admin:clinic_patient_change", args=[patient.pk]),
            "form_url": (
                reverse(f"{info}_change", args=[quote(plan.pk)])
                if plan.pk
                else reverse(f"{info}_add") + f"?patient={patient.pk}"
            ),
        }
        return TemplateResponse(request, "admin/prescriptions/plan/builder.html", context)

    def _patient_picker(self, request: HttpRequest) -> TemplateResponse:
        query = request.GET.get("q", "").strip()[:100]
        patients = Patient.objects.active().order_by("last_name", "first_name")
        for word in query.split():
            patients = patients.filter(Q(first_name__icontains=word) | Q(last_name__icontains=word))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Plan builder: choose a patient"),
            "query": query,
            "patients": list(patients[:PATIENT_PICKER_LIMIT]),
            "limit": PATIENT_PICKER_LIMIT,
        }
        return TemplateResponse(request, "admin/prescriptions/plan/builder_patient.html", context)

    # --- JSON -------------------------------------------------------------------------

    def builder_library_view(self, request: HttpRequest) -> JsonResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        patient = self._patient(request, request.GET.get("patient"))
        if "ids" in request.GET:
            ids = [builder._as_id(v) for v in request.GET.get("ids", "").split(",")]
            with _in_clinic_of(request, patient):
                return JsonResponse({"results": builder.cards_for(i for i in ids if i)})
        query = builder.LibraryQuery.from_params(request.GET)
        return JsonResponse(self._library(request, patient, query))

    def _library(self, request: HttpRequest, patient: Patient, query: Any) -> dict[str, Any]:
        with _in_clinic_of(request, patient):
            return builder.search_library(query)

    def builder_protocol_view(self, request: HttpRequest, template_id: str) -> JsonResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        patient = self._patient(request, request.GET.get("patient"))
        pk = builder._as_id(template_id)
        template = _protocols(patient.clinic).filter(pk=pk).first() if pk else None
        if template is None:
            raise Http404(_("No protocol with this ID."))
        return JsonResponse(
            {
                "id": template.pk,
                "name": template.name,
                "rows": builder.protocol_rows(template, patient.preferred_language),
            }
        )

    def builder_start_view(self, request: HttpRequest) -> JsonResponse:
        """Start a new plan from a protocol exactly as the protocol's page does
        (plans.start_plan_from_template: its words in the patient's language, its
        first phase, its length), then carry on in the builder with that draft."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        try:
            data = _json_body(request)
        except BadRequest as error:
            return _refusal(str(error))
        patient = self._patient(request, data.get("patient"))
        template_id = builder._as_id(data.get("template"))
        protocols = _protocols(patient.clinic)
        template = protocols.filter(pk=template_id).first() if template_id else None
        if template is None:
            return _refusal(_("No protocol with this ID."), status=404)
        therapist = self._therapist(patient, request)
        if therapist is None:
            return _refusal(_("Choose a primary therapist for this patient first."))
        dates = forms.DateField(required=False)
        try:
            start = dates.clean(data.get("start_date")) or None
        except ValidationError as error:
            return _refusal(" ".join(error.messages), plan_errors={"start_date": error.messages})
        try:
            plan = plans.start_plan_from_template(
                template, patient=patient, therapist=therapist, start_date=start
            )
        except ValidationError as error:
            # More exercises than the patient's clinic allows in one plan: nothing written.
            return _refusal(" ".join(error.messages))
        created = _("Created in the plan builder.")
        message = plan_started(
            self, request, plan, template, change_message=created, where="in the plan builder"
        )
        messages.success(request, message)
        info = f"admin:{self.opts.app_label}_{self.opts.model_name}"
        return JsonResponse({"ok": True, "url": reverse(f"{info}_builder", args=[quote(plan.pk)])})

    def _rows(self, request: HttpRequest, data: dict[str, Any], plan: Plan | None) -> Any:
        patient = plan.patient if plan is not None else self._patient(request, data.get("patient"))
        return patient, builder.check_rows(data.get("rows"), patient=patient, plan=plan)

    def builder_check_view(self, request: HttpRequest) -> JsonResponse:
        """Read back each valid row's dosage, in the patient's language, with the plan's
        time and the clinic's warnings; and what is wrong with the other rows."""
        try:
            data = _json_body(request)
        except BadRequest as error:
            return _refusal(str(error))
        patient, checked = self._rows(request, data, None)
        if checked.problems:
            return _refusal(" ".join(checked.problems))
        summary = builder.describe_rows(
            checked.items, clinic=patient.clinic, language=patient.preferred_language
        )
        rows: list[dict[str, Any]] = []
        texts = iter(zip(summary.pop("texts"), summary.pop("minutes"), strict=True))
        for index in range(len(data.get("rows") or [])):
            if index in checked.errors:
                rows.append({"errors": checked.errors[index]})
            else:
                text, minutes = next(texts)
                rows.append({"text": text, "minutes": minutes})
        return JsonResponse({"ok": True, "rows": rows, **summary})

    def builder_preview_view(self, request: HttpRequest) -> JsonResponse:
        try:
            data = _json_body(request)
        except BadRequest as error:
            return _refusal(str(error))
        patient, checked = self._rows(request, data, None)
        if not checked.ok:
            return _refusal(" ".join(checked.problems) or _("Correct the marked exercises first."))
        if not checked.items:
            return _refusal(_("Add an exercise to see the handout."))
        therapist = self._therapist(patient, request)
        if therapist is None:
            return _refusal(_("The patient has no therapist to sign the handout."))
        plan = builder.new_plan(patient, therapist)
        header = builder.PlanHeaderForm(data=data.get("plan") or {}, instance=plan)
        header.is_valid()  # The preview shows whatever title there is so far.
        plan.title = plan.title or _("Home exercises")
        try:
            png = first_exercise_png(plan, checked.items)
        except (OSError, subprocess.SubprocessError):
            logger.exception("The handout preview could not be drawn.")
            png = None
        if png is None:
            return _refusal(_("The preview could not be drawn on this server."), status=503)
        picture = "data:image/png;base64," + base64.b64encode(png).decode()
        return JsonResponse({"ok": True, "picture": picture})

    def builder_suggestion_view(self, request: HttpRequest, object_id: str) -> JsonResponse:
        """Apply or dismiss a dose suggestion shown on a row (prescriptions.suggestions, as on
        the plan page): applying is one new revision of the saved plan, which the builder
        then carries on from; what is still unsaved in the builder stays unsaved."""
        plan = self._plan(request, object_id)
        if not self.has_change_permission(request, plan):
            raise PermissionDenied
        try:
            data = _json_body(request)
        except BadRequest as error:
            return _refusal(str(error))
        decision, signature = data.get("decision"), data.get("signature")
        if decision not in ("apply", "dismiss") or not isinstance(signature, str):
            return _refusal(_("The request could not be read."))
        if data.get("revision") != plan.revision:
            return _refusal(stale_message(plan.revision), status=409)
        user = request.user
        assert isinstance(user, User)
        try:
            if decision == "apply":
                done = suggestions.apply_suggestion(
                    plan=plan, signature=signature[:64], user=user, request=request
                )
            else:
                done = suggestions.dismiss_suggestion(
                    plan=plan, signature=signature[:64], user=user, request=request
                )
        except ValidationError as error:
            return _refusal(" ".join(error.messages), status=409)
        plan.refresh_from_db(fields=["revision", "updated_at"])
        answer: dict[str, Any] = {"ok": True, "revision": plan.revision}
        if decision == "apply":
            item = done.item
            answer["message"] = _(
                "Applied to %(exercise)s: %(change)s. This is revision %(revision)s of "
                "the plan; the handout is being made again."
            ) % {
                "exercise": done.current.exercise.name,
                "change": "; ".join(done.changes),
                "revision": plan.revision,
            }
            with _in_clinic_of(request, plan.patient):
                [card] = builder.cards_for([done.proposed.exercise.pk], active_only=False)
            answer["row"] = {"id": item.pk, "exercise": card, **done.proposed.values()}
        else:
            answer["message"] = _("Suggestion for %(exercise)s dismissed. Nothing was changed.") % {
                "exercise": done.current.exercise.name
            }
        answer["suggestions"] = suggestion_data(plan)
        return JsonResponse(answer)

    def _save(self, request: HttpRequest, plan: Plan, data: dict[str, Any]) -> JsonResponse:
        creating = plan.pk is None
        if creating and plan.therapist_id is None:
            return _refusal(_("Choose a primary therapist for this patient first."))
        header = builder.PlanHeaderForm(data=data.get("plan") or {}, instance=plan)
        checked = builder.check_rows(
            data.get("rows"), patient=plan.patient, plan=None if creating else plan
        )
        header_ok = header.is_valid()
        if not header_ok or not checked.ok:
            return _refusal(
                " ".join(checked.problems) or _("Nothing was saved: correct the marked fields."),
                plan_errors={k: [str(m) for m in v] for k, v in header.errors.items()},
                row_errors={str(k): v for k, v in checked.errors.items()},
            )
        revision = data.get("revision")
        before = [] if creating else _row_summaries(plan.items.order_by("order"))
        try:
            builder.save_plan(
                header.instance,
                checked.items,
                revision=revision if isinstance(revision, int) else None,
            )
        except builder.StaleRevision as stale:
            return _refusal(stale_message(stale.current), status=409)
        except ValidationError as error:
            return _refusal(" ".join(error.messages))
        plan = header.instance
        self.plan_saved(plan)  # type: ignore[attr-defined]
        changes = audit.form_changes(header)
        after = _row_summaries(checked.items)
        if after != before:
            changes["exercises"] = {"before": before, "after": after}
        if creating:
            self.log_addition(request, plan, _("Created in the plan builder."))
            audit.record(request, audit.Action.CREATE, obj=plan, changes=changes)
        elif changes:
            self.log_change(request, plan, _("Saved in the plan builder."))
            audit.record(request, audit.Action.CHANGE, obj=plan, changes=changes)
        info = f"admin:{self.opts.app_label}_{self.opts.model_name}"
        return JsonResponse(
            {
                "ok": True,
                "revision": plan.revision,
                "handover": reverse(f"{info}_handover", args=[quote(plan.pk)]),
            }
        )

    # --- After saving -----------------------------------------------------------------

    def handover_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """One screen after saving: the handout, the portal invitation, activating."""
        plan = self._plan(request, object_id)
        patient = plan.patient
        info = f"admin:{self.opts.app_label}_{self.opts.model_name}"
        here = reverse(f"{info}_handover", args=[quote(plan.pk)])
        if request.method == "POST":
            if not self.has_change_permission(request, plan):
                raise PermissionDenied
            action = request.POST.get("action")
            if action == "activate":
                before_status = plan.status
                if plans.set_status([plan], Plan.Status.ACTIVE):
                    plan.refresh_from_db()
                    status = {"before": before_status, "after": plan.status}
                    audit.record(request, audit.Action.CHANGE, obj=plan, changes={"status": status})
                    self.plan_saved(plan)  # type: ignore[attr-defined]
                    messages.success(request, _("The plan is active: the patient sees it now."))
            elif action == "email_invitation":
                try:
                    invite_patient(patient=patient, invited_by=request.user, send_email=True)  # type: ignore[arg-type]
                except ValidationError as error:
                    messages.error(request, " ".join(error.messages))
                else:
                    messages.success(
                        request, _("Invitation sent to %(email)s.") % {"email": patient.email}
                    )
            else:
                messages.error(request, _("Unknown action: nothing was changed."))
            return redirect(here)
        items = list(plan.items.select_related("exercise").order_by("order"))
        # What the patient will read: the exercises' names in their language too.
        show_in(items, patient.preferred_language)
        summary = builder.describe_rows(
            items, clinic=patient.clinic, language=patient.preferred_language
        )
        audit.record(request, audit.Action.VIEW, obj=plan, detail="hand-over")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Hand over the plan to %(patient)s") % {"patient": patient.full_name},
            "plan": plan,
            "patient": patient,
            "rows": list(zip(items, summary["texts"], strict=True)),
            "summary": summary,
            "has_portal_login": bool(
                patient.user_id and patient.user and patient.user.has_usable_password()
            ),
            "handout_url": reverse(f"{info}_handout", args=[quote(plan.pk)]),
            "invitation_url": reverse("admin:clinic_patient_portal_invitation", args=[patient.pk]),
            "builder_url": reverse(f"{info}_builder", args=[quote(plan.pk)]),
            "change_url": reverse(f"{info}_change", args=[quote(plan.pk)]),
            "can_change": self.has_change_permission(request, plan),
        }
        return TemplateResponse(request, "admin/prescriptions/plan/handover.html", context)


def stale_message(current: int) -> str:
    return _(
        "A colleague saved this plan while you were editing it (it is now at "
        "revision %(current)d). Nothing was saved: reload the plan to see their "
        "changes, then make yours again."
    ) % {"current": current}


def suggestion_data(plan: Plan) -> dict[str, dict[str, Any]]:
    """Each saved row's dose suggestion as the builder shows it, by plan item id."""
    kinds = {
        suggestions.Kind.PROGRESS: _("Progress"),
        suggestions.Kind.REGRESS: _("Back off"),
        suggestions.Kind.KEEP: _("Keep as it is"),
    }
    return {
        str(s.item.pk): {
            "kind": str(s.kind),
            "label": str(kinds[s.kind]),
            "change": "; ".join(s.changes) if s.actionable else "",
            "reasons": "; ".join(s.reasons),
            "signature": s.signature,
            "actionable": s.actionable,
        }
        for s in suggestions.suggestions_for_plan(plan, plan.patient.clinic.today())
    }


def _protocols(clinic: Clinic) -> QuerySet[PlanTemplate]:
    """The shared protocols and the patient's clinic's own (for a superuser, whose
    scope holds every clinic's, as for a therapist)."""
    return PlanTemplate.objects.filter(Q(clinic=None) | Q(clinic=clinic))


def _in_clinic_of(request: HttpRequest, patient: Patient) -> AbstractContextManager[None]:
    """A superuser works in the patient's clinic's library; a therapist is in it already."""
    if is_superuser(request):
        return scope(patient.clinic)
    return nullcontext()


def _row_summaries(items: Any) -> list[str]:
    """Each row as the audit trail keeps it: the exercise and its numbers (the
    therapist's free-text instructions are left out, as for every text field)."""
    return [
        f"exercise {item.exercise_id}: {item.sets} x {item.reps or '-'}, hold "
        f"{item.hold_seconds or '-'} s, {item.duration_minutes or '-'} min, rest "
        f"{item.rest_seconds} s, {item.side}, {item.times_per_day}/day, "
        f"{item.days_per_week}/week"
        for item in items
    ]


def builder_strings() -> dict[str, str]:
    """The words the builder's JavaScript shows, translated here (%(name)s placeholders)."""
    return {
        "found": _("%(total)s exercises found."),
        "found_one": _("1 exercise found."),
        "some_shown": _(
            "Showing %(shown)s of %(total)s exercises: narrow the search to see the rest."
        ),
        "none_found": _("No exercise matches. Try fewer words or filters."),
        "added": _("Added %(name)s as exercise %(n)s."),
        "removed": _("Removed %(name)s."),
        "moved": _("Moved %(name)s to position %(n)s."),
        "move": _("Move %(name)s"),
        "swapped": _("Swapped %(old)s for %(name)s."),
        "no_easier": _("No easier variant in the library."),
        "no_harder": _("No harder variant in the library."),
        "readback": _("The patient reads: “%(text)s” (about %(minutes)s min)"),
        "full": _("The plan is full: your clinic allows at most %(n)s exercises in a plan."),
        "choose_protocol": _("Choose a protocol first."),
        "not_counted": _("Rows to correct (%(n)s) are not counted yet."),
        "replace_rows": _("Replace the %(n)s exercises in the plan with the protocol's?"),
        "protocol_added": _("Added %(n)s exercises from “%(name)s”."),
        "preparing": _("Preparing the preview…"),
        "starting": _("Starting the plan from the protocol…"),
        "preview_ready": _("The preview is below."),
        "preview_updating": _("Updating the preview…"),
        "preview_current": _("The preview shows the plan as it is now."),
        "saving": _("Saving…"),
        "saved": _("Saved."),
        "failed": _("Something went wrong; nothing was changed. Please try again."),
        "offline": _("The server could not be reached; nothing was saved. Check the connection."),
        "because": _("Because:"),
        "editing": _("Editing revision %(rev)s (%(status)s)."),
        "deciding": _("Recording your decision…"),
    }
