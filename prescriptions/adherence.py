"""Adherence: how much of the prescribed home programme a patient actually did.

Every figure Rehabit shows (the portal's History page and its calendar, the
admin patient list, the plan page's panel and chart, the "patients who need
attention" list, the reminders' due days) comes from this module, and the
counting is done by the database, so one page costs the same few queries however
many patients and logs there are.

The rules, in the words a therapist would use:

Sessions due
    A plan asks for as many sessions a day as its most frequent exercise
    (the highest "times a day" of its items), on as many days a week as its most
    frequent exercise (the highest "days a week"). Seven days a week means every
    day. Fewer days are spread evenly from the start date: with 3 days a week,
    days 1, 3 and 5 of each week are counted as due, so over any stretch of time
    the patient is expected to have done 3/7 of the days, rounded in their
    favour at the start. The patient may do them on any days they like (see
    "sessions done").

When a plan counts
    Each day counts by the plan as it was that day: its status, dates and
    exercises with their doses in the version in force (prescriptions.history;
    a change counts from the clinic's day it was made, so a plan paused on the
    10th has nothing due from the 10th, and an exercise added on day 14 is due
    from day 14). Only days between the start date and the end date the plan
    had then (or open-ended), and only in the period asked about. An *active*
    plan counts. A *draft* or *paused* plan has nothing due (sessions logged
    while it was paused still appear in history and charts, and count like
    sessions on a day off). A *completed* plan counts up to its end date; if it
    has none, nothing is due, because we cannot tell when it stopped. A plan
    without exercises has nothing due. An exercise ended by a change of phase
    (PlanItem.ended_on) is due until the day before it ended. Plans that have
    not changed since before the period (Plan.current_since) are counted from
    the plan itself, without reading a version.

Sessions done
    A session is done when the patient recorded it (one SessionLog per plan,
    day and session of the day). Extra sessions beyond the prescribed number a
    day do not count (session 3 of a twice-a-day plan), and over a period the
    done count is capped at the due count, so adherence never passes 100 %.
    On a plan with 3 days a week, the patient may pick any days: a session on a
    day that was not "due" still counts towards the period.

Day by day (the History calendar, the chart's words)
    A day's own sessions count for that day first; sessions done on days with
    nothing due then make up for due sessions left undone, earliest day first,
    as far as the period's capped total allows. A due day made up this way is
    shown as a rest day, so the calendar never says "Missed" for a session the
    percentage counts as done.

Adherence
    done / due over the period, as a whole percentage rounded down (100 % only
    when everything was done). None when nothing was due. A patient's adherence
    adds up the due and done sessions of all their plans. The 7 and 28-day
    figures include today, so in the morning, before today's session, a
    perfectly adherent daily patient shows 6/7 (85 %).

Per exercise
    The same, using the exercise's own "times a day" and "days a week" as they
    were each day, on the days the plan held it, counting sessions in which the
    patient ticked at least one set of it (either side).

Streak
    Consecutive days, ending today (or yesterday if nothing is logged yet
    today), with at least one session logged for any plan.

Pain
    *Latest pain* is the pain score of the most recent session. The *pain
    change over 7 days* compares it with the last score from 7 to 14 days ago;
    it is only given when the latest score is from the last 7 days and there is
    an earlier one to compare with. The pain chart shows each day's highest
    score.

Lasting nerve symptoms
    Any session in the last 7 days where tingling or numbness lasted after the
    exercise.

Needs attention (thresholds are clinic settings), for active patients with an
active plan:
    * no session logged for N days (or none since a plan started N days ago);
    * 7-day adherence under X % (7 days rather than 28, so that a recent drop
      shows at once; the 28-day figure is in the patient list);
    * latest pain at or above P, or pain up by R or more over 7 days;
    * nerve symptoms lasting after exercise in the last 7 days.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from django.db import connections
from django.db.models import (
    Case,
    Count,
    DateField,
    Exists,
    F,
    Field,
    Func,
    IntegerField,
    Manager,
    Max,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.expressions import Combinable, Expression, ExpressionWrapper
from django.db.models.functions import Coalesce, Greatest, Least
from django.db.models.lookups import Exact, GreaterThanOrEqual, LessThan
from django.db.models.sql.query import Query
from django.db.models.sql.where import AND, WhereNode
from django.utils import formats
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _

from clinic.models import Clinic, Patient
from clinic.prepared import PreparedQuery
from prescriptions.models import (
    ExerciseLog,
    ItemFields,
    Plan,
    PlanItem,
    PlanVersion,
    QuestionnaireResponse,
    SessionLog,
    Side,
)

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler

DAYS_PER_WEEK = 7
# Pain "about a week ago" is the last score from 7 to 14 days ago.
PAIN_LOOKBACK_DAYS = 14
# Newest-log lookups search this many days back first (see _latest).
RECENT_DAYS = 14
# "The newest session": latest day, then latest session of the day; between two
# plans logged for the same day and session, the newer plan. Not the row id, so
# that the sort reads only columns of the sessionlog_newest_pain index; and
# "plan_id", not "plan", which would sort by the plan's own default ordering
# (start date first) through a join.
NEWEST_FIRST = ("-date", "-session_number", "-plan_id")


# ---------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Adherence:
    prescribed: int
    completed: int
    percent: int | None  # None when nothing was due in the period

    @classmethod
    def of(cls, completed: int, prescribed: int) -> Adherence:
        done = capped(completed, prescribed)
        return cls(prescribed=prescribed, completed=done, percent=percent(done, prescribed))


@dataclass(frozen=True)
class DayRecord:
    date: datetime.date
    due: int
    done: int


@dataclass(frozen=True)
class ExerciseAdherence:
    item: PlanItem
    adherence: Adherence
    # Sets over the same sessions: prescribed (the item's sets in each session
    # due) and done; for an exercise done on each side, done per side as well.
    sets_prescribed: int = 0
    sets_done: int = 0
    sets_left: int | None = None
    sets_right: int | None = None


@dataclass(frozen=True)
class PatientOverview:
    adherence_7: Adherence
    adherence_28: Adherence
    streak_days: int
    last_log_date: datetime.date | None
    days_since_last_log: int | None
    latest_pain: int | None
    pain_change_7d: int | None
    lasting_nerve_symptoms: bool
    pain_series: list[tuple[datetime.date, int]] = field(default_factory=list)


# ---------------------------------------------------------------------------
# Pure arithmetic (the database expressions below compute exactly the same)


def percent(completed: int, prescribed: int) -> int | None:
    """Whole percent, rounded down; None when nothing was due."""
    if prescribed <= 0:
        return None
    return min(completed, prescribed) * 100 // prescribed


def capped(completed: int, prescribed: int) -> int:
    return max(0, min(completed, prescribed))


def due_days(
    plan_start: datetime.date, lo: datetime.date, hi: datetime.date, days_per_week: int
) -> int:
    """How many of the days lo..hi are due, for a plan started on plan_start.

    Days are spread evenly from the start: by day k (0-based) of the plan,
    ceil((k + 1) * days_per_week / 7) days have been due.
    """
    if hi < lo or days_per_week <= 0:
        return 0
    k0 = (lo - plan_start).days
    k1 = (hi - plan_start).days
    return _ceil_week(k1 + 1, days_per_week) - _ceil_week(k0, days_per_week)


def sessions_per_day(items: Iterable[ItemFields]) -> int:
    """How many sessions a day a plan asks for: as many as its most frequent exercise.

    A plan without exercises has one, so that its session can still be recorded;
    nothing is due on it, since it has no days a week.
    """
    return max((item.times_per_day for item in items), default=1)


def days_per_week(items: Iterable[ItemFields]) -> int:
    """How many days a week a plan asks for: as many as its most frequent exercise."""
    return max((item.days_per_week for item in items), default=0)


def _ceil_week(days: int, days_per_week: int) -> int:
    return (days * days_per_week + DAYS_PER_WEEK - 1) // DAYS_PER_WEEK


def over(records: Sequence[DayRecord]) -> Adherence:
    """The period figure for these days: their due and done sessions, done capped at due."""
    return Adherence.of(sum(r.done for r in records), sum(r.due for r in records))


def credited(records: Sequence[DayRecord]) -> list[int]:
    """For each day, how many of its due sessions count as done over the period.

    A day's own sessions count first. Sessions done on a day with nothing due
    then make up for due sessions left undone, earliest day first. The total
    is exactly the period figure's completed count (`over`), so a day-by-day
    view (the History calendar, the chart's description) tells the same story
    as the percentage beside it.
    """
    own = [min(r.done, r.due) for r in records]
    spare = sum(r.done for r in records) - sum(own)
    result = []
    for record, counted in zip(records, own, strict=True):
        extra = min(spare, record.due - counted)
        spare -= extra
        result.append(counted + extra)
    return result


class DayStatus(StrEnum):
    DONE = "done"  # the day's due sessions done, or sessions done on a day off
    PARTLY = "partly"
    MISSED = "missed"
    PENDING = "pending"  # today, with nothing done yet
    REST = "rest"  # nothing due, or made up by sessions done on a day off


def day_statuses(records: Sequence[DayRecord], today: datetime.date) -> list[DayStatus]:
    """Each day's status, by the period rule (`credited`)."""
    statuses = []
    for record, counted in zip(records, credited(records), strict=True):
        if record.due == 0 or counted >= record.due:
            status = DayStatus.DONE if record.done else DayStatus.REST
        elif counted:
            status = DayStatus.PARTLY
        else:
            status = DayStatus.PENDING if record.date == today else DayStatus.MISSED
        statuses.append(status)
    return statuses


@dataclass(frozen=True)
class Period:
    """What the adherence chart says about its days."""

    adherence: Adherence
    # Days with sessions due of which none counts as done.
    missed_days: int
    # Sessions done on days with nothing due (they count towards the period).
    done_on_days_off: int


def summarise(records: Sequence[DayRecord]) -> Period:
    counted = credited(records)
    return Period(
        adherence=over(records),
        missed_days=sum(1 for r, c in zip(records, counted, strict=True) if r.due and not c),
        done_on_days_off=sum(r.done for r in records if not r.due),
    )


class _StatusAndDates(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def start_date(self) -> datetime.date: ...
    @property
    def end_date(self) -> datetime.date | None: ...


def counting_end(plan: _StatusAndDates) -> datetime.date | None:
    """The last day on which the plan (or a version of it) can have sessions due,
    or None if it has none."""
    if plan.status == Plan.Status.ACTIVE:
        return plan.end_date or datetime.date.max
    if plan.status == Plan.Status.COMPLETED:
        return plan.end_date
    return None


# ---------------------------------------------------------------------------
# The plan as it was on each day (prescriptions.history)


@dataclass(frozen=True)
class Dose:
    """An exercise's frequency and sets, as they were in a version of the plan."""

    times_per_day: int
    days_per_week: int
    sets: int


@dataclass(frozen=True)
class PlanState:
    """The plan as it was over some days: the plan itself, or one of its versions."""

    status: str
    start_date: datetime.date
    end_date: datetime.date | None
    times_per_day: int
    days_per_week: int
    items: dict[int, Dose]

    def inside(self, day: datetime.date) -> bool:
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)


@dataclass(frozen=True)
class Span:
    """The days `first`..`last` on which `state` was the plan in force."""

    state: PlanState
    first: datetime.date
    last: datetime.date


def _current_state(plan: Plan, items: Sequence[PlanItem]) -> PlanState:
    current = [item for item in items if item.ended_on is None]
    return PlanState(
        status=plan.status,
        start_date=plan.start_date,
        end_date=plan.end_date,
        times_per_day=sessions_per_day(current),
        days_per_week=days_per_week(current),
        # Ended rows keep their dose here: each is due until the day before it ended.
        items={item.pk: Dose(item.times_per_day, item.days_per_week, item.sets) for item in items},
    )


def _version_state(version: PlanVersion) -> PlanState:
    return PlanState(
        status=version.status,
        start_date=version.start_date,
        end_date=version.end_date,
        times_per_day=version.times_per_day,
        days_per_week=version.days_per_week,
        items={
            row["id"]: Dose(row["times_per_day"], row["days_per_week"], row["sets"])
            for row in version.data.get("items", [])
        },
    )


def plan_spans(
    plan: Plan, items: Sequence[PlanItem], start: datetime.date, end: datetime.date
) -> list[Span]:
    """The plan as it was in force over start..end, oldest first.

    A plan that has not changed since before `start` (Plan.current_since) is one
    span, the plan itself, and no version is read. Otherwise one query reads the
    versions in force before `current_since`. `items` are the plan's current rows.
    """
    current = _current_state(plan, items)
    since = plan.current_since
    if since is None or since <= start:
        return [Span(current, datetime.date.min, datetime.date.max)]
    versions = PlanVersion.objects.filter(
        Q(in_force_from=None) | Q(in_force_from__lte=end),
        plan=plan,
        in_force_until__gte=start,
    ).order_by("pk")
    spans = [
        Span(_version_state(v), v.in_force_from or datetime.date.min, v.in_force_until)
        for v in versions
        if v.in_force_until is not None
        and (v.in_force_from or datetime.date.min) <= v.in_force_until
    ]
    spans.append(Span(current, since, datetime.date.max))
    return spans


def _span_on(spans: Sequence[Span], day: datetime.date) -> Span | None:
    return next((span for span in spans if span.first <= day <= span.last), None)


# ---------------------------------------------------------------------------
# Database expressions


class DaysBetween(Func):
    """Whole days from the first date to the second (negative when earlier)."""

    arity = 2
    output_field = IntegerField()
    # PostgreSQL: date - date is an integer number of days.
    template = "(%(expressions)s::date)"
    arg_joiner = "::date - "

    def __init__(self, start: Any, end: Any) -> None:
        # The SQL subtracts the first expression from the second.
        super().__init__(end, start)

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="CAST(ROUND(julianday(%(expressions)s)) AS INTEGER)",
            arg_joiner=") - julianday(",
            **extra,
        )


