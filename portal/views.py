"""The patient portal: small function views, each scoped to the signed-in patient.

Every view takes the patient from `patient_required`, and every plan, log or
handout is looked up through that patient, so another patient's (or clinic's)
object is simply not found.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.views import LoginView, LogoutView, PasswordResetView
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.db.models import Q, prefetch_related_objects
from django.forms import BoundField
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_http_methods, require_POST

from clinic import audit, throttle
from clinic.errors import RETRY_AFTER_SECONDS, is_unavailable
from clinic.models import Patient, PortalInvitation, patient_for
from clinic.prepared import PreparedQuery
from clinic.scoping import scope, unscoped
from portal import calendar, forms
from portal.fragments import cached_fragment, cached_render, fragment_key
from portal.invitations import (
    InvitationInvalid,
    accept_invitation,
    exchange_token,
    find_invitation,
)
from portal.models import CalendarFeed
from prescriptions import export, safety
from prescriptions.adherence import (
    DayStatus,
    day_by_day,
    day_statuses,
    format_day,
    patient_overview,
    sessions_per_day,
)
from prescriptions.charts import pain_chart_svg
from prescriptions.dosage import describe
from prescriptions.downloads import handout_download
from prescriptions.handouts import prepared_handout_plan
from prescriptions.localise import education_in, phase_in, show_in, with_words_in
from prescriptions.models import (
    EducationPage,
    Exercise,
    Plan,
    PlanItem,
    SessionLog,
    TemplatePhase,
)
from prescriptions.outcomes.responses import due_questionnaires, recent_responses
from prescriptions.recording import EDITABLE_DAYS, check_day, record_session
from prescriptions.templatetags.safety_tags import tier_texts

logger = logging.getLogger(__name__)

PatientView = Callable[..., HttpResponse]

# The calendar on the History page: this many whole weeks, ending this week.
HISTORY_WEEKS = 5
# The message tag of "your session is saved" (see static/portal/session.js).
SAVED_TAG = "session-saved"


def patient_required(view: PatientView) -> Callable[..., HttpResponse]:
    """Sign-in required; staff go to the admin; anyone without an active patient record gets 404."""

    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_staff:
            return redirect("admin:index")
        # Looked up (with the clinic) by the middleware, which entered the clinic's scope.
        patient = patient_for(request)
        if patient is None or not patient.is_active:
            raise Http404
        # The patient's own setting decides the language, not whatever cookie
        # this browser carries (a shared tablet, a new phone); the cookie is
        # refreshed so that the sign-in and error pages follow as well.
        language = patient.preferred_language or settings.LANGUAGE_CODE
        with translation.override(language):
            request.LANGUAGE_CODE = language
            response = view(request, patient, *args, **kwargs)
        cookie = settings.LANGUAGE_COOKIE_NAME
        # A view that changed the language (Settings) has set the cookie itself.
        if request.COOKIES.get(cookie) != language and cookie not in response.cookies:
            _set_language(response, language)
        return response

    return wrapper


def _set_language(response: HttpResponse, language: str) -> HttpResponse:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    return response


class PortalLoginView(LoginView):
    form_class = forms.PortalLoginForm
    template_name = "portal/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: forms.PortalLoginForm) -> HttpResponse:  # type: ignore[override]
        response = super().form_valid(form)
        user = form.get_user()
        if user.is_staff:
            # Therapists work in the admin; the portal is for patients.
            return HttpResponseRedirect(reverse("admin:index"))
        # Signed in during this request, after it began without a clinic scope.
        with unscoped():
            patient = Patient.objects.filter(user=user).only("preferred_language").first()
        if patient is not None:
            _set_language(response, patient.preferred_language)
        return response


class PortalLogoutView(LogoutView):
    """Signing out also clears what this browser kept for the patient: the offline
    copies of their pages, sessions waiting to be sent and kept form entries. The
    page's scripts and the service worker clear them too (static/portal/sw.js);
    the header covers a browser whose scripts did not run to the end."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = '"cache", "storage"'
        return response


def throttled(request: HttpRequest, rule: throttle.Rule) -> HttpResponse:
    audit.record(request, audit.Action.REFUSED, detail=f"rate limit: {rule.name}")
    response = render(request, "portal/throttled.html", status=429)
    response["Retry-After"] = str(int(rule.window.total_seconds()))
    return response


