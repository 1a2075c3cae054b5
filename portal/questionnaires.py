"""Outcome questionnaires in the portal: one question per screen, no JavaScript needed.

Start (POST) opens the response for the occasion that is due; each question is
its own page whose form POSTs one answer and redirects to the next question;
the last page lists the answers, each with a link to change it, and sends the
questionnaire. A sent questionnaire can be corrected from the History page for
EDITABLE_DAYS days. Every lookup goes through the signed-in patient.
"""

from __future__ import annotations

import datetime

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from clinic.models import Patient
from portal.views import patient_required
from prescriptions.models import OutcomeMeasure, QuestionnaireResponse
from prescriptions.outcomes import responses as outcome_responses
from prescriptions.outcomes.library import Item
from prescriptions.recording import EDITABLE_DAYS


class AnswerForm(forms.Form):
    """One question: its answers as large radio buttons."""

    answer = forms.TypedChoiceField(
        coerce=int,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
        error_messages={
            "required": gettext_lazy("Choose one of the answers shown."),
            "invalid_choice": gettext_lazy("Choose one of the answers shown."),
        },
    )

    def __init__(self, *args: object, item: Item, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["answer"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = item.scale.choices()
        field.label = item.text


def _response_for(patient: Patient, response_id: int) -> QuestionnaireResponse:
    return get_object_or_404(
        QuestionnaireResponse.objects.select_related("measure__plan__patient__clinic"),
        pk=response_id,
        measure__plan__patient=patient,
    )


def _step_url(response: QuestionnaireResponse, step: int) -> str:
    return reverse("portal:questionnaire_step", args=[response.pk, step])


def _review_url(response: QuestionnaireResponse) -> str:
    return reverse("portal:questionnaire_review", args=[response.pk])


@patient_required
@require_POST
def start(request: HttpRequest, patient: Patient, measure_id: int) -> HttpResponse:
    """Open (or reopen) the due occasion of a measure and go to its first unanswered question."""
    measure = get_object_or_404(
        OutcomeMeasure.objects.select_related("plan"), pk=measure_id, plan__patient=patient
    )
    today = patient.clinic.today()
    due = {d.measure.pk: d for d in outcome_responses.due_questionnaires(patient, today)}
    if measure.pk not in due:
        messages.info(request, _("This questionnaire is not due at the moment."))
        return redirect("portal:today")
    response = outcome_responses.open_response(measure, due[measure.pk].occasion)
    missing = outcome_responses.missing_questions(response)
    if not missing:
        return redirect(_review_url(response))
    items = outcome_responses.questions(response)
    return redirect(_step_url(response, items.index(missing[0]) + 1))


@patient_required
@require_http_methods(["GET", "POST"])
def step(request: HttpRequest, patient: Patient, response_id: int, number: int) -> HttpResponse:
    response = _response_for(patient, response_id)
    items = outcome_responses.questions(response)
    if not 1 <= number <= len(items):
        raise Http404
    today = patient.clinic.today()
    if not outcome_responses.is_editable(response, today):
        messages.error(request, _("This questionnaire can no longer be changed."))
        return redirect("portal:today")
    item = items[number - 1]
    completed = response.status == QuestionnaireResponse.Status.COMPLETED
    initial = {"answer": response.answers.get(item.link_id)}
    data = request.POST if request.method == "POST" else None
    form = AnswerForm(data, item=item, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            outcome_responses.save_answer(
                response, link_id=item.link_id, value=form.cleaned_data["answer"], today=today
            )
        except ValidationError as error:
            form.add_error("answer", error)
        else:
            if completed:
                messages.success(request, _("Your change is saved."))
                return redirect(_review_url(response))
            if number < len(items):
                return redirect(_step_url(response, number + 1))
            return redirect(_review_url(response))
    measure = response.measure
    return render(
        request,
        "portal/questionnaire_step.html",
        {
            "patient": patient,
            "response": response,
            "instrument": measure.definition,
            "form": form,
            "number": number,
            "total": len(items),
            "previous_url": _step_url(response, number - 1) if number > 1 else None,
            "completed": completed,
        },
        status=400 if request.method == "POST" else 200,
    )


@patient_required
@require_http_methods(["GET", "POST"])
def review(request: HttpRequest, patient: Patient, response_id: int) -> HttpResponse:
    response = _response_for(patient, response_id)
    today = patient.clinic.today()
    editable = outcome_responses.is_editable(response, today)
    completed = response.status == QuestionnaireResponse.Status.COMPLETED
    if request.method == "POST":
        if completed:
            return redirect("portal:history")
        try:
            outcome_responses.complete(response, today=today)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            missing = outcome_responses.missing_questions(response)
            if missing and editable:
                items = outcome_responses.questions(response)
                return redirect(_step_url(response, items.index(missing[0]) + 1))
            return redirect("portal:today")
        messages.success(request, _("Thank you! Your answers are sent to your therapist."))
        return redirect("portal:today")
    if not completed and not editable:
        messages.error(request, _("This questionnaire can no longer be changed."))
        return redirect("portal:today")
    rows = [
        (
            number,
            item,
            item.scale.label(response.answers[item.link_id])
            if item.link_id in response.answers
            else None,
            _step_url(response, number) if editable else None,
        )
        for number, item in enumerate(outcome_responses.questions(response), start=1)
    ]
    sent = outcome_responses.answered_on(response)
    return render(
        request,
        "portal/questionnaire_review.html",
        {
            "patient": patient,
            "response": response,
            "instrument": response.measure.definition,
            "rows": rows,
            "completed": completed,
            "editable": editable,
            "sent_on": sent,
            "editable_until": sent + datetime.timedelta(days=EDITABLE_DAYS) if sent else None,
            "all_answered": all(row[2] is not None for row in rows),
        },
    )