def _date(value: datetime.date) -> Value:
    return Value(value, output_field=DateField())


def _int(expression: Combinable) -> ExpressionWrapper[Combinable]:
    return ExpressionWrapper(expression, output_field=IntegerField())


def _plan_item_max(field: str, default: int) -> Coalesce:
    items = PlanItem.objects.filter(plan=OuterRef("pk")).order_by(f"-{field}").values(field)
    return Coalesce(Subquery(items[:1]), default)


def plan_sessions_per_day() -> Coalesce:
    """sessions_per_day() of each row of a Plan queryset, computed by the database."""
    return _plan_item_max("times_per_day", 1)


def plan_days_per_week() -> Coalesce:
    """days_per_week() of each row of a Plan queryset, computed by the database."""
    return _plan_item_max("days_per_week", 0)


def annotate_plans(qs: QuerySet[Plan], start: datetime.date, end: datetime.date) -> QuerySet[Plan]:
    """Add `adh_prescribed` and `adh_completed` (capped) for the period start..end."""
    pk = F("pk")
    return qs.annotate(
        adh_prescribed=PlanSessions(pk, "prescribed", start, end),
        adh_completed=PlanSessions(pk, "completed", start, end),
    )


def _done_q(prefix: str = "") -> Q:
    return (
        Q(**{f"{prefix}sets_done__gt": 0})
        | Q(**{f"{prefix}sets_left__gt": 0})
        | Q(**{f"{prefix}sets_right__gt": 0})
    )


# ---------------------------------------------------------------------------
# One plan


def plan_adherence(plan: Plan, start: datetime.date, end: datetime.date) -> Adherence:
    """Sessions due and done for one plan over start..end (both included). One query."""
    row: Any = annotate_plans(Plan.objects.filter(pk=plan.pk), start, end).first()
    if row is None:
        return Adherence(0, 0, None)
    return Adherence.of(row.adh_completed, row.adh_prescribed)


# day_by_day's sessions (the History calendar, the plan page's chart), compiled once.
# Every session number: one above a day's prescribed number never counts (below), and
# PostgreSQL takes a small integer as its own type, which a prepared query refuses.
def _sessions_between(plan_id: int, start: datetime.date, end: datetime.date) -> QuerySet[Any]:
    logs = SessionLog.objects.filter(plan_id=plan_id, date__range=(start, end))
    return logs.order_by().values_list("date", "session_number")


_sessions_logged = PreparedQuery(_sessions_between)


def day_by_day(plan: Plan, start: datetime.date, end: datetime.date) -> list[DayRecord]:
    """Each day of start..end with its due and done sessions, by the plan as it was
    that day. Two queries (three when the plan changed during the period).

    `done` counts the sessions that day up to the prescribed number a day; on a
    plan with fewer than 7 days a week it may be above `due` (the patient chose
    that day), which is why period adherence caps the total, not each day.
    """
    if end < start:
        return []
    spans = plan_spans(plan, list(plan.items.all()), start, end)
    logged: dict[datetime.date, list[int]] = {}
    sessions: list[Any] = _sessions_logged(plan.pk, start, end)
    for date, number in sessions:
        logged.setdefault(date, []).append(number)
    records = []
    day = start
    while day <= end:
        due = done = 0
        span = _span_on(spans, day)
        if span is not None:
            state = span.state
            last = counting_end(state)
            if last is not None and state.start_date <= day <= last:
                due = due_days(state.start_date, day, day, state.days_per_week)
                due *= state.times_per_day
            if state.inside(day):
                done = sum(1 for n in logged.get(day, ()) if n <= state.times_per_day)
        records.append(DayRecord(day, due, done))
        day += datetime.timedelta(days=1)
    return records