class PortalPasswordResetView(PasswordResetView):
    """Django's reset view, rate-limited per network address and per email address.

    Over the per-address limit the asker is told to wait; over the per-account
    limit nothing is sent but the answer is the usual "check your inbox", the
    same as for an address that has no account."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not throttle.hit(throttle.RESET_PER_ADDRESS, throttle.client_address(request)):
            return throttled(request, throttle.RESET_PER_ADDRESS)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        if not throttle.hit(throttle.RESET_PER_ACCOUNT, form.cleaned_data["email"]):
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)


# ---------------------------------------------------------------------------
# Accepting an invitation


# The session key under which a visitor's invitation token is kept between the
# emailed link and the set-password form.
WELCOME_TOKEN = "portal_welcome_token"  # noqa: S105 (a session key)


@require_http_methods(["GET"])
def welcome(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link. Its token is exchanged at once for a new one kept in this
    browser's session, and the visitor sent on to a page whose URL holds none."""
    # The visitor is not signed in: the token is their credential.
    address = throttle.client_address(request)
    if throttle.blocked(throttle.WELCOME_PER_ADDRESS, address):
        return throttled(request, throttle.WELCOME_PER_ADDRESS)
    try:
        with unscoped():
            invitation = find_invitation(token)
            request.session[WELCOME_TOKEN] = exchange_token(invitation)
    except InvitationInvalid:
        throttle.hit(throttle.WELCOME_PER_ADDRESS, address)
        return render(request, "portal/welcome_invalid.html", status=404)
    return redirect("portal:welcome_form")


@require_http_methods(["GET", "POST"])
def welcome_form(request: HttpRequest) -> HttpResponse:
    token = request.session.get(WELCOME_TOKEN)
    try:
        if not isinstance(token, str):
            raise InvitationInvalid(token)
        with unscoped():
            invitation = find_invitation(token)
    except InvitationInvalid:
        request.session.pop(WELCOME_TOKEN, None)
        return render(request, "portal/welcome_invalid.html", status=404)
    if request.method == "POST" and not throttle.hit(
        throttle.WELCOME_PER_ACCOUNT, invitation.patient_id
    ):
        return throttled(request, throttle.WELCOME_PER_ACCOUNT)
    # The invitation decides the clinic scope for the rest of the request.
    with scope(invitation.patient.clinic):
        return _welcome(request, token, invitation)


def _welcome(request: HttpRequest, token: str, invitation: PortalInvitation) -> HttpResponse:
    user = invitation.patient.user
    assert user is not None
    form = forms.PortalSetPasswordForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = accept_invitation(token, form.cleaned_data["new_password1"])
        except InvitationInvalid:
            return render(request, "portal/welcome_invalid.html", status=404)
        except ValidationError as error:
            form.add_error("new_password1", error)
        else:
            login(request, user, backend="clinic.backends.ProfileBackend")
            request.session.pop(WELCOME_TOKEN, None)
            language = invitation.patient.preferred_language
            # The next page is in the patient's language, so is its welcome message.
            with translation.override(language):
                messages.success(request, _("Your password is set. Welcome!"))
            return _set_language(redirect("portal:today"), language)
    return render(
        request,
        "portal/welcome.html",
        {"form": form, "patient": invitation.patient, "clinic": invitation.patient.clinic},
    )


# ---------------------------------------------------------------------------
# Today and logging a session


# Today reads these on every visit: their SQL is compiled once per connection
# (clinic.prepared). A patient's active plans, newest first (Plan's ordering), and
# the current items of those plans with their exercises' words in a language
# (prescriptions.localise.with_words_in), in their order.
_active_plans = PreparedQuery(
    lambda patient_id: Plan.objects.filter(patient_id=patient_id, status=Plan.Status.ACTIVE)
)
_active_plans_items = PreparedQuery(
    lambda patient_id, language: with_words_in(
        PlanItem.objects.select_related("exercise"), language
    ).filter(plan__patient_id=patient_id, plan__status=Plan.Status.ACTIVE)
)
# The log page's and the session POST's: one active plan's items, as
# `_active_plans_items` reads them, each with the plan.
_active_plan_items = PreparedQuery(
    lambda patient_id, plan_id, language: with_words_in(
        PlanItem.objects.select_related("exercise", "plan"), language
    ).filter(plan__patient_id=patient_id, plan__status=Plan.Status.ACTIVE, plan_id=plan_id)
)
# The sessions logged on a day for the patient's active plans, in their order.
_active_plans_logs_on = PreparedQuery(
    lambda patient_id, day: SessionLog.objects.filter(
        plan__patient_id=patient_id, plan__status=Plan.Status.ACTIVE, date=day
    ).order_by("session_number")
)


# The log page's and the session POST's: the session's row, if it is recorded (at most
# one: SessionLog's constraint).
_session_logged = PreparedQuery(
    lambda plan_id, day, session_number: SessionLog.objects.filter(
        plan_id=plan_id, date=day, session_number=session_number
    )
)


