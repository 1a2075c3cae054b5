"""Answering outcome questionnaires, and the scores a therapist follows over time.

A questionnaire is due for a patient when one of their running, active plans
has an OutcomeMeasure whose newest occasion is open today and not yet
completed; older occasions that went unanswered are not shown any more (a
patient is never faced with a backlog). Answers are saved one at a time (one
question per screen), then the patient sends the whole questionnaire, which is
scored (scoring.py). A completed questionnaire can be corrected for
EDITABLE_DAYS days after it was sent, like a session.
"""

from __future__ import annotations

import datetime
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.models import Patient
from clinic.prepared import PreparedQuery
from prescriptions.models import Occasion, OutcomeMeasure, Plan, QuestionnaireResponse
from prescriptions.outcomes.library import Item
from prescriptions.outcomes.scoring import check_answers, score
from prescriptions.recording import EDITABLE_DAYS


@dataclass(frozen=True)
class DueQuestionnaire:
    measure: OutcomeMeasure
    occasion: Occasion
    response: QuestionnaireResponse | None  # None: not started yet

    @property
    def answered(self) -> int:
        return len(self.response.answers) if self.response is not None else 0

    @property
    def questions(self) -> int:
        activities = self.response.activities if self.response else self.measure.activity_list
        return len(self.measure.definition.items(activities))


# The Today page asks on every visit: SQL compiled once per connection (clinic.prepared).
_measures_of_active_plans = PreparedQuery(
    lambda patient_id: (
        OutcomeMeasure.objects.filter(plan__patient_id=patient_id, plan__status=Plan.Status.ACTIVE)
        .select_related("plan")
        .order_by("plan__start_date", "pk")
    )
)


def measures_of_running_plans(patient: Patient, today: datetime.date) -> list[OutcomeMeasure]:
    """The measures of the patient's active plans that run today, with their responses.
    One query, and one more for the responses when there are such measures."""
    measures = [m for m in _measures_of_active_plans(patient.pk) if m.plan.is_running_on(today)]
    prefetch_related_objects(
        measures,
        Prefetch("responses", queryset=QuestionnaireResponse.objects.order_by("due_date")),
    )
    return measures


def due_questionnaires(patient: Patient, today: datetime.date) -> list[DueQuestionnaire]:
    """What the Today page asks the patient to answer. Two queries."""
    due = []
    for measure in measures_of_running_plans(patient, today):
        occasion = measure.current_occasion(today)
        if occasion is None:
            continue
        response = next(
            (r for r in measure.responses.all() if r.due_date == occasion.due_date), None
        )
        if response is not None and response.status == QuestionnaireResponse.Status.COMPLETED:
            continue
        due.append(DueQuestionnaire(measure, occasion, response))
    return due


def questions(response: QuestionnaireResponse) -> tuple[Item, ...]:
    """The response's questions in order (the PSFS activities as they were asked)."""
    return response.measure.definition.items(response.activities)


def answered_on(response: QuestionnaireResponse) -> datetime.date | None:
    """The day (in the clinic's time zone) the questionnaire was sent."""
    if response.completed_at is None:
        return None
    zone = zoneinfo.ZoneInfo(response.measure.plan.patient.clinic.time_zone)
    return timezone.localtime(response.completed_at, zone).date()


def is_editable(response: QuestionnaireResponse, today: datetime.date) -> bool:
    """In progress while its occasion is current; once sent, for EDITABLE_DAYS days."""
    measure = response.measure
    if measure.plan.status != Plan.Status.ACTIVE:
        return False
    if response.status == QuestionnaireResponse.Status.COMPLETED:
        sent = answered_on(response)
        return sent is not None and sent >= today - datetime.timedelta(days=EDITABLE_DAYS)
    current = measure.current_occasion(today)
    return current is not None and current.due_date == response.due_date


