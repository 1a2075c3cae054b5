"""Recording a home session: the one write the patient portal makes.

A session is (plan, date, session number). Recording it again is a correction:
the latest answers replace the earlier ones. Sending the *same form* twice (a
double tap, a double submit, the back button) is recognised by its idempotency
key and changes nothing. Two requests racing to create the same session meet
the database's unique constraint; the loser returns the winner's record.

The logging rules are judged on the clinic's calendar, not the server's:
nothing in the future, nothing outside the plan's dates, and only today and the
previous `EDITABLE_DAYS` days can be written.
"""

from __future__ import annotations

import datetime
import uuid

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from prescriptions.models import SETS_MAX, ExerciseLog, Plan, PlanItem, SessionLog, Side

# Today plus this many days before it can be recorded or corrected.
EDITABLE_DAYS = 7
PAIN_MAX = 10
SYMPTOM_MINUTES_MAX = 24 * 60
COMMENT_MAX = 2000

# (sets done, sets done on the left, sets done on the right); the sides are
# only used for items done on each side.
SetsDone = tuple[int | None, int | None, int | None]


def editable_window(plan: Plan) -> tuple[datetime.date, datetime.date]:
    """The first and last day the patient may write for this plan today (may be empty)."""
    today = plan.patient.clinic.today()
    first = max(today - datetime.timedelta(days=EDITABLE_DAYS), plan.start_date)
    last = today if plan.end_date is None else min(today, plan.end_date)
    return first, last


def sessions_per_day(plan: Plan) -> int:
    """How many sessions a day the plan asks for: its most frequent exercise."""
    most = plan.items.aggregate(most=Max("times_per_day"))["most"]
    return most or 1


def check_day(plan: Plan, day: datetime.date) -> None:
    """Raise ValidationError unless the patient may write a session for `day`."""
    if plan.status != Plan.Status.ACTIVE:
        raise ValidationError(_("This plan is not active, so it cannot be logged."), "inactive")
    today = plan.patient.clinic.today()
    if day > today:
        raise ValidationError(_("You cannot log a day that has not happened yet."), "future")
    if day < plan.start_date:
        raise ValidationError(
            _("Your plan started on %(start)s; you cannot log days before that.")
            % {"start": plan.start_date.isoformat()},
            "before_start",
        )
    if plan.end_date is not None and day > plan.end_date:
        raise ValidationError(
            _("Your plan ended on %(end)s; you cannot log days after that.")
            % {"end": plan.end_date.isoformat()},
            "after_end",
        )
    if day < today - datetime.timedelta(days=EDITABLE_DAYS):
        raise ValidationError(_("Only today and the 7 days before it can be changed."), "too_old")


def _check_values(
    *,
    plan: Plan,
    session_number: int,
    pain: int,
    nerve_symptoms: str,
    symptoms_lasted: bool,
    symptoms_minutes: int | None,
    effort: str,
    comment: str,
) -> None:
    errors: dict[str, str] = {}
    if not 1 <= session_number <= sessions_per_day(plan):
        errors["session_number"] = _("This plan does not have that session today.")
    if not 0 <= pain <= PAIN_MAX:
        errors["pain"] = _("Pain is a number from 0 to 10.")
    if nerve_symptoms not in SessionLog.NerveSymptoms.values:
        errors["nerve_symptoms"] = _("Choose none, tingling or numbness.")
    elif symptoms_lasted and nerve_symptoms == SessionLog.NerveSymptoms.NONE:
        errors["nerve_symptoms"] = _(
            "Say which nerve symptoms you had if they lasted after the exercise."
        )
    if symptoms_minutes is not None and not 0 <= symptoms_minutes <= SYMPTOM_MINUTES_MAX:
        errors["symptoms_minutes"] = _("Minutes must be between 0 and 1440 (a whole day).")
    if effort and effort not in SessionLog.Effort.values:
        errors["effort"] = _("Choose too easy, about right or too hard.")
    if len(comment) > COMMENT_MAX:
        errors["comment"] = _("Keep the comment under 2000 characters.")
    if errors:
        raise ValidationError(errors)


def _exercise_rows(
    plan: Plan, sets: dict[int, SetsDone]
) -> list[tuple[PlanItem, int, int | None, int | None]]:
    items = {item.pk: item for item in plan.items.all()}
    unknown = set(sets) - set(items)
    if unknown:
        raise ValidationError({"sets": _("That exercise is not in your plan.")})
    rows = []
    for item_id, (done, left, right) in sets.items():
        item = items[item_id]
        if item.side == Side.EACH:
            left, right = left or 0, right or 0
            if done is None:
                # A set counts as done when both sides did it.
                done = min(left, right)
        else:
            left = right = None
            done = done or 0
        for value in (done, left, right):
            if value is not None and not 0 <= value <= SETS_MAX:
                raise ValidationError({"sets": _("Sets done must be between 0 and 10.")})
        rows.append((item, done, left, right))
    return rows


@transaction.atomic
def record_session(
    *,
    plan: Plan,
    date: datetime.date,
    session_number: int,
    idempotency_key: uuid.UUID | str,
    pain: int,
    nerve_symptoms: str,
    symptoms_lasted: bool,
    symptoms_minutes: int | None,
    effort: str,
    comment: str,
    sets: dict[int, SetsDone],
) -> SessionLog:
    """Record (or correct) one session of `plan`; see the module docstring.

    Raises ValidationError, keyed by field where there is one, and saves nothing,
    when a logging rule or a value is broken.
    """
    try:
        key = uuid.UUID(str(idempotency_key))
    except ValueError:
        raise ValidationError(_("This form has expired. Please try again.")) from None

    replay = SessionLog.objects.filter(idempotency_key=key).first()
    if replay is not None:
        if replay.plan_id != plan.pk:
            raise ValidationError(_("This form has expired. Please try again."))
        return replay

    check_day(plan, date)
    _check_values(
        plan=plan,
        session_number=session_number,
        pain=pain,
        nerve_symptoms=nerve_symptoms,
        symptoms_lasted=symptoms_lasted,
        symptoms_minutes=symptoms_minutes,
        effort=effort,
        comment=comment,
    )
    rows = _exercise_rows(plan, sets)
    values = {
        "pain": pain,
        "nerve_symptoms": nerve_symptoms,
        "symptoms_lasted": symptoms_lasted,
        "symptoms_minutes": symptoms_minutes if symptoms_lasted else None,
        "effort": effort,
        "comment": comment.strip(),
        "idempotency_key": key,
    }

    log = (
        # of=self: the clinic scope joins the plan and patient, whose rows stay unlocked.
        SessionLog.objects.select_for_update(of=("self",))
        .filter(plan=plan, date=date, session_number=session_number)
        .first()
    )
    if log is None:
        try:
            # The savepoint keeps the outer transaction usable when we lose a race.
            with transaction.atomic():
                log = SessionLog.objects.create(
                    plan=plan, date=date, session_number=session_number, **values
                )
        except IntegrityError:
            existing = SessionLog.objects.filter(
                plan=plan, date=date, session_number=session_number
            ).first()
            if existing is None:
                existing = SessionLog.objects.filter(idempotency_key=key).first()
            if existing is None:
                raise
            return existing
    else:
        for name, value in values.items():
            setattr(log, name, value)
        log.save()
        log.exercises.all().delete()

    ExerciseLog.objects.bulk_create(
        ExerciseLog(session=log, item=item, sets_done=done, sets_left=left, sets_right=right)
        for item, done, left, right in rows
    )
    return log