# My plan's: the active plans with their therapist and protocol phase, and the
# paused and completed ones (their handouts).
# My plan's plans: the active ones with their authors and phases, and the earlier
# (paused or completed) ones, which the page lists by title; one query for both.
_plans_for_my_plan = PreparedQuery(
    lambda patient_id: Plan.objects.filter(
        patient_id=patient_id,
        status__in=[Plan.Status.ACTIVE, Plan.Status.PAUSED, Plan.Status.COMPLETED],
    ).select_related("therapist__user", "phase")
)
# My plan's: the reading on the patient's active plans, as plan-page rows, each
# with its page; by title. The pages are the clinic's or the shipped ones (the
# clinic scope's rule for pages, written out: the link rows have no scope).
_active_plans_education = PreparedQuery(
    lambda patient_id, clinic_id: (
        Plan.education.through.objects.filter(
            Q(educationpage__clinic_id=clinic_id) | Q(educationpage__clinic=None),
            plan__patient_id=patient_id,
            plan__status=Plan.Status.ACTIVE,
        )
        .select_related("educationpage")
        .order_by("educationpage__title", "educationpage_id")
    )
)


def _running_plans(patient: Patient, day: datetime.date) -> list[Plan]:
    """The patient's active plans that run on `day`, each with its items (as
    `plan.items.all()`) in the patient's language. Two queries."""
    return _with_items(patient, [p for p in _active_plans(patient.pk) if p.is_running_on(day)])


def _active_plan(patient: Patient, plan_id: int) -> Plan:
    """One of the patient's active plans, with its items as `_running_plans` gives
    them; 404 if the patient has no such active plan. One query: the items with
    their plan (two for a plan without items)."""
    items = list(_active_plan_items(patient.pk, plan_id, patient.preferred_language))
    if items:
        plan = items[0].plan
    else:
        plans = [plan for plan in _active_plans(patient.pk) if plan.pk == plan_id]
        if not plans:
            raise Http404
        plan = plans[0]
    return _attach_items(patient, [plan], {plan.pk: items})[0]


def _with_items(patient: Patient, plans: list[Plan]) -> list[Plan]:
    items: dict[int, list[PlanItem]] = {plan.pk: [] for plan in plans}
    if plans:
        for item in _active_plans_items(patient.pk, patient.preferred_language):
            if item.plan_id in items:
                items[item.plan_id].append(item)
    return _attach_items(patient, plans, items)


def _attach_items(
    patient: Patient, plans: list[Plan], items: dict[int, list[PlanItem]]
) -> list[Plan]:
    # Where prefetch_related("items") would put them (prefetch_one_level in
    # django.db.models.query): the related manager's queryset, already evaluated,
    # with each item's plan set; and each plan's patient, as patient.plans sets it.
    for plan in plans:
        Plan.patient.field.set_cached_value(plan, patient)
        for item in items[plan.pk]:
            PlanItem.plan.field.set_cached_value(item, plan)
        queryset: Any = plan.items.all()
        queryset._result_cache = items[plan.pk]
        queryset._prefetch_done = True
        plan.__dict__.setdefault("_prefetched_objects_cache", {})["items"] = queryset
    return _in_language_of(patient, plans)


def _in_language_of(patient: Patient, plans: list[Plan]) -> list[Plan]:
    """The plans' exercises in the patient's language where it exists (read with the
    items by `_active_plans_items`, so no query here)."""
    show_in([item for plan in plans for item in plan.items.all()], patient.preferred_language)
    return plans


@dataclass
class PlanView:
    """A plan as the patient reads it: its phase and pages in their language."""

    plan: Plan
    items: list[ItemView]
    phase: TemplatePhase | None
    education: list[EducationPage]


@dataclass
class ItemView:
    item: PlanItem
    dosage: str
    fields: list[BoundField] = field(default_factory=list)
    # On the session form: the card's id and what it shows above the set buttons.
    card_id: str = ""
    head: str = ""

    @property
    def one_group(self) -> bool:
        """One row of set buttons (not one per side): the card's heading names it."""
        return len(self.fields) == 1


def _item_views(items: list[PlanItem], form: forms.SessionForm | None) -> list[ItemView]:
    if form is None:
        return [ItemView(item, describe(item)) for item in items]
    # Several plans can share the Today page: the cards' ids carry the form's.
    prefix = slugify(str(form.auto_id))
    views = []
    for item in items:
        card_id = f"{prefix}-{item.pk}"
        views.append(
            ItemView(
                item,
                describe(item),
                form.sets_fields(item),
                card_id=card_id,
                head=exercise_head(item, card_id),
            )
        )
    return views