def exercise_adherence(
    plan: Plan, start: datetime.date, end: datetime.date, *, include_ended: bool = False
) -> list[ExerciseAdherence]:
    """Per exercise of the plan, using each exercise's own dosage. One query.

    With `include_ended`, also the exercises a change of phase ended (after the
    current ones, latest first), each due only until the day before it ended.

    For a plan that changed during the period, each exercise counts by its dose
    in the plan as it was each day (three queries, see _exercise_adherence_by_day)."""
    if plan.current_since is not None and plan.current_since > start:
        return _exercise_adherence_by_day(plan, start, end, include_ended=include_ended)
    plan_lo = Greatest(OuterRef("plan__start_date"), _date(start), output_field=DateField())
    plan_hi = Least(
        Coalesce(OuterRef("plan__end_date"), _date(end), output_field=DateField()),
        _date(end),
        output_field=DateField(),
    )
    in_period = ExerciseLog.objects.filter(
        item=OuterRef("pk"),
        session__date__gte=plan_lo,
        session__date__lte=plan_hi,
        session__session_number__lte=OuterRef("times_per_day"),
    ).order_by()
    logs = in_period.filter(_done_q()).values("item").annotate(n=Count("pk")).values("n")

    def total(field: str) -> Coalesce:
        sums = in_period.values("item").annotate(n=Sum(field)).values("n")
        return Coalesce(Subquery(sums), 0)

    last = counting_end(plan)
    manager = PlanItem.with_ended if include_ended else PlanItem.objects
    items = (
        manager.filter(plan=plan)
        .select_related("exercise")
        .annotate(
            adh_done=Coalesce(Subquery(logs), 0),
            adh_sets=total("sets_done"),
            adh_left=total("sets_left"),
            adh_right=total("sets_right"),
        )
        .order_by(F("ended_on").desc(nulls_first=True), "order")
    )
    result = []
    for item in items:
        prescribed = 0
        item_last = last
        if item.ended_on is not None and last is not None:
            item_last = min(last, item.ended_on - datetime.timedelta(days=1))
        if item_last is not None:
            prescribed = (
                due_days(
                    plan.start_date,
                    max(plan.start_date, start),
                    min(item_last, end),
                    item.days_per_week,
                )
                * item.times_per_day
            )
        row: Any = item  # the annotations mypy cannot see
        per_side = item.side == Side.EACH
        result.append(
            ExerciseAdherence(
                item,
                Adherence.of(row.adh_done, prescribed),
                sets_prescribed=prescribed * item.sets,
                sets_done=row.adh_sets,
                sets_left=row.adh_left if per_side else None,
                sets_right=row.adh_right if per_side else None,
            )
        )
    return result


def _plan_rows(plan: Plan, *, include_ended: bool) -> list[PlanItem]:
    manager = PlanItem.with_ended if include_ended else PlanItem.objects
    return list(
        manager.filter(plan=plan)
        .select_related("exercise")
        .order_by(F("ended_on").desc(nulls_first=True), "order")
    )


def _exercise_adherence_by_day(
    plan: Plan, start: datetime.date, end: datetime.date, *, include_ended: bool = False
) -> list[ExerciseAdherence]:
    """exercise_adherence() day by day, each day by the plan as it was then: an
    exercise is due on the days a version in force held it, with that version's
    dose, and a set logged counts on those days up to its "times a day" then.
    For a plan that never changed this gives exactly the figures of the one-query
    path (the property tests compare the two)."""
    items = _plan_rows(plan, include_ended=include_ended)
    spans = plan_spans(plan, items, start, end)
    logs: dict[int, list[tuple[datetime.date, int, int, int | None, int | None]]] = {}
    for item_id, date, number, done, left, right in (
        ExerciseLog.objects.filter(item__plan=plan, session__date__range=(start, end))
        .order_by()
        .values_list(
            "item_id",
            "session__date",
            "session__session_number",
            "sets_done",
            "sets_left",
            "sets_right",
        )
    ):
        logs.setdefault(item_id, []).append((date, number, done, left, right))
    result = []
    for item in items:
        prescribed = sets_prescribed = 0
        for span in spans:
            dose = span.state.items.get(item.pk)
            last = counting_end(span.state)
            if dose is None or last is None:
                continue
            hi = min(end, span.last, last)
            if item.ended_on is not None:
                hi = min(hi, item.ended_on - datetime.timedelta(days=1))
            lo = max(start, span.first, span.state.start_date)
            due = due_days(span.state.start_date, lo, hi, dose.days_per_week) * dose.times_per_day
            prescribed += due
            sets_prescribed += due * dose.sets
        done = sets = left_total = right_total = 0
        for date, number, sets_done, left, right in logs.get(item.pk, ()):
            on = _span_on(spans, date)
            dose = on.state.items.get(item.pk) if on is not None else None
            if on is None or dose is None or not on.state.inside(date):
                continue
            if number > dose.times_per_day:
                continue
            sets += sets_done
            left_total += left or 0
            right_total += right or 0
            done += sets_done > 0 or (left or 0) > 0 or (right or 0) > 0
        per_side = item.side == Side.EACH
        result.append(
            ExerciseAdherence(
                item,
                Adherence.of(done, prescribed),
                sets_prescribed=sets_prescribed,
                sets_done=sets,
                sets_left=left_total if per_side else None,
                sets_right=right_total if per_side else None,
            )
        )
    return result


# ---------------------------------------------------------------------------
# Patients


# The texts of the raw-SQL expressions below (PatientSessions, PatientFigures,
# NewestLog, LogAttention, StreakDays), as compiled, with their parameters.
# Writing one from _meta and quote_name took a sixth of compiling the
# patient list's queries, and the same text is written on every request (and
# again wherever a filter or the order repeats an annotation). The key holds
# everything the text and parameters are made from: the expression's class and
# settings, the dates, the database vendor (quoting, date arithmetic) and the
# compiled SQL and parameters of the outer references it embeds (their table
# aliases); so a remembered text is the one a fresh compile writes (checked by
# tests/prescriptions/test_adherence_compiled.py). Kept per process, emptied when
# full: keys change only with the day (the dates) and the queries' shapes.
_TEXTS: dict[tuple[Any, ...], tuple[str, tuple[Any, ...]]] = {}
TEXTS_KEPT = 512


def _typed(values: Iterable[Any]) -> tuple[Any, ...]:
    """Values for a key, each with its type: 1, 1.0 and True are equal keys."""
    return tuple((type(value), value) for value in values)


def _remembered(
    key: tuple[Any, ...], build: Callable[[], tuple[str, Sequence[Any]]]
) -> tuple[str, list[Any]]:
    """The (text, parameters) `build` returns for `key`, built once per process."""
    try:
        found = _TEXTS.get(key)
    except TypeError:  # an unhashable parameter: built every time
        text, params = build()
        return text, list(params)
    if found is None:
        text, params = build()
        if len(_TEXTS) >= TEXTS_KEPT:
            _TEXTS.clear()
        found = _TEXTS[key] = (text, tuple(params))
    return found[0], list(found[1])