@transaction.atomic
def open_response(measure: OutcomeMeasure, occasion: Occasion) -> QuestionnaireResponse:
    """The response for this occasion, started now if it was not."""
    existing = measure.responses.filter(due_date=occasion.due_date).first()
    if existing is not None:
        return existing
    response = QuestionnaireResponse(
        measure=measure, due_date=occasion.due_date, activities=measure.activity_list
    )
    try:
        with transaction.atomic():
            response.save(force_insert=True)
    except IntegrityError:
        # Two tabs started it at once: the other one won.
        return measure.responses.get(due_date=occasion.due_date)
    return response


@transaction.atomic
def save_answer(
    response: QuestionnaireResponse, *, link_id: str, value: int, today: datetime.date
) -> QuestionnaireResponse:
    """Record one answer. A correction to a sent questionnaire scores it again."""
    if not is_editable(response, today):
        raise ValidationError(_("This questionnaire can no longer be changed."), "closed")
    try:
        check_answers(questions(response), {link_id: value})
    except ValueError:
        raise ValidationError(_("Choose one of the answers shown."), "invalid") from None
    response.answers = {**response.answers, link_id: value}
    if response.status == QuestionnaireResponse.Status.COMPLETED:
        response.score = _score(response)
        response.save(update_fields=["answers", "score", "updated_at"])
        flag_worse_scores(response.measure)
    else:
        response.save(update_fields=["answers", "updated_at"])
    return response


def _score(response: QuestionnaireResponse) -> Decimal | None:
    return score(response.measure.definition, questions(response), response.answers)


def missing_questions(response: QuestionnaireResponse) -> list[Item]:
    return [item for item in questions(response) if item.link_id not in response.answers]


@transaction.atomic
def complete(response: QuestionnaireResponse, *, today: datetime.date) -> QuestionnaireResponse:
    """Send the questionnaire: every question answered, scored, and compared with the first."""
    if not is_editable(response, today):
        raise ValidationError(_("This questionnaire can no longer be changed."), "closed")
    if missing_questions(response):
        raise ValidationError(_("Please answer every question first."), "incomplete")
    response.score = _score(response)
    if response.status != QuestionnaireResponse.Status.COMPLETED:
        response.status = QuestionnaireResponse.Status.COMPLETED
        response.completed_at = timezone.now()
    response.save()
    flag_worse_scores(response.measure)
    return response


def flag_worse_scores(measure: OutcomeMeasure) -> None:
    """Mark each score that is worse than the measure's first by at least the MCID.

    For a change scale (GROC) the score is already a change since the start, so
    a score at or below minus the MCID is worse.
    """
    instrument = measure.definition
    rows = list(
        QuestionnaireResponse.objects.completed()
        .filter(measure=measure)
        .exclude(score=None)
        .order_by("due_date")
    )
    changed = []
    for index, row in enumerate(rows):
        assert row.score is not None
        if instrument.change_scale:
            worse = instrument.is_worse(float(row.score))
        else:
            first = rows[0].score
            assert first is not None
            worse = index > 0 and instrument.is_worse(float(row.score - first))
        if row.worse_by_mcid != worse:
            row.worse_by_mcid = worse
            changed.append(row)
    QuestionnaireResponse.objects.bulk_update(changed, ["worse_by_mcid"])


def score_series(measure: OutcomeMeasure) -> list[tuple[datetime.date, Decimal]]:
    """The measure's scores by occasion, oldest first (from prefetched responses if any)."""
    return [
        (r.due_date, r.score)
        for r in sorted(measure.responses.all(), key=lambda r: r.due_date)
        if r.status == QuestionnaireResponse.Status.COMPLETED and r.score is not None
    ]


_sent_since = PreparedQuery(
    lambda patient_id, since: (
        QuestionnaireResponse.objects.completed()
        .filter(measure__plan__patient_id=patient_id, completed_at__gte=since)
        .select_related("measure__plan__patient__clinic")
        .order_by("-completed_at")
    )
)


def recent_responses(patient: Patient, today: datetime.date) -> list[QuestionnaireResponse]:
    """Questionnaires the patient sent in the last EDITABLE_DAYS days (History). One
    query, compiled once (clinic.prepared)."""
    return _sent_since(patient.pk, timezone.now() - datetime.timedelta(days=EDITABLE_DAYS + 1))