def _item_words(item: PlanItem) -> dict[str, Any]:
    """What an exercise card shows of its plan row (the dose the timer needs and the
    therapist's words), as plain values for a cached fragment."""
    return {
        "load": item.load,
        "instructions": item.instructions,
        "hold_seconds": item.hold_seconds,
        "reps": item.reps,
        "sets": item.sets,
        "rest_seconds": item.rest_seconds,
        "side": str(item.side),
    }


def exercise_head(item: PlanItem, card_id: str) -> str:
    """What an exercise's card on the session form shows above its set buttons (its
    name, drawings, one session's dose, the steps, the therapist's load and
    instructions, the timer), as a cached fragment: `_exercise_head` is all of it."""
    return cached_fragment(EXERCISE_HEAD, _exercise_head(item, card_id))


EXERCISE_HEAD = "portal/_exercise_head.html"


def _exercise_head(item: PlanItem, card_id: str) -> dict[str, Any]:
    return {
        "card_id": card_id,
        "exercise": _exercise_words(item.exercise),
        "item": _item_words(item),
        # One session's dose (the form says which session it is).
        "session_dosage": str(describe(item, times_a_day=False)),
    }


def plan_card(item: PlanItem, dosage: str, urgent: dict[str, Any]) -> str:
    """An exercise on My plan (its picture, dose, purpose, steps, the therapist's
    words, cautions and stop signs, for nerve work the nerve rule and the urgent red
    flags with the clinic's number, the timer), as a cached fragment: the context
    below is all of it."""
    exercise = item.exercise
    nerve_work = exercise.is_nerve_work
    return cached_fragment(
        "portal/_plan_card.html",
        {
            "exercise": {
                **_exercise_words(exercise),
                "purpose": str(exercise.purpose),
                "caution_list": exercise.caution_list,
                "stop_sign_list": exercise.stop_sign_list,
                "is_nerve_work": nerve_work,
            },
            "item": {
                **_item_words(item),
                "pk": item.pk,
                "order": item.order,
                "tempo": item.tempo,
            },
            "dosage": str(dosage),
            **(urgent if nerve_work else {}),
        },
    )


def _exercise_words(exercise: Exercise) -> dict[str, Any]:
    # What portal/_picture.html and the cards read of an exercise, in the words of the
    # language it is shown in (prescriptions.localise), as plain values. The picture
    # shows its description, or (a placeholder) the category.
    has_picture = exercise.has_picture
    return {
        "name": str(exercise.name),
        "illustration_url": exercise.illustration_url(),
        "has_picture": has_picture,
        "illustration_text": str(exercise.illustration_text()) if has_picture else "",
        "get_category_display": "" if has_picture else str(exercise.get_category_display()),
        "step_list": exercise.step_list,
    }


def _items_for_session(plan: Plan, session_number: int) -> list[PlanItem]:
    return [item for item in plan.items.all() if item.times_per_day >= session_number]


def _form_ids(plan: Plan) -> str:
    # Several plans can share the Today page: keep their field ids apart.
    return f"plan{plan.pk}_%s"


@dataclass
class TodayPlan:
    plan: Plan
    sessions: int
    logs: list[SessionLog]
    next_session: int | None
    # The next session's form: its replay key, and the rest of it rendered.
    form: forms.SessionKeyForm | None
    body: str
    action: str


def _todays_form_body(plan: Plan, items: list[PlanItem], *, fill_all: bool) -> str:
    """Today's session form for `items` after its replay key: the exercise cards with
    their set buttons, "How did it go?" and the button, as a cached fragment. The
    form is unbound and holds no answers (nothing logged yet, nothing sent), so what
    it shows is in the key: each card head's own fragment key, what the form shows of
    the items (SessionForm.shown_of), its field ids and its labels."""
    auto_id = _form_ids(plan)
    # Several plans can share the Today page: the cards' ids carry the form's.
    prefix = slugify(auto_id)
    submit_label = _("Save this session")

    def context() -> dict[str, Any]:
        form = forms.SessionForm(items=items, auto_id=auto_id, fill_all=fill_all)
        return {
            "form": form,
            "items": _item_views(items, form),
            "submit_label": submit_label,
            "fill_all_value": plan.pk,
        }

    key = {
        "heads": [
            fragment_key(EXERCISE_HEAD, _exercise_head(item, f"{prefix}-{item.pk}"))
            for item in items
        ],
        "items": forms.SessionForm.shown_of(items, fill_all=fill_all),
        "auto_id": auto_id,
        "submit_label": submit_label,
        "fill_all_value": plan.pk,
    }
    return cached_render("portal/_session_form_body.html", key, context)