class _SessionsSQL:
    """The SQL of PatientSessions, for one period: the spans of days each plan was in
    force as it was (the plan itself with its current items, grouped per plan, from
    `current_since`; and before that day, its versions), each span's sessions due
    and logged. Shared by the correlated form (one patient's figure, a subquery per
    row) and the grouped form (every patient's figures in one pass, PatientFigures),
    so that both count by the same text.

    Placeholders are written in the order they appear in the final text: every
    method that writes one appends its parameter to `params` as it goes.
    """

    def __init__(self, connection: BaseDatabaseWrapper, start: datetime.date, end: datetime.date):
        self.sqlite = connection.vendor == "sqlite"
        self.start, self.end = start, end
        self.params: list[Any] = []
        self.q = connection.ops.quote_name
        if self.sqlite:
            self.greatest, self.least = "MAX", "MIN"
        else:
            self.greatest, self.least = "GREATEST", "LEAST"

    def date(self, value: datetime.date) -> str:
        self.params.append(value)
        return "%s" if self.sqlite else "%s::date"

    def inline(self, text: str, params: Sequence[Any]) -> str:
        """A compiled piece of SQL (an outer column, for a correlated subquery) written
        where it stands, its parameters appended in the order of the text."""
        self.params.extend(params)
        return text

    def days(self, a: str, b: str) -> str:
        if self.sqlite:
            return f"CAST(ROUND(julianday({b}) - julianday({a})) AS INTEGER)"
        return f"({b}::date - {a}::date)"

    def table(self, model: type[Model]) -> str:
        return self.q(model._meta.db_table)

    def col(self, model: type[Model], name: str) -> str:
        field = model._meta.get_field(name)
        assert isinstance(field, Field) and field.column
        return self.q(field.column)

    @staticmethod
    def counts(status: str, end: str) -> str:
        return (
            f"({status} = '{Plan.Status.ACTIVE}'"
            f" OR ({status} = '{Plan.Status.COMPLETED}' AND {end} IS NOT NULL))"
        )

    def due(self) -> str:
        """Sessions due in a span g (s: the state's start date, lo..hi: its days in
        the period, t: sessions a day, d: days a week, c: whether it counts)."""
        k0, k1 = self.days("g.s", "g.lo"), self.days("g.s", "g.hi")
        week = DAYS_PER_WEEK
        return (
            f"CASE WHEN g.c = 1 AND g.hi >= g.lo THEN ((({k1} + 1) * g.d + {week - 1}) / {week}"
            f" - ({k0} * g.d + {week - 1}) / {week}) * g.t ELSE 0 END"
        )

    def spans(self, plans: Callable[[str], str]) -> str:
        """The spans (id: the plan, k: 0 for the plan itself or the version's id,
        pid: the patient) of the plans `plans(alias)` admits, as a UNION ALL."""
        col = self.col
        plan_t, item_t, version_t = self.table(Plan), self.table(PlanItem), self.table(PlanVersion)
        p_id, p_start, p_end = col(Plan, "id"), col(Plan, "start_date"), col(Plan, "end_date")
        p_status, p_since = col(Plan, "status"), col(Plan, "current_since")
        p_patient = col(Plan, "patient")
        i_plan, i_times = col(PlanItem, "plan"), col(PlanItem, "times_per_day")
        i_days, i_ended = col(PlanItem, "days_per_week"), col(PlanItem, "ended_on")
        v_id, v_plan, v_status = (
            col(PlanVersion, "id"),
            col(PlanVersion, "plan"),
            col(PlanVersion, "status"),
        )
        v_start, v_end = col(PlanVersion, "start_date"), col(PlanVersion, "end_date")
        v_from, v_until = col(PlanVersion, "in_force_from"), col(PlanVersion, "in_force_until")
        v_times, v_days = col(PlanVersion, "times_per_day"), col(PlanVersion, "days_per_week")
        greatest, least, date, counts = self.greatest, self.least, self.date, self.counts
        # The plan as it is now, from current_since (or its first day). A plan that
        # does not count now and never changed has nothing due and is left out.
        current = (
            f"SELECT p.{p_id} AS id, 0 AS k, p.{p_patient} AS pid, p.{p_start} AS s,"  # noqa: S608
            f" {greatest}(p.{p_start}, {date(self.start)}, COALESCE(p.{p_since}, p.{p_start}))"
            f" AS lo,"
            f" {least}(COALESCE(p.{p_end}, {date(self.end)}), {date(self.end)}) AS hi,"
            f" COALESCE(MAX(i.{i_times}), 1) AS t, COALESCE(MAX(i.{i_days}), 0) AS d,"
            f" CASE WHEN {counts(f'p.{p_status}', f'p.{p_end}')} THEN 1 ELSE 0 END AS c"
            f" FROM {plan_t} p"
            f" LEFT JOIN {item_t} i ON i.{i_plan} = p.{p_id} AND i.{i_ended} IS NULL"
            f" WHERE {plans('p')}"
            f" AND ({counts(f'p.{p_status}', f'p.{p_end}')}"
            f" OR p.{p_since} > {date(self.start)})"
            f" GROUP BY p.{p_id}, p.{p_patient}, p.{p_start}, p.{p_end}, p.{p_since},"
            f" p.{p_status}"
        )
        # Before current_since: each version on the days it was in force.
        earlier = (
            f"SELECT v.{v_plan} AS id, v.{v_id} AS k, p.{p_patient} AS pid,"  # noqa: S608
            f" v.{v_start} AS s,"
            f" {greatest}(v.{v_start}, {date(self.start)}, COALESCE(v.{v_from}, v.{v_start}))"
            f" AS lo,"
            f" {least}(COALESCE(v.{v_end}, {date(self.end)}), {date(self.end)}, v.{v_until})"
            f" AS hi,"
            f" v.{v_times} AS t, v.{v_days} AS d,"
            f" CASE WHEN {counts(f'v.{v_status}', f'v.{v_end}')} THEN 1 ELSE 0 END AS c"
            f" FROM {version_t} v INNER JOIN {plan_t} p ON p.{p_id} = v.{v_plan}"
            f" WHERE {plans('p')}"
            f" AND p.{p_since} > {date(self.start)} AND v.{v_until} >= {date(self.start)}"
        )
        return f"{current} UNION ALL {earlier}"

    def log_matches(self, log: str, span: str) -> str:
        """Whether log row `log` is a session done in span `span`."""
        l_plan, l_date = self.col(SessionLog, "plan"), self.col(SessionLog, "date")
        l_session = self.col(SessionLog, "session_number")
        return (
            f"{log}.{l_plan} = {span}.id AND {log}.{l_date} >= {span}.lo"
            f" AND {log}.{l_date} <= {span}.hi AND {log}.{l_session} <= {span}.t"
        )

    # PostgreSQL sums integers into bigint or numeric: cast back, so that the
    # percent is integer division (rounded down) as in percent().
    @staticmethod
    def total(column: str) -> str:
        return f"CAST(SUM({column}) AS INTEGER)"

    def per_plan(self) -> str:
        """Per plan (y: its spans): sessions due, and done capped at due."""
        due, logged = self.total("y.due"), self.total("y.logged")
        return f"{due} AS due, {self.least}({logged}, {due}) AS done"


