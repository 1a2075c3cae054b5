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
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from clinic.prepared import PreparedQuery
from prescriptions.adherence import sessions_per_day
from prescriptions.models import ExerciseLog, Plan, PlanItem, SessionLog, Side

# Today plus this many days before it can be recorded or corrected.
EDITABLE_DAYS = 7

# (sets done, sets done on the left, sets done on the right); the sides are
# only used for items done on each side.
SetsDone = tuple[int | None, int | None, int | None]


@dataclass(frozen=True)
class Recorded:
    log: SessionLog
    # The session had its row when this send was read: a correction, or the
    # replay of a send that recorded it (the portal thanks the patient for a new session).
    already_recorded: bool


# The form's earlier send (a replay) and the session's row if it is recorded
# already, in one statement compiled once per connection (clinic.prepared). It runs
# inside the write transaction, which on SQLite holds the database's one write lock
# from its start. of=self: the clinic scope joins the plan and patient, whose rows
# stay unlocked.
_replay_or_session = PreparedQuery(
    lambda key, plan_id, day, session_number: SessionLog.objects.select_for_update(
        of=("self",)
    ).filter(Q(idempotency_key=key) | Q(plan_id=plan_id, date=day, session_number=session_number))
)


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
        raise ValidationError(
            _("Only today and the %(days)s days before it can be changed.")
            % {"days": EDITABLE_DAYS},
            "too_old",
        )


def _exercise_rows(plan: Plan, log: SessionLog, sets: dict[int, SetsDone]) -> list[ExerciseLog]:
    """The session's exercise rows, checked by the model's own rules (unsaved)."""
    items = {item.pk: item for item in plan.items.all()}
    unknown = set(sets) - set(items)
    if unknown:
        raise ValidationError({"sets": _("That exercise is not in your plan.")})
    rows = []
    # Without the session and the item, a row's rules read its three numbers alone:
    # each set of numbers is judged once (a session done in full sends one).
    judged: set[SetsDone] = set()
    for item_id, (done, left, right) in sets.items():
        item: PlanItem = items[item_id]
        if item.side == Side.EACH:
            left, right = left or 0, right or 0
            if done is None:
                # A set counts as done when both sides did it.
                done = min(left, right)
        else:
            left = right = None
            done = done or 0
        row = ExerciseLog(session=log, item=item, sets_done=done, sets_left=left, sets_right=right)
        if (done, left, right) not in judged:
            try:
                row.full_clean(exclude=["session", "item"], validate_unique=False)
            except ValidationError as error:
                raise ValidationError({"sets": error.messages}) from None
            judged.add((done, left, right))
        rows.append(row)
    return rows


class _LostRace(Exception):
    """Another request inserted the session's row (or this form's) first."""

    def __init__(self, error: IntegrityError) -> None:
        super().__init__(str(error))
        self.error = error


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
) -> Recorded:
    """Record (or correct) one session of `plan`; see the module docstring.

    Raises ValidationError, keyed by field where there is one, and saves nothing,
    when a logging rule or a value is broken.
    """
    try:
        key = uuid.UUID(str(idempotency_key))
    except ValueError:
        raise ValidationError(_("This form has expired. Please try again.")) from None
    values = {
        "pain": pain,
        "nerve_symptoms": nerve_symptoms,
        "symptoms_lasted": symptoms_lasted,
        "symptoms_minutes": symptoms_minutes if symptoms_lasted else None,
        "effort": effort,
        "comment": comment.strip(),
        "idempotency_key": key,
    }
    # Judged before the transaction, which on SQLite holds the database's one write
    # lock from its start: the rules read nothing from the database. A refusal is
    # raised inside it, after the replay check, so a form sent again still gets its
    # first send's record.
    judged: tuple[SessionLog, list[ExerciseLog]] | ValidationError
    try:
        judged = _judged(plan, date, session_number, values, sets)
    except ValidationError as error:
        judged = error
    try:
        with transaction.atomic():
            return _record(plan, date, session_number, key, values, judged)
    except _LostRace as lost:
        # Two sends raced to create the session (a double tap, or two forms): the
        # winner's row stands. Read once the loser's transaction is rolled back, which
        # PostgreSQL requires after a failed statement: no savepoint around the insert,
        # which every new session paid for (two statements) to serve this rare case.
        existing = SessionLog.objects.filter(
            plan=plan, date=date, session_number=session_number
        ).first()
        if existing is None:
            existing = SessionLog.objects.filter(idempotency_key=key).first()
        if existing is None:
            raise lost.error from None
        return Recorded(existing, already_recorded=False)


def _judged(
    plan: Plan,
    date: datetime.date,
    session_number: int,
    values: dict[str, Any],
    sets: dict[int, SetsDone],
) -> tuple[SessionLog, list[ExerciseLog]]:
    """The session's row and exercise rows (unsaved), or ValidationError."""
    check_day(plan, date)
    if not 1 <= session_number <= sessions_per_day(plan.items.all()):
        raise ValidationError({"session_number": _("This plan does not have that session today.")})
    # The model's own rules judge every value (its validators and constraints,
    # the ones the database enforces), with their messages; nothing is written
    # unless all of them pass. Uniqueness is left to the database: see record_session.
    new = SessionLog(plan=plan, date=date, session_number=session_number, **values)
    new.full_clean(exclude=["plan", "idempotency_key"], validate_unique=False)
    return new, _exercise_rows(plan, new, sets)


def _record(
    plan: Plan,
    date: datetime.date,
    session_number: int,
    key: uuid.UUID,
    values: dict[str, Any],
    judged: tuple[SessionLog, list[ExerciseLog]] | ValidationError,
) -> Recorded:
    found = _replay_or_session(key, plan.pk, date, session_number)
    log = next(
        (
            row
            for row in found
            if (row.plan_id, row.date, row.session_number) == (plan.pk, date, session_number)
        ),
        None,
    )
    replay = next((row for row in found if row.idempotency_key == key), None)
    if replay is not None:
        if replay.plan_id != plan.pk:
            raise ValidationError(_("This form has expired. Please try again."))
        return Recorded(replay, already_recorded=log is not None)
    if isinstance(judged, ValidationError):
        raise judged
    new, rows = judged

    if log is None:
        try:
            new.save(force_insert=True)
        except IntegrityError as error:
            raise _LostRace(error) from error
        already_recorded, log = False, new
    else:
        for name, value in values.items():
            setattr(log, name, value)
        log.save(update_fields=[*values, "updated_at"])
        # The session's row was found in the clinic's scope above: its exercise rows
        # go by its id, in one DELETE without the scope's joins. Still a queryset's
        # delete(), so a model that ever refers to ExerciseLog has its cascade run.
        ExerciseLog._base_manager.filter(session_id=log.pk).delete()
        already_recorded = True

    for row in rows:
        row.session = log
    ExerciseLog.objects.bulk_create(rows)
    return Recorded(log, already_recorded=already_recorded)