@patient_required
@require_http_methods(["GET"])
def today(request: HttpRequest, patient: Patient) -> HttpResponse:
    day = patient.clinic.today()
    plans = _running_plans(patient, day)
    logs_today: dict[int, list[SessionLog]] = {plan.pk: [] for plan in plans}
    for log in _active_plans_logs_on(patient.pk, day) if plans else []:
        if log.plan_id in logs_today:
            logs_today[log.plan_id].append(log)
    cards = []
    for plan in plans:
        sessions = sessions_per_day(plan.items.all())
        logs = logs_today.get(plan.pk, [])
        done = {log.session_number for log in logs}
        next_session = next((n for n in range(1, sessions + 1) if n not in done), None)
        form, body = None, ""
        if next_session is not None:
            form = forms.SessionKeyForm(auto_id=_form_ids(plan))
            body = _todays_form_body(
                plan,
                _items_for_session(plan, next_session),
                fill_all=request.GET.get("all") == str(plan.pk),
            )
        cards.append(
            TodayPlan(
                plan=plan,
                sessions=sessions,
                logs=logs,
                next_session=next_session,
                form=form,
                body=body,
                action=reverse("portal:log", args=[plan.pk, day.isoformat(), next_session or 1]),
            )
        )
    return render(
        request,
        "portal/today.html",
        {
            "patient": patient,
            "day": day,
            "cards": cards,
            "questionnaires": due_questionnaires(patient, day),
        },
    )