class _OwnerText(Func):
    """A raw-SQL expression correlated with one owner row (its first source
    expression): its text and parameters are built by `_text` once per process for
    each database vendor, `settings()` and compiled owner reference (_remembered)."""

    def settings(self) -> tuple[Any, ...]:
        """Everything besides the vendor and the owner that the text is made from."""
        raise NotImplementedError

    def _text(
        self, connection: BaseDatabaseWrapper, owner_sql: str, owner_params: Sequence[Any]
    ) -> tuple[str, list[Any]]:
        raise NotImplementedError

    def as_sql(  # type: ignore[override]
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> Any:
        owner_sql, owner_params = compiler.compile(self.source_expressions[0])
        key = (type(self), connection.vendor, *self.settings(), owner_sql, _typed(owner_params))
        return _remembered(key, lambda: self._text(connection, owner_sql, owner_params))


class PatientSessions(_OwnerText):
    """Sessions due or done, or the adherence percent, over all of a patient's plans.

    Summing per-plan figures over plans needs an aggregate of aggregates (each
    plan's sessions a day is the highest of its items), which the ORM can only
    express with many repeated correlated subqueries. This is one correlated
    subquery per figure (_SessionsSQL): each plan's spans, their sessions due and
    logged, summed per plan with the done count capped at the due, then summed.
    Plans that never changed read no version. The same rules as day_by_day(),
    which the property tests check it against.

    When the query carries PatientFigures for the same period and the same
    patient rows (with_patient_figures), the figure is read from there instead:
    the same text, grouped over all the rows' patients in one pass.

    The dates are query parameters; the owner reference is a compiled
    expression, so table aliases stay right when the queryset is nested in
    another query. Tables and columns are named from the models' _meta. Being
    raw SQL, the subquery carries no clinic scope of its own: it only reads the
    plans of the row it is correlated with, which the outer (scoped) query has
    already chosen.
    """

    arity = 1
    output_field = IntegerField()
    KINDS = ("prescribed", "completed", "percent")
    # The Plan field the reference is compared with.
    owner: ClassVar[str] = "patient"

    def __init__(self, owner: Any, kind: str, start: datetime.date, end: datetime.date) -> None:
        if kind not in self.KINDS:
            raise ValueError(f"kind must be one of {self.KINDS}")
        self.kind, self.start, self.end = kind, start, end
        super().__init__(owner)

    def _grouped(self, compiler: SQLCompiler) -> PatientFigures | None:
        if self.owner != "patient":
            return None
        owner = self.source_expressions[0]
        alias = getattr(owner, "alias", None)
        target = getattr(owner, "target", None)
        if alias is None or target is None or not getattr(target, "primary_key", False):
            return None
        for join in compiler.query.alias_map.values():
            if (
                isinstance(join, PatientFigures)
                and join.parent_alias == alias
                and (join.start, join.end) == (self.start, self.end)
                and compiler.query.alias_refcount.get(join.table_alias)
            ):
                return join
        return None

    def as_sql(  # type: ignore[override]
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> Any:
        grouped = self._grouped(compiler)
        if grouped is not None:
            return grouped.figure(self.kind), []
        return super().as_sql(compiler, connection, **extra)

    def settings(self) -> tuple[Any, ...]:
        return (self.owner, self.kind, _typed((self.start, self.end)))

    def _text(
        self, connection: BaseDatabaseWrapper, owner_sql: str, owner_params: Sequence[Any]
    ) -> tuple[str, list[Any]]:
        sql = _SessionsSQL(connection, self.start, self.end)
        p_owner = sql.col(Plan, self.owner)

        def plans(alias: str) -> str:
            return f"{alias}.{p_owner} = {sql.inline(owner_sql, owner_params)}"

        spans = sql.spans(plans)
        log_t = sql.table(SessionLog)
        logged = f"(SELECT COUNT(*) FROM {log_t} l WHERE {sql.log_matches('l', 'g')})"  # noqa: S608
        due_sum, done_sum = sql.total("x.due"), sql.total("x.done")
        result = {
            "prescribed": f"COALESCE({due_sum}, 0)",
            "completed": f"COALESCE({done_sum}, 0)",
            "percent": f"CASE WHEN {due_sum} > 0 THEN {done_sum} * 100 / {due_sum} END",
        }[self.kind]
        # Only our own identifiers go into the text; the dates are parameters.
        text = (
            f"(SELECT {result} FROM ("  # noqa: S608
            f"SELECT {sql.per_plan()} FROM ("
            f"SELECT g.id AS id, {sql.due()} AS due, {logged} AS logged FROM ("
            f"{spans}"
            ") g) y GROUP BY y.id) x)"
        )
        return text, sql.params


class PlanSessions(PatientSessions):
    """PatientSessions for one plan: the reference is the plan's id."""

    owner = "id"


class PatientFigures:
    """Patients' sessions due and done over a period, in one grouped pass, joined
    to a patient query (an entry of its alias_map, like a Join).

    A sort or filter on a figure needs it for every patient of the list, where
    PatientSessions runs a subquery per patient and figure. This computes the same
    text (_SessionsSQL) once, grouped by patient: each span's sessions due and
    logged, per plan capped, summed per patient. PatientSessions of the same
    period over the same rows read their figure from here. Added by
    with_patient_figures().

    `among` (a query of patient ids) bounds the plans it reads; None: every
    clinic's. The outer query's own scope still chooses the rows. It is joined to
    the query's first table, the patient.
    """

    join_type = "LEFT OUTER JOIN"
    nullable = True
    filtered_relation = None
    join_field = None

    def __init__(
        self,
        parent_alias: str,
        table_alias: str,
        start: datetime.date,
        end: datetime.date,
        among: Query | None,
    ) -> None:
        self.parent_alias, self.table_alias = parent_alias, table_alias
        self.table_name = table_alias
        self.start, self.end, self.among = start, end, among

    def figure(self, kind: str) -> str:
        due, done = f"{self.table_alias}.due", f"{self.table_alias}.done"
        return {
            "prescribed": f"COALESCE({due}, 0)",
            "completed": f"COALESCE({done}, 0)",
            "percent": f"CASE WHEN {due} > 0 THEN {done} * 100 / {due} END",
        }[kind]

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, list[Any]]:
        among: tuple[str, Sequence[Any]] | None = None
        if self.among is not None:
            among = self.among.get_compiler(connection=connection).as_sql()
        # How the compiler quotes an alias depends on its query.
        parent = compiler.quote_name(self.parent_alias)
        key = (
            type(self),
            connection.vendor,
            _typed((self.start, self.end)),
            None if among is None else (among[0], _typed(among[1])),
            parent,
            self.table_alias,
            self.join_type,
        )
        return _remembered(key, lambda: self._text(connection, among, parent))

    def _text(
        self,
        connection: BaseDatabaseWrapper,
        among: tuple[str, Sequence[Any]] | None,
        parent: str,
    ) -> tuple[str, list[Any]]:
        sql = _SessionsSQL(connection, self.start, self.end)
        p_patient = sql.col(Plan, "patient")

        def plans(alias: str) -> str:
            if among is None:
                return "1 = 1"
            return f"{alias}.{p_patient} IN ({sql.inline(*among)})"

        spans = sql.spans(plans)
        log_t = sql.table(SessionLog)
        logged = f"(SELECT COUNT(*) FROM {log_t} l WHERE {sql.log_matches('l', 'g')})"  # noqa: S608
        text = (
            f"SELECT x.pid AS pid, {sql.total('x.due')} AS due, {sql.total('x.done')} AS done"  # noqa: S608
            f" FROM (SELECT y.pid AS pid, {sql.per_plan()} FROM ("
            f"SELECT g.pid AS pid, g.id AS id, {sql.due()} AS due, {logged} AS logged"
            f" FROM ({spans}) g) y GROUP BY y.pid, y.id) x GROUP BY x.pid"
        )
        pk = sql.col(Patient, "id")
        return (
            f"{self.join_type} ({text}) {self.table_alias}"
            f" ON ({self.table_alias}.pid = {parent}.{pk})",
            sql.params,
        )

    def relabeled_clone(self, change_map: dict[str, str]) -> PatientFigures:
        clone = PatientFigures(
            change_map.get(self.parent_alias, self.parent_alias),
            change_map.get(self.table_alias, self.table_alias),
            self.start,
            self.end,
            self.among,
        )
        # Query.change_aliases finds the entry in table_map by its first name.
        clone.table_name = self.table_name
        return clone

    @property
    def identity(self) -> tuple[Any, ...]:
        return (
            type(self),
            self.parent_alias,
            self.table_alias,
            self.start,
            self.end,
            id(self.among),
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PatientFigures) and self.identity == other.identity

    def __hash__(self) -> int:
        return hash(self.identity)

    def equals(self, other: object) -> bool:
        return self == other

    def demote(self) -> PatientFigures:
        return self

    def promote(self) -> PatientFigures:
        return self


def grouping_pays_off(qs: QuerySet[Any]) -> bool:
    """Whether PatientFigures beats a subquery per row where a figure is needed for
    a whole list. Measured at 2,000 patients (bench/adherence.py): on PostgreSQL it
    does (each correlated subquery is a subplan with its own startup cost); on
    SQLite, whose correlated subqueries are plain index lookups, the grouped pass
    took more steps for the sort and the attention filter."""
    return connections[qs.db].vendor == "postgresql"


def figure_periods(today: datetime.date) -> tuple[tuple[datetime.date, datetime.date], ...]:
    """The periods of annotate_patients' figures: the last 7 and the last 28 days."""
    return (
        (today - datetime.timedelta(days=6), today),
        (today - datetime.timedelta(days=27), today),
    )


def with_patient_figures[Q_: QuerySet[Any]](
    qs: Q_,
    periods: Iterable[tuple[datetime.date, datetime.date]],
    among: QuerySet[Any] | None,
) -> Q_:
    """`qs` (a Patient query) with PatientFigures for each period joined to it: its
    PatientSessions of those periods, in the select list, filters and ordering, are
    read from one grouped pass a period instead of a subquery per row and figure.

    The pass reads the plans of the patients `among` selects (None: every
    clinic's); the outer query's own scope still chooses the rows. `among` must
    hold every row of `qs` (a patient it leaves out would show nothing due): `qs`
    without its figure filters (unfiltered_by_figures), or the clinic it is
    scoped to.
    """
    qs = qs.all()
    query = qs.query
    parent = query.get_initial_alias()
    bound = among.order_by().values("pk").query if among is not None else None
    for start, end in periods:
        alias = f"rehabit_figures_{len(query.alias_map)}"
        query.alias_map[alias] = PatientFigures(  # type: ignore[assignment]
            parent, alias, start, end, bound
        )
        query.alias_refcount[alias] = 1
        query.table_map[alias] = [alias]
    return qs


def _periods_in(node: Any, query: Query, found: list[tuple[datetime.date, datetime.date]]) -> None:
    """Add the periods of the PatientSessions in `node` (a WHERE node or expression)."""
    if isinstance(node, PatientSessions) and node.owner == "patient":
        if (node.start, node.end) not in found:
            found.append((node.start, node.end))
        return
    name = getattr(node, "name", None) if isinstance(node, F) else None
    if name is not None and name in query.annotations:
        _periods_in(query.annotations[name], query, found)
        return
    children = getattr(node, "children", None)
    if children is not None:  # a WHERE node
        for child in children:
            _periods_in(child, query, found)
        return
    if isinstance(node, Q):
        return
    for source in getattr(node, "get_source_expressions", list)():
        _periods_in(source, query, found)


def periods_read(qs: QuerySet[Any]) -> list[tuple[datetime.date, datetime.date]]:
    """The periods of the PatientSessions that `qs` filters or sorts by."""
    query = qs.query
    found: list[tuple[datetime.date, datetime.date]] = []
    _periods_in(query.where, query, found)
    for item in query.order_by:
        if isinstance(item, str):
            name = item.lstrip("-")
            if name in query.annotations:
                _periods_in(query.annotations[name], query, found)
        else:
            _periods_in(item, query, found)
    return found


def periods_shown(qs: QuerySet[Any]) -> list[tuple[datetime.date, datetime.date]]:
    """The periods of the PatientSessions that `qs` selects."""
    query = qs.query
    found: list[tuple[datetime.date, datetime.date]] = []
    for expression in query.annotation_select.values():
        _periods_in(expression, query, found)
    return found


def unfiltered_by_figures[Q_: QuerySet[Any]](qs: Q_) -> Q_ | None:
    """`qs` without its conditions that read a PatientSessions figure (its scope,
    search and other filters kept), or None if they cannot be told apart (not a
    plain AND of conditions): the patients a grouped pass for `qs` must cover. A
    search or a therapist filter narrows the pass to those patients."""
    where = qs.query.where
    if where.connector != AND or where.negated:
        return None
    kept = []
    for child in where.children:
        found: list[tuple[datetime.date, datetime.date]] = []
        _periods_in(child, qs.query, found)
        if not found:
            kept.append(child)
    narrowed = qs.all()
    narrowed.query.where = WhereNode(kept, connector=AND)
    return narrowed


def _of_the_row[M: Model](model: type[M]) -> Manager[M]:
    """The model's rows for a subquery correlated with the (scoped) outer patient row.

    The scoped manager would join each subquery to the patient and the clinic again
    to repeat a check the outer query has made: the subquery reads only the rows of
    the patient it is correlated with (`...=OuterRef("pk")`), never another's. Used
    only inside `annotate_patients`, whose outer queryset carries the scope; the
    repeated joins cost a sixth of the attention filter at 2,000 patients.
    """
    return model._base_manager


class NewestLog(_OwnerText):
    """A column (date or pain) of the patient's newest session log dated from `lo`
    (None: no lower bound) to `hi`, `hi` included unless `before`: the latest day,
    then the latest session of the day, then the newer plan (NEWEST_FIRST).

    On PostgreSQL the newest log of each of the patient's plans is read first, a
    backward scan of the sessionlog_newest_pain index that stops at one entry
    (LATERAL), and the newest of those taken: a plain join of plans and logs sorted
    a fortnight's entries per patient, and those sorts were half the attention
    filter at 2,000 patients. Elsewhere, that plain join (SQLite reads it from the
    index in order). Like PatientSessions, raw SQL without a scope of its own: it
    reads only the plans of the row it is correlated with.
    """

    arity = 1

    def __init__(
        self,
        owner: Any,
        column: str,
        lo: datetime.date | None,
        hi: datetime.date,
        *,
        before: bool = False,
    ) -> None:
        if column not in ("date", "pain"):
            raise ValueError("column must be date or pain")
        self.column, self.lo, self.hi, self.before = column, lo, hi, before
        output = DateField() if column == "date" else IntegerField()
        super().__init__(owner, output_field=output)

    def settings(self) -> tuple[Any, ...]:
        return (self.column, _typed((self.lo, self.hi, self.before)))

    def _text(
        self, connection: BaseDatabaseWrapper, owner_sql: str, owner_params: Sequence[Any]
    ) -> tuple[str, list[Any]]:
        sql = _SessionsSQL(connection, self.hi, self.hi)
        plan_t, log_t = sql.table(Plan), sql.table(SessionLog)
        p_id, p_patient = sql.col(Plan, "id"), sql.col(Plan, "patient")
        l_plan, l_date = sql.col(SessionLog, "plan"), sql.col(SessionLog, "date")
        l_session, value = sql.col(SessionLog, "session_number"), sql.col(SessionLog, self.column)

        def bounds() -> str:
            # In the order of the text: the parameters are appended as written.
            low = f"l.{l_date} >= {sql.date(self.lo)} AND " if self.lo is not None else ""
            high = f"l.{l_date} {'<' if self.before else '<='} {sql.date(self.hi)}"
            return low + high

        if connection.vendor == "postgresql":
            newest = (
                f"SELECT l.{l_date} AS d, l.{l_session} AS n, l.{value} AS v"  # noqa: S608
                f" FROM {log_t} l WHERE l.{l_plan} = p.{p_id} AND {bounds()}"
                f" ORDER BY l.{l_date} DESC, l.{l_session} DESC LIMIT 1"
            )
            text = (
                f"(SELECT x.v FROM {plan_t} p CROSS JOIN LATERAL ({newest}) x"  # noqa: S608
                f" WHERE p.{p_patient} = {sql.inline(owner_sql, owner_params)}"
                f" ORDER BY x.d DESC, x.n DESC, p.{p_id} DESC LIMIT 1)"
            )
        else:
            text = (
                f"(SELECT l.{value} FROM {log_t} l"  # noqa: S608
                f" INNER JOIN {plan_t} p ON l.{l_plan} = p.{p_id}"
                f" WHERE p.{p_patient} = {sql.inline(owner_sql, owner_params)} AND {bounds()}"
                f" ORDER BY l.{l_date} DESC, l.{l_session} DESC, l.{l_plan} DESC LIMIT 1)"
            )
        return text, sql.params


def _newest_log_sql(
    sql: _SessionsSQL,
    owner: tuple[str, Sequence[Any]],
    lo: datetime.date | None,
    hi: datetime.date,
    *,
    before: bool = False,
) -> str:
    """The newest log (columns d: date, v: pain) of the patient `owner` (a compiled
    outer column) dated from `lo` to `hi` as NewestLog finds it, as a one-row
    SELECT. Parameters are appended in the order of the text."""
    plan_t, log_t = sql.table(Plan), sql.table(SessionLog)
    p_id, p_patient = sql.col(Plan, "id"), sql.col(Plan, "patient")
    l_plan, l_date = sql.col(SessionLog, "plan"), sql.col(SessionLog, "date")
    l_session, l_pain = sql.col(SessionLog, "session_number"), sql.col(SessionLog, "pain")

    def bounds() -> str:
        low = f"l.{l_date} >= {sql.date(lo)} AND " if lo is not None else ""
        return low + f"l.{l_date} {'<' if before else '<='} {sql.date(hi)}"

    if sql.sqlite:
        return (
            f"SELECT l.{l_date} AS d, l.{l_pain} AS v FROM {log_t} l"  # noqa: S608
            f" INNER JOIN {plan_t} p ON l.{l_plan} = p.{p_id}"
            f" WHERE p.{p_patient} = {sql.inline(*owner)} AND {bounds()}"
            f" ORDER BY l.{l_date} DESC, l.{l_session} DESC, l.{l_plan} DESC LIMIT 1"
        )
    newest = (
        f"SELECT l.{l_date} AS d, l.{l_session} AS n, l.{l_pain} AS v"  # noqa: S608
        f" FROM {log_t} l WHERE l.{l_plan} = p.{p_id} AND {bounds()}"
        f" ORDER BY l.{l_date} DESC, l.{l_session} DESC LIMIT 1"
    )
    return (
        f"SELECT x.d AS d, x.v AS v FROM {plan_t} p CROSS JOIN LATERAL ({newest}) x"  # noqa: S608
        f" WHERE p.{p_patient} = {sql.inline(*owner)}"
        f" ORDER BY x.d DESC, x.n DESC, p.{p_id} DESC LIMIT 1"
    )


class LogAttention(Func):
    """Whether the patient's newest log (up to today) calls for attention by the
    clinic's thresholds: 1 if it is `days` or more days old, or its pain is at
    least `pain`, or the pain rose by `rise` or more over 7 days (the pain change of
    annotate_patients); 0 if not; NULL if nothing is logged up to today.

    The same three conditions as attention_q read from last_log_date, latest_pain
    and pain_change_7d, which are four newest-log lookups, each its own correlated
    subquery. Here the newest log is looked up once: among the last RECENT_DAYS
    days first (a short index range), and only for a patient with none there among
    the older logs (COALESCE stops at the first non-NULL). The week before's pain is
    read only for a patient whose newest log is from this week and who is not
    flagged already. Like NewestLog, raw SQL without a scope of its own.
    """

    arity = 4
    output_field = IntegerField()

    def __init__(self, owner: Any, today: datetime.date, days: Any, pain: Any, rise: Any) -> None:
        self.today = today
        super().__init__(owner, days, pain, rise)

    def as_sql(  # type: ignore[override]
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> Any:
        compiled = [compiler.compile(e) for e in self.source_expressions]
        key = (
            type(self),
            connection.vendor,
            _typed((self.today,)),
            *((text, _typed(params)) for text, params in compiled),
        )
        return _remembered(key, lambda: self._text(connection, *compiled))

    def _text(
        self,
        connection: BaseDatabaseWrapper,
        owner: tuple[str, Sequence[Any]],
        days: tuple[str, Sequence[Any]],
        pain: tuple[str, Sequence[Any]],
        rise: tuple[str, Sequence[Any]],
    ) -> tuple[str, list[Any]]:
        today = self.today
        week_start = today - datetime.timedelta(days=6)
        recent = today - datetime.timedelta(days=RECENT_DAYS)
        sql = _SessionsSQL(connection, today, today)

        before_lo = today - datetime.timedelta(days=PAIN_LOOKBACK_DAYS)
        before_hi = today - datetime.timedelta(days=7)

        def flag(lo: datetime.date | None, hi: datetime.date, *, before: bool) -> str:
            # In the order of the text: the parameters are appended as written.
            return (
                f"(SELECT CASE WHEN {sql.days('y.d', sql.date(today))} >= {sql.inline(*days)}"  # noqa: S608
                f" OR y.v >= {sql.inline(*pain)}"
                f" OR (y.d >= {sql.date(week_start)} AND y.v - (SELECT w.v FROM ("
                f"{_newest_log_sql(sql, owner, before_lo, before_hi)}"
                f") w) >= {sql.inline(*rise)}) THEN 1 ELSE 0 END"
                f" FROM ({_newest_log_sql(sql, owner, lo, hi, before=before)}) y)"
            )

        text = f"COALESCE({flag(recent, today, before=False)}, {flag(None, recent, before=True)})"
        return text, sql.params


class StreakDays(_OwnerText):
    """Consecutive days with at least one session logged for any of the patient's
    plans, ending today, or yesterday if nothing is logged yet today (0 otherwise).

    Number the distinct logged dates up to today newest first (1, 2, 3...): a date
    belongs to the newest unbroken run exactly when it lies (number - 1) days
    before the newest date (gaps-and-islands). A correlated subquery of the
    patient row, so that History reads it with the other figures in one query;
    written as text because the ORM can only filter on a window function by
    wrapping the query twice (its QUALIFY emulation), which cost more to build
    than the rest of the overview. Like PatientSessions, raw SQL without a scope
    of its own: it reads only the plans of the row it is correlated with.
    """

    arity = 1
    output_field = IntegerField()

    def __init__(self, owner: Any, today: datetime.date) -> None:
        self.today = today
        super().__init__(owner)

    def settings(self) -> tuple[Any, ...]:
        return (_typed((self.today,)),)

    def _text(
        self, connection: BaseDatabaseWrapper, owner_sql: str, owner_params: Sequence[Any]
    ) -> tuple[str, list[Any]]:
        sql = _SessionsSQL(connection, self.today, self.today)
        plan_t, log_t = sql.table(Plan), sql.table(SessionLog)
        p_id, p_patient = sql.col(Plan, "id"), sql.col(Plan, "patient")
        l_plan, l_date = sql.col(SessionLog, "plan"), sql.col(SessionLog, "date")

        # In the order of the text: the parameters are appended as written.
        dates = (
            f"SELECT DISTINCT l.{l_date} AS d FROM {log_t} l"  # noqa: S608
            f" INNER JOIN {plan_t} p ON l.{l_plan} = p.{p_id}"
            f" WHERE p.{p_patient} = {sql.inline(owner_sql, owner_params)}"
            f" AND l.{l_date} <= {sql.date(self.today)}"
        )
        numbered = (
            "SELECT u.d AS d, DENSE_RANK() OVER (ORDER BY u.d DESC) AS r,"  # noqa: S608
            f" MAX(u.d) OVER () AS newest FROM ({dates}) u"
        )
        # The newest date is today or yesterday: counted from `today` in the SQL, so
        # that the text takes no other date (a prepared query swaps `today` alone).
        text = (
            f"(SELECT COUNT(*) FROM ({numbered}) w"  # noqa: S608
            f" WHERE {sql.days('w.newest', sql.date(self.today))} <= 1"
            f" AND {sql.days('w.d', 'w.newest')} = w.r - 1)"
        )
        return text, sql.params


def _latest(column: str, today: datetime.date, recent: datetime.date | None = None) -> Coalesce:
    """The newest log's value: first among recent logs (from `recent`, by default
    RECENT_DAYS before today), a short index range scan; only for patients with none
    lately, among all their older logs."""
    if recent is None:
        recent = today - datetime.timedelta(days=RECENT_DAYS)
    pk = F("pk")
    return Coalesce(
        NewestLog(pk, column, recent, today), NewestLog(pk, column, None, recent, before=True)
    )


def _outcome_worse() -> Exists:
    """Whether an active plan's outcome measure has its newest score worse than its
    first by at least the MCID (QuestionnaireResponse.worse_by_mcid, set when scored)."""
    completed = QuestionnaireResponse.Status.COMPLETED
    responses = _of_the_row(QuestionnaireResponse)
    newer = responses.filter(
        measure=OuterRef("measure"), status=completed, due_date__gt=OuterRef("due_date")
    )
    return Exists(
        responses.filter(
            measure__plan__patient=OuterRef("pk"),
            measure__plan__status=Plan.Status.ACTIVE,
            status=completed,
            worse_by_mcid=True,
        ).filter(~Exists(newer))
    )


def annotate_patients(qs: QuerySet[Patient], today: datetime.date) -> QuerySet[Patient]:
    """Add the adherence columns to a patient queryset, all computed in the one query.

    adherence_7 / adherence_28 (percent or None) with their _prescribed and
    _completed parts, last_log_date, latest_pain, pain_week_before,
    lasting_nerve_symptoms, outcome_worse, first_active_start.
    """
    week_start = today - datetime.timedelta(days=6)
    month_start = today - datetime.timedelta(days=27)
    logs = _of_the_row(SessionLog).filter(plan__patient=OuterRef("pk")).order_by(*NEWEST_FIRST)
    pk = F("pk")
    qs = qs.annotate(
        adherence_7_prescribed=PatientSessions(pk, "prescribed", week_start, today),
        adherence_7_completed=PatientSessions(pk, "completed", week_start, today),
        adherence_7=PatientSessions(pk, "percent", week_start, today),
        adherence_28_prescribed=PatientSessions(pk, "prescribed", month_start, today),
        adherence_28_completed=PatientSessions(pk, "completed", month_start, today),
        adherence_28=PatientSessions(pk, "percent", month_start, today),
        last_log_date=_latest("date", today),
        latest_pain=_latest("pain", today),
        latest_pain_this_week=NewestLog(pk, "pain", week_start, today),
        pain_week_before=NewestLog(
            pk,
            "pain",
            today - datetime.timedelta(days=PAIN_LOOKBACK_DAYS),
            today - datetime.timedelta(days=7),
        ),
        lasting_nerve_symptoms=Exists(
            logs.filter(date__range=(week_start, today), symptoms_lasted=True)
        ),
        outcome_worse=_outcome_worse(),
        first_active_start=Subquery(
            _of_the_row(Plan)
            .filter(patient=OuterRef("pk"), status=Plan.Status.ACTIVE)
            .order_by("start_date")
            .values("start_date")[:1]
        ),
    )
    # NULL (no change shown) unless there is a score this week and one the week
    # before. A plain difference, not a CASE over last_log_date/latest_pain: the
    # ORM repeats an annotation's subquery wherever it is referenced, and the
    # attention filter already reads those two.
    return qs.annotate(
        pain_change_7d=ExpressionWrapper(
            F("latest_pain_this_week") - F("pain_week_before"), output_field=IntegerField()
        ),
    )


def _days_without_log(today: datetime.date) -> Expression:
    """Days since the last log, or since the first active plan started if never logged."""
    return Coalesce(
        DaysBetween(F("last_log_date"), _date(today)),
        DaysBetween(F("first_active_start"), _date(today)) + 1,
        output_field=IntegerField(),
    )


def attention_q(today: datetime.date) -> Q:
    """Rows of annotate_patients() that need attention, by their own clinic's thresholds.

    No session logged for N days (or none since the first active plan started N days
    ago), 7-day adherence under X %, latest pain at or above P or up by R or more
    over 7 days, nerve symptoms lasting after exercise this week, or an outcome
    score worse by the MCID. The three conditions on the newest log are read by one
    lookup (LogAttention) rather than from the annotations, which would look the
    newest log up four times; the cheap conditions come first, so that the lookup
    runs only for patients they do not flag (an OR stops at the first true term).
    """
    clinic = "clinic__attention_"
    low = LessThan(F("adherence_7"), F(f"{clinic}adherence_below"))
    # Never logged: days since the first active plan started, that day included.
    never_logged = GreaterThanOrEqual(
        DaysBetween(F("first_active_start"), _date(today)) + 1, F(f"{clinic}days_without_log")
    )
    from_logs = Coalesce(
        LogAttention(
            F("pk"),
            today,
            F(f"{clinic}days_without_log"),
            F(f"{clinic}pain_at_least"),
            F(f"{clinic}pain_rise"),
        ),
        Case(When(never_logged, then=1), default=0),
    )
    # "An active plan has started": the same as first_active_start <= today, read by
    # one Exists instead of the annotation's subquery twice (the ORM repeats it).
    started = Exists(
        _of_the_row(Plan).filter(
            patient=OuterRef("pk"), status=Plan.Status.ACTIVE, start_date__lte=today
        )
    )
    return (
        Q(is_active=True)
        & Q(started)
        & (Q(low) | Q(lasting_nerve_symptoms=True) | Q(outcome_worse=True) | Q(Exact(from_logs, 1)))
    )


def no_log_q(today: datetime.date) -> Q:
    return Q(first_active_start__isnull=False) & Q(
        GreaterThanOrEqual(_days_without_log(today), F("clinic__attention_days_without_log"))
    )


def low_adherence_q() -> Q:
    return Q(LessThan(F("adherence_7"), F("clinic__attention_adherence_below")))


@functools.lru_cache(maxsize=4096)
def _day_in(language: str | None, fmt: str, day: datetime.date) -> str:
    return formats.date_format(day, fmt)


def format_day(day: datetime.date, fmt: str) -> str:
    """`day` as the template filter `date:fmt` writes it in the active language.

    Each language, format and day is formatted once per process: Django's formatter
    parses the format on every call, and History wrote about a hundred dates a
    request, the same ones for every patient of a clinic on a given day. The
    language is part of the key; the names of days and months it reads come from
    the message catalogues, which a process loads once.
    """
    return _day_in(get_language(), fmt, day)


def short_date(d: datetime.date) -> str:
    """The day as "2 Mar", in the reader's language (strftime would use the server's)."""
    # Translators: letters of Django's date filter; "j M" prints "2 Mar".
    return format_day(d, pgettext("date format", "j M"))


def attention_reasons(patient: Patient, clinic: Clinic, today: datetime.date) -> list[str]:
    """Why an annotated patient row is on the attention list, in plain words."""
    row: Any = patient
    reasons = []
    if row.first_active_start is not None and row.first_active_start <= today:
        if row.last_log_date is None:
            days = (today - row.first_active_start).days + 1
            if days >= clinic.attention_days_without_log:
                reasons.append(
                    _("No session logged since the plan started %(days)s days ago") % {"days": days}
                )
        else:
            days = (today - row.last_log_date).days
            if days >= clinic.attention_days_without_log:
                reasons.append(_("No session logged for %(days)s days") % {"days": days})
    if row.adherence_7 is not None and row.adherence_7 < clinic.attention_adherence_below:
        reasons.append(_("Adherence %(percent)s%% over 7 days") % {"percent": row.adherence_7})
    if row.latest_pain is not None and row.latest_pain >= clinic.attention_pain_at_least:
        reasons.append(
            _("Pain %(pain)s/10 on %(date)s")
            % {"pain": row.latest_pain, "date": short_date(row.last_log_date)}
        )
    if row.pain_change_7d is not None and row.pain_change_7d >= clinic.attention_pain_rise:
        reasons.append(_("Pain up %(points)s points in a week") % {"points": row.pain_change_7d})
    if row.lasting_nerve_symptoms:
        reasons.append(_("Nerve symptoms lasted after exercise"))
    if row.outcome_worse:
        reasons.append(_("Outcome score worse than at the start by at least the MCID"))
    return reasons


@dataclass(frozen=True)
class AttentionEntry:
    patient: Patient
    reasons: list[str]
    # The newest active plan, whose progress panel shows the reasons (None: no plan).
    plan_id: int | None = None


def patients_needing_attention(
    clinic: Clinic, today: datetime.date | None = None, limit: int = 25
) -> tuple[list[AttentionEntry], int]:
    """The clinic's patients who need attention (at most `limit`), and how many in all.

    One query: the total rides along as a window count over the flagged rows.
    Lowest 7-day adherence first, then by name. Where it pays off (PostgreSQL),
    the 7-day figures the filter and the order read come from one grouped pass
    over the clinic's patients (PatientFigures).
    """
    today = today or clinic.today()
    patients = annotate_patients(Patient.objects.filter(clinic=clinic), today)
    if grouping_pays_off(patients):
        patients = with_patient_figures(
            patients, figure_periods(today)[:1], Patient.objects.filter(clinic=clinic)
        )
    rows: list[Any] = list(
        patients.filter(attention_q(today))
        .annotate(
            attention_total=Window(Count("pk")),
            attention_plan=Subquery(
                Plan.objects.filter(patient=OuterRef("pk"), status=Plan.Status.ACTIVE)
                .order_by("-start_date", "-pk")
                .values("pk")[:1]
            ),
        )
        .order_by(F("adherence_7").asc(nulls_last=True), "last_name", "first_name", "pk")[:limit]
    )
    total = rows[0].attention_total if rows else 0
    return [
        AttentionEntry(p, attention_reasons(p, clinic, today), p.attention_plan) for p in rows
    ], total


def _overview_figures(
    patient_id: int,
    today: datetime.date,
    week_start: datetime.date,
    month_start: datetime.date,
    recent: datetime.date,
) -> QuerySet[Any]:
    pk = F("pk")
    return (
        Patient.objects.filter(pk=patient_id)
        .annotate(
            week_prescribed=PatientSessions(pk, "prescribed", week_start, today),
            week_completed=PatientSessions(pk, "completed", week_start, today),
            month_prescribed=PatientSessions(pk, "prescribed", month_start, today),
            month_completed=PatientSessions(pk, "completed", month_start, today),
            last_log_date=_latest("date", today, recent),
            latest_pain=_latest("pain", today, recent),
            streak_days=StreakDays(pk, today),
        )
        .values(
            "week_prescribed",
            "week_completed",
            "month_prescribed",
            "month_completed",
            "last_log_date",
            "latest_pain",
            "streak_days",
        )
    )


# History's two reads, compiled once (clinic.prepared): building the figures' query
# cost more CPU than running it. Every date is an argument of its own.
_overview_row = PreparedQuery(_overview_figures)


def _overview_logs(patient_id: int, start: datetime.date, end: datetime.date) -> QuerySet[Any]:
    logs = SessionLog.objects.filter(plan__patient_id=patient_id, date__range=(start, end))
    return logs.order_by(*NEWEST_FIRST).values_list("date", "pain", "symptoms_lasted")


_overview_window = PreparedQuery(_overview_logs)


def patient_overview(patient: Patient, today: datetime.date) -> PatientOverview:
    """Everything the History page shows about one patient. Two queries.

    The same figures as `annotate_patients` (a property test compares the two), for
    one patient: the adherence sums by the same subqueries, the newest log by the
    same lookups; the pain and nerve figures of the last weeks read from that
    window's logs in Python, rather than by the admin list's subqueries, which are
    most of the cost of building and compiling that query for one row.
    """
    week_start = today - datetime.timedelta(days=6)
    month_start = today - datetime.timedelta(days=27)
    recent = today - datetime.timedelta(days=RECENT_DAYS)
    rows: list[Any] = _overview_row(patient.pk, today, week_start, month_start, recent)
    if not rows:
        raise Patient.DoesNotExist
    row = rows[0]
    # The last four weeks' logs, newest first (PAIN_LOOKBACK_DAYS lies within them).
    window: list[Any] = _overview_window(patient.pk, month_start, today)
    this_week = [(pain, lasted) for date, pain, lasted in window if date >= week_start]
    before_start = today - datetime.timedelta(days=PAIN_LOOKBACK_DAYS)
    before_end = today - datetime.timedelta(days=7)
    week_before = [pain for date, pain, _lasted in window if before_start <= date <= before_end]
    # A plain difference, NULL unless there is a score this week and one the week before.
    pain_change = this_week[0][0] - week_before[0] if this_week and week_before else None
    top: dict[datetime.date, int] = {}
    for date, pain, _lasted in window:
        top[date] = max(pain, top.get(date, pain))
    last = row["last_log_date"]
    return PatientOverview(
        adherence_7=Adherence.of(row["week_completed"], row["week_prescribed"]),
        adherence_28=Adherence.of(row["month_completed"], row["month_prescribed"]),
        streak_days=row["streak_days"],
        last_log_date=last,
        days_since_last_log=(today - last).days if last else None,
        latest_pain=row["latest_pain"],
        pain_change_7d=pain_change,
        lasting_nerve_symptoms=any(lasted for _pain, lasted in this_week),
        pain_series=sorted(top.items()),
    )


def pain_series(
    logs: QuerySet[SessionLog], start: datetime.date, end: datetime.date
) -> list[tuple[datetime.date, int]]:
    """The pain chart's points: each day's highest score from start to end. One query."""
    return list(
        logs.filter(date__range=(start, end))
        .order_by("date")
        .values("date")
        .annotate(top=Max("pain"))
        .values_list("date", "top")
    )


@dataclass(frozen=True)
class NervePoint:
    """One logged session's nerve symptoms, for the plan page's chart."""

    date: datetime.date
    session_number: int
    kind: SessionLog.NerveSymptoms
    lasted: bool
    minutes: int | None


def nerve_series(
    logs: QuerySet[SessionLog], start: datetime.date, end: datetime.date
) -> list[NervePoint]:
    """Every session's nerve symptoms from start to end, oldest first. One query."""
    rows = (
        logs.filter(date__range=(start, end))
        .order_by("date", "session_number")
        .values_list(
            "date", "session_number", "nerve_symptoms", "symptoms_lasted", "symptoms_minutes"
        )
    )
    return [
        NervePoint(day, number, SessionLog.NerveSymptoms(kind), lasted, minutes)
        for day, number, kind, lasted, minutes in rows
    ]