def _errors_into_form(form: forms.SessionForm, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


@patient_required
@require_http_methods(["GET", "POST"])
def log_session(
    request: HttpRequest, patient: Patient, plan_id: int, day: str, session_number: int
) -> HttpResponse:
    # A session kept on the phone while offline, sent by the service worker
    # (static/portal/sw.js): answered in JSON, as no page will show the answer.
    queued = request.method == "POST" and request.headers.get("X-Rehabit-Queued") == "1"
    try:
        plan = _active_plan(patient, plan_id)
        try:
            date = datetime.date.fromisoformat(day)
        except ValueError:
            raise Http404 from None
        if not 1 <= session_number <= sessions_per_day(plan.items.all()):
            raise Http404
    except Http404:
        if queued:
            return _queued_answer(
                "refused", _("This plan is no longer active, so the session cannot be saved."), 404
            )
        raise
    if queued and _already_recorded(plan, request.POST.get("idempotency_key", "")):
        # Sent before, but the answer never reached the phone.
        return _queued_answer("saved", "", 200)
    try:
        check_day(plan, date)
    except ValidationError as error:
        if queued:
            return _queued_answer("refused", " ".join(error.messages), 409)
        messages.error(request, " ".join(error.messages))
        return redirect("portal:history")

    items = _items_for_session(plan, session_number)
    unavailable = False
    if request.method == "POST":
        # The form shows what was sent, so it needs no earlier answers; record_session
        # reads the session's row itself, and says whether it was recorded already.
        form = forms.SessionForm(request.POST, items=items, auto_id=_form_ids(plan))
        if form.is_valid():
            data = form.cleaned_data
            try:
                recorded = record_session(
                    plan=plan,
                    date=date,
                    session_number=session_number,
                    idempotency_key=data["idempotency_key"],
                    pain=data["pain"],
                    nerve_symptoms=data["nerve_symptoms"],
                    symptoms_lasted=data["symptoms_lasted"],
                    symptoms_minutes=data["symptoms_minutes"],
                    effort=data["effort"],
                    comment=data["comment"],
                    sets=form.sets_done(),
                )
            except ValidationError as error:
                _errors_into_form(form, error)
            except DatabaseError as error:
                if not is_unavailable(error):
                    raise
                if queued:
                    return _queued_answer("busy", "", 503)
                # The database cannot take the entry now (locked, full, restarting):
                # the form comes back filled in, with a 503 and when to try again.
                logger.warning("Session log not saved, the database is unavailable: %s", error)
                form.add_error(
                    None,
                    _(
                        "Your session could not be saved just now: the server is busy. "
                        "Nothing is lost: please send it again in a minute."
                    ),
                )
                unavailable = True
            else:
                if queued:
                    return _queued_answer("saved", "", 200)
                # The tag tells the page's script that the kept copy of this form
                # (static/portal/session.js) can go.
                if not recorded.already_recorded:
                    messages.success(
                        request, _("Well done! Your session is saved."), extra_tags=SAVED_TAG
                    )
                else:
                    messages.success(request, _("Your changes are saved."), extra_tags=SAVED_TAG)
                if date == patient.clinic.today():
                    return redirect("portal:today")
                return redirect("portal:history")
        if queued:
            return _queued_answer("refused", " ".join(_error_messages(form)), 400)
        # The form comes back, headed by whether the session is recorded.
        log = _logged_or_none(plan, date, session_number, unavailable=unavailable)
    else:
        logs = _session_logged(plan.pk, date, session_number)
        log = logs[0] if logs else None
        if log is not None:
            prefetch_related_objects([log], "exercises")
        form = forms.SessionForm(
            items=items, log=log, auto_id=_form_ids(plan), fill_all="all" in request.GET
        )
    response = render(
        request,
        "portal/log.html",
        {
            "patient": patient,
            "plan": plan,
            "date": date,
            "is_today": date == patient.clinic.today(),
            "session_number": session_number,
            "sessions": sessions_per_day(plan.items.all()),
            "log": log,
            "form": form,
            "items": _item_views(items, form),
            "session_range": range(1, sessions_per_day(plan.items.all()) + 1),
        },
        status=503 if unavailable else 400 if request.method == "POST" else 200,
    )
    if unavailable:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _logged_or_none(
    plan: Plan, date: datetime.date, session_number: int, *, unavailable: bool
) -> SessionLog | None:
    try:
        logs = _session_logged(plan.pk, date, session_number)
    except DatabaseError as error:
        # The database that could not take the entry may not answer this either: the
        # form still comes back (headed as a new session) with its 503.
        if not (unavailable and is_unavailable(error)):
            raise
        return None
    return logs[0] if logs else None


def _queued_answer(status: str, message: str, code: int) -> JsonResponse:
    return JsonResponse({"status": status, "message": message}, status=code)


def _already_recorded(plan: Plan, key: str) -> bool:
    try:
        uuid_key = uuid.UUID(key)
    except ValueError:
        return False
    return plan.session_logs.filter(idempotency_key=uuid_key).exists()


def _error_messages(form: forms.SessionForm) -> list[str]:
    return [str(message) for errors in form.errors.values() for message in errors]


@patient_required
@require_http_methods(["POST"])
def keep_alive(request: HttpRequest, patient: Patient) -> HttpResponse:
    """Sent by the session form's script while the patient is busy with it (fields
    changing, a timer running): the sign-in starts its idle time again, so it does
    not expire in the middle of a session. A phone left alone sends nothing."""
    request.session.modified = True
    return HttpResponse(status=204)


# ---------------------------------------------------------------------------
# My plan and the handout


@patient_required
@require_http_methods(["GET"])
def my_plan(request: HttpRequest, patient: Patient) -> HttpResponse:
    plans: list[Plan] = []
    earlier: list[Plan] = []
    for plan in _plans_for_my_plan(patient.pk):
        (plans if plan.status == Plan.Status.ACTIVE else earlier).append(plan)
    plans = _with_items(patient, plans)
    reading: dict[int, list[EducationPage]] = {plan.pk: [] for plan in plans}
    if plans:
        for row in _active_plans_education(patient.pk, patient.clinic_id):
            # A plan made active since the plans were read waits for the next visit.
            if row.plan_id in reading:
                reading[row.plan_id].append(row.educationpage)
    language = patient.preferred_language
    # What the nerve exercises' cards repeat, once for the page.
    urgent = {
        "nerve_rule": str(safety.NERVE_SETTLE_RULE),
        "urgent_tiers": tier_texts(patient.clinic, urgent_only=True),
    }
    sections = [
        PlanView(
            plan=plan,
            items=[
                ItemView(item, dosage, head=plan_card(item, dosage, urgent))
                for item in plan.items.all()
                for dosage in [describe(item)]
            ],
            phase=phase_in(plan.phase, language),
            education=education_in(reading[plan.pk], language),
        )
        for plan in plans
    ]
    return render(
        request,
        "portal/plan.html",
        {
            "patient": patient,
            "sections": sections,
            "earlier": earlier,
            # The red-flag tiers with the clinic's number, above each plan.
            "warning_signs": cached_fragment(
                "prescriptions/_red_flags.html",
                {"tiers": tier_texts(patient.clinic), "urgent_only": False},
            )
            if sections
            else "",
        },
    )


# The patient's own plan, read as the handout needs it. Drafts are the therapist's
# work in progress, not the patient's plan yet.
_handout_plan = prepared_handout_plan(
    lambda patient_id, plan_id: Plan.objects.filter(patient_id=patient_id, pk=plan_id).exclude(
        status=Plan.Status.DRAFT
    )
)


@patient_required
@require_http_methods(["GET"])
def handout(request: HttpRequest, patient: Patient, plan_id: int) -> HttpResponse:
    plan = _handout_plan(patient.pk, plan_id)
    if plan is None:
        raise Http404
    return handout_download(
        request, plan, template="portal/handout_pending.html", context={"patient": patient}
    )


# ---------------------------------------------------------------------------
# History


@dataclass
class CalendarDay:
    date: datetime.date
    status: str  # a DayStatus, or "outside" (no plan that day) or "future"
    label: str
    edit_url: str | None
    long_date: str  # as the page writes a day ("Monday 2 March")


STATUS_LABELS = {
    DayStatus.DONE: gettext_lazy("Done"),
    DayStatus.PARTLY: gettext_lazy("Partly done"),
    DayStatus.MISSED: gettext_lazy("Missed"),
    DayStatus.PENDING: gettext_lazy("Not yet"),
    DayStatus.REST: gettext_lazy("Rest day"),
    "outside": gettext_lazy("No plan"),
    "future": "",
}


def _calendar(
    plan: Plan | None,
    today: datetime.date,
    statuses: dict[datetime.date, DayStatus],
    today_so_far: dict[str, int] | None = None,
    *,
    long_format: str,
) -> list[list[CalendarDay]]:
    """The History calendar. Each day's status comes from the adherence rules
    (prescriptions.adherence.day_statuses), as the percentages above it do."""
    first = today - datetime.timedelta(days=today.weekday() + 7 * (HISTORY_WEEKS - 1))
    oldest_editable = today - datetime.timedelta(days=EDITABLE_DAYS)
    weeks: list[list[CalendarDay]] = []
    for week in range(HISTORY_WEEKS):
        row = []
        for weekday in range(7):
            day = first + datetime.timedelta(days=7 * week + weekday)
            status: str
            if day > today:
                status = "future"
            elif plan is None or day not in statuses or not plan.is_running_on(day):
                status = "outside"
            else:
                status = statuses[day]
            editable = (
                plan is not None
                and plan.status == Plan.Status.ACTIVE
                and status not in {"future", "outside"}
                and day >= oldest_editable
            )
            row.append(
                CalendarDay(
                    date=day,
                    status=status,
                    label=_("%(done)s of %(due)s so far") % today_so_far
                    if today_so_far and day == today
                    else str(STATUS_LABELS[status]),
                    edit_url=reverse("portal:log", args=[plan.pk, day.isoformat(), 1])
                    if editable and plan is not None
                    else None,
                    long_date=format_day(day, long_format),
                )
            )
        weeks.append(row)
    return weeks


# History's recent sessions, with their plans (whether each can still be changed).
_logs_since = PreparedQuery(
    lambda patient_id, since: (
        SessionLog.objects.filter(plan__patient_id=patient_id, date__gte=since)
        .select_related("plan")
        .order_by("-date", "-session_number")
    )
)


@patient_required
@require_http_methods(["GET"])
def history(request: HttpRequest, patient: Patient) -> HttpResponse:
    day = patient.clinic.today()
    # The newest active plan (Plan's ordering), with its items for the calendar.
    newest = _active_plans(patient.pk)[:1]
    plan = _with_items(patient, newest)[0] if newest else None
    first = day - datetime.timedelta(days=day.weekday() + 7 * (HISTORY_WEEKS - 1))
    statuses = {}
    today_so_far = None
    if plan is not None:
        records = day_by_day(plan, first, day)
        statuses = dict(zip((r.date for r in records), day_statuses(records, day), strict=True))
        # Today is not over: "1 of 2 so far", not "partly done" or "not yet".
        if records and records[-1].date == day and records[-1].due > 0:
            done, due = min(records[-1].done, records[-1].due), records[-1].due
            if done < due:
                today_so_far = {"done": done, "due": due}
    overview = patient_overview(patient, day)
    recent = _logs_since(patient.pk, day - datetime.timedelta(days=EDITABLE_DAYS))
    oldest_editable = day - datetime.timedelta(days=EDITABLE_DAYS)
    # The page's dates (format_day: each formatted once a process).
    # Translators: letters of Django's date filter; "l j F" prints "Monday 2 March".
    long_format = pgettext("date format", "l j F")
    # Translators: letters of Django's date filter; "j F" prints "2 March".
    short_format = pgettext("date format", "j F")
    entries = [
        (
            log,
            reverse("portal:log", args=[log.plan_id, log.date.isoformat(), log.session_number])
            if log.plan.status == Plan.Status.ACTIVE and log.date >= oldest_editable
            else None,
            format_day(log.date, long_format),
            format_day(log.date, short_format),
        )
        for log in recent
    ]
    return render(
        request,
        "portal/history.html",
        {
            "patient": patient,
            "plan": plan,
            "today": day,
            "weeks": _calendar(plan, day, statuses, today_so_far, long_format=long_format),
            "today_so_far": today_so_far,
            "editable_days": EDITABLE_DAYS,
            # Each column's day of the week, written out and short ("Monday", "Mon").
            "weekdays": [
                (format_day(weekday, "l"), format_day(weekday, "D"))
                for weekday in (first + datetime.timedelta(days=n) for n in range(7))
            ],
            "overview": overview,
            "pain_chart": pain_chart_svg(
                overview.pain_series, title=_("Your pain over the last 4 weeks")
            ),
            "entries": entries,
            "questionnaires": recent_responses(patient, day),
        },
    )


# ---------------------------------------------------------------------------
# Settings


@patient_required
@require_http_methods(["GET", "POST"])
def portal_settings(request: HttpRequest, patient: Patient) -> HttpResponse:
    form = forms.PortalSettingsForm(request.POST or None, instance=patient)
    if request.method == "POST":
        if form.is_valid():
            form.save()
            language = form.cleaned_data["preferred_language"]
            translation.activate(language)
            messages.success(request, _("Your settings are saved."))
            return _set_language(redirect("portal:settings"), language)
        return render(
            request, "portal/settings.html", _settings_context(request, patient, form), status=400
        )
    return render(request, "portal/settings.html", _settings_context(request, patient, form))


_NEW_CALENDAR_URL = "rehabit_new_calendar_url"


def _settings_context(
    request: HttpRequest, patient: Patient, form: forms.PortalSettingsForm
) -> dict[str, Any]:
    feed = CalendarFeed.objects.filter(patient=patient).first()
    # The new address is shown once, on the page the patient is sent to after making it.
    new_url = request.session.pop(_NEW_CALENDAR_URL, None)
    if feed is None or not (isinstance(new_url, str) and feed.key in new_url):
        new_url = None
    return {
        "patient": patient,
        "form": form,
        "calendar_feed": feed,
        "calendar_url": new_url,
        # The same address for calendar apps that open webcal: links (http or https).
        "calendar_webcal": "webcal://" + new_url.split("://", 1)[1] if new_url else "",
    }


@patient_required
@require_POST
def calendar_settings(request: HttpRequest, patient: Patient) -> HttpResponse:
    """Turn the private calendar address on, make a new one, or turn it off."""
    action = request.POST.get("action")
    if action == "off":
        if calendar.turn_off(patient=patient):
            messages.success(
                request,
                _("Your calendar address is turned off. Calendars that used it stop updating."),
            )
        return redirect(reverse("portal:settings") + "#calendar")
    if action not in ("on", "new"):
        messages.error(request, _("Choose what to do with your calendar address."))
        return redirect(reverse("portal:settings") + "#calendar")
    key, secret = calendar.new_feed(patient=patient)
    request.session[_NEW_CALENDAR_URL] = request.build_absolute_uri(
        reverse("portal:calendar_feed", args=[key, secret])
    )
    if action == "new":
        messages.success(
            request, _("Here is your new calendar address. The old one no longer works.")
        )
    return redirect(reverse("portal:settings") + "#calendar")


def calendar_feed(request: HttpRequest, key: str, secret: str) -> HttpResponse:
    """The feed a calendar app reads, without signing in: the address is the key.

    A wrong or revoked address is a 404, refused after a constant-time comparison.
    """
    if request.method not in ("GET", "HEAD"):
        raise Http404
    # The address decides whose feed it is (and so the clinic's scope).
    with unscoped():
        feed = CalendarFeed.objects.select_related("patient__clinic").filter(key=key[:32]).first()
    if not CalendarFeed.secret_matches(feed, secret) or feed is None:
        raise Http404
    patient = feed.patient
    if not patient.is_active:
        raise Http404
    with scope(patient.clinic):
        body = calendar.feed_ics(
            patient,
            request.build_absolute_uri(reverse("portal:today")),
            host=request.get_host().split(":")[0],
        )
        CalendarFeed.objects.filter(pk=feed.pk).update(last_fetched_at=timezone.now())
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="exercises.ics"'
    response["Cache-Control"] = "private, max-age=900"
    response["X-Robots-Tag"] = "noindex"
    return response


@patient_required
@require_http_methods(["GET"])
def download_my_data(request: HttpRequest, patient: Patient) -> HttpResponse:
    """Everything Rehabit holds about the patient, as a zip (prescriptions.export)."""
    data = export.export_zip(patient)
    audit.record(request, audit.Action.EXPORT, patient=patient, detail="data export (portal)")
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = content_disposition_header(
        True, export.export_filename(patient, patient.clinic.today())
    )
    response["Cache-Control"] = "private, no-store"
    return response
