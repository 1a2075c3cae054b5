"""Dose suggestions: progress, keep or back off each exercise, from the patient's own logs.

The therapist decides: a suggestion is only shown, with its reasons, on the
plan page; nothing changes until the therapist presses Apply (see
`apply_suggestion`), and Dismiss hides it. Adherence figures come from
prescriptions.adherence, like everywhere else.

What is read: the last WINDOW_DAYS days of the plan (from the day after the
exercise's last applied change, if later): each exercise's sessions due and
done (adherence.exercise_adherence), the pain score of each logged session in
date order, the effort ratings of the sessions that included the exercise, and
whether nerve symptoms (tingling, numbness) lasted after a session. The
thresholds are the clinic's settings (Clinic.suggest_*); the defaults are shown
in brackets.

The rules, in the order they are tried; the first that matches decides:

1. Too little to go on: fewer days with logs than `suggest_min_days` (5): keep.
2. Nerve symptoms lasted after exercise on any day: a nerve mobilisation
   exercise is backed off (its easier variant, e.g. the slider instead of the
   tensioner, or else a smaller dose); every other exercise is kept. Lasting
   symptoms always win over progression.
3. Pain rose by `suggest_regress_pain_rise` (2) points or more (the mean of
   the last three sessions against the first three): back off. This too
   always wins over progression.
4. Effort "too hard" on `suggest_effort_count` (3) or more sessions: back off.
5. Progress when all of these hold: done in at least
   `suggest_progress_adherence` (80 %) of the sessions due, the highest pain
   at most `suggest_progress_pain_max` (3), pain not rising, no session rated
   "too hard", and "too easy" on `suggest_effort_count` (3) sessions or more.
6. Otherwise: keep.

One step of progress: two more repetitions (up to 15), else one more set (up
to 4), else the harder variant; a hold ten seconds longer (up to 60), else one
more set, else the harder variant; two more minutes of a timed activity. One
step back: the easier variant for nerve work with lasting symptoms; two fewer
repetitions (at least 4), else one set fewer, else the easier variant; a hold
ten seconds shorter (at least 10 s); two minutes fewer. Never outside the
model's dosage bounds.

Where the rules come from: progressing a load once the current dose is done in
full on consecutive sessions and feels easy follows the American College of
Sports Medicine's progression models (Med Sci Sports Exerc 2009;41:687-708);
backing off when pain rises from one week to the next follows the
pain-monitoring model (Silbernagel et al., Am J Sports Med 2007;35:897-906);
sliders before tensioners when nerve symptoms are irritable follows Coppieters
and Butler (Man Ther 2008;13:213-221). The step sizes and default thresholds
are Rehabit's choices, not values from those sources: clinics can change the
thresholds.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from clinic import audit
from clinic.constraints import Bound
from clinic.models import Clinic, User
from prescriptions import adherence, localise
from prescriptions.models import (
    DURATION_MINUTES,
    HOLD_SECONDS,
    REPS,
    SETS,
    DoseDecision,
    Exercise,
    Plan,
    PlanItem,
    SessionLog,
)
from prescriptions.plans import bump_revision

if TYPE_CHECKING:
    from django.http import HttpRequest

WINDOW_DAYS = 14
# One step of a dose (see the module docstring).
REPS_STEP, REPS_TOP, REPS_FLOOR = 2, 15, 4
HOLD_STEP, HOLD_TOP, HOLD_FLOOR = 10, 60, 10
MINUTES_STEP = 2
SETS_TOP = 4
# Pain trend: the mean of this many sessions at each end of the window.
TREND_SESSIONS = 3


class Kind(StrEnum):
    PROGRESS = "progress"
    KEEP = "keep"
    REGRESS = "regress"


@dataclass(frozen=True)
class Thresholds:
    progress_adherence: int = 80
    progress_pain_max: int = 3
    effort_count: int = 3
    regress_pain_rise: int = 2
    min_days: int = 5

    @classmethod
    def of(cls, clinic: Clinic) -> Thresholds:
        return cls(
            progress_adherence=clinic.suggest_progress_adherence,
            progress_pain_max=clinic.suggest_progress_pain_max,
            effort_count=clinic.suggest_effort_count,
            regress_pain_rise=clinic.suggest_regress_pain_rise,
            min_days=clinic.suggest_min_days,
        )


@dataclass(frozen=True)
class Dose:
    """The part of a plan item a suggestion may change."""

    exercise: Exercise
    sets: int
    reps: int | None
    hold_seconds: int | None
    duration_minutes: int | None

    @classmethod
    def of(cls, item: PlanItem) -> Dose:
        return cls(item.exercise, item.sets, item.reps, item.hold_seconds, item.duration_minutes)

    def values(self) -> dict[str, Any]:
        return {
            "exercise_id": self.exercise.pk,
            "sets": self.sets,
            "reps": self.reps,
            "hold_seconds": self.hold_seconds,
            "duration_minutes": self.duration_minutes,
        }


@dataclass(frozen=True)
class Signals:
    """What the logs say about one exercise over the window."""

    item: PlanItem
    days_logged: int
    done: int
    due: int
    percent: int | None
    pains: Sequence[int]  # each logged session's pain, oldest first
    too_easy: int
    too_hard: int
    lasting_nerve_days: int


@dataclass(frozen=True)
class Suggestion:
    item: PlanItem
    kind: Kind
    current: Dose
    proposed: Dose
    reasons: list[str] = field(default_factory=list)

    @property
    def changes(self) -> list[str]:
        return describe_change(self.current, self.proposed)

    @property
    def signature(self) -> str:
        """Identifies this proposal for this revision: a dismissed one is not shown again."""
        data = [self.item.pk, self.item.plan.revision, self.kind, self.proposed.values()]
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:32]

    @property
    def actionable(self) -> bool:
        return self.kind != Kind.KEEP and self.proposed != self.current


# --- The rules -------------------------------------------------------------------


def pain_rise(pains: Sequence[int]) -> float | None:
    """Mean of the last TREND_SESSIONS sessions minus the mean of the first; None if too few."""
    if len(pains) < 2:
        return None
    n = min(TREND_SESSIONS, len(pains) // 2)
    first, last = pains[:n], pains[-n:]
    return sum(last) / n - sum(first) / n


def _trend_word(rise: float | None) -> str:
    if rise is None:
        return ""
    if rise >= 1:
        return _("rising")
    if rise <= -1:
        return _("falling")
    return _("steady")


def _common_reasons(s: Signals) -> list[str]:
    reasons = []
    if s.percent is not None:
        reasons.append(
            _("done in %(done)s of %(due)s sessions due (%(percent)s %%)")
            % {"done": s.done, "due": s.due, "percent": s.percent}
        )
    if s.pains:
        low, high = min(s.pains), max(s.pains)
        span = str(low) if low == high else f"{low}–{high}"
        trend = _trend_word(pain_rise(s.pains))
        reasons.append(
            _("pain %(span)s and %(trend)s") % {"span": span, "trend": trend}
            if trend
            else _("pain %(span)s") % {"span": span}
        )
    if s.too_easy:
        reasons.append(
            ngettext("effort 'too easy' %(n)s time", "effort 'too easy' %(n)s times", s.too_easy)
            % {"n": s.too_easy}
        )
    if s.too_hard:
        reasons.append(
            ngettext("effort 'too hard' %(n)s time", "effort 'too hard' %(n)s times", s.too_hard)
            % {"n": s.too_hard}
        )
    return reasons


def suggest(s: Signals, t: Thresholds) -> Suggestion:
    """The suggestion for one exercise: the rules of the module docstring, in order."""
    item = s.item
    current = Dose.of(item)
    is_nerve = item.exercise.category == Exercise.Category.NERVE_MOBILISATION
    reasons = _common_reasons(s)

    def made(
        kind: Kind, first_reason: str | None = None, proposed: Dose | None = None
    ) -> Suggestion:
        why = [first_reason, *reasons] if first_reason else reasons
        return Suggestion(item, kind, current, proposed or current, why)

    if s.days_logged < t.min_days:
        return made(
            Kind.KEEP,
            _("not enough logs yet: %(days)s of the %(needed)s days needed")
            % {"days": s.days_logged, "needed": t.min_days},
        )
    if s.lasting_nerve_days:
        lasting = ngettext(
            "nerve symptoms lasted after exercise on %(n)s day",
            "nerve symptoms lasted after exercise on %(n)s days",
            s.lasting_nerve_days,
        ) % {"n": s.lasting_nerve_days}
        if is_nerve:
            return made(Kind.REGRESS, lasting, regress(current, prefer_easier=True))
        return made(Kind.KEEP, lasting)
    rise = pain_rise(s.pains)
    if rise is not None and rise >= t.regress_pain_rise:
        return made(
            Kind.REGRESS,
            _("pain rose by %(points)s points") % {"points": f"{rise:g}"},
            regress(current, prefer_easier=False),
        )
    if s.too_hard >= t.effort_count:
        return made(Kind.REGRESS, None, regress(current, prefer_easier=False))
    ready = (
        s.percent is not None
        and s.percent >= t.progress_adherence
        and bool(s.pains)
        and max(s.pains) <= t.progress_pain_max
        and (rise is None or rise < 1)
        and s.too_hard == 0
        and s.too_easy >= t.effort_count
    )
    if ready:
        proposed = progress(current)
        if proposed != current:
            return made(Kind.PROGRESS, None, proposed)
        return made(Kind.KEEP, _("already at the highest dose and no harder variant"))
    return made(Kind.KEEP)


def _bounded(value: int, bound: Bound) -> int:
    return max(bound.low, min(bound.high, value))


def _variant_dose(current: Dose, exercise: Exercise) -> Dose:
    """Switch to a variant at the variant's own default amount (its dose is its own)."""
    return Dose(
        exercise,
        _bounded(exercise.sets, SETS),
        exercise.reps,
        exercise.hold_seconds,
        exercise.duration_minutes,
    )


def progress(current: Dose) -> Dose:
    """One step up (see the module docstring); the same dose when there is none."""
    harder = current.exercise.harder
    if current.reps is not None:
        if current.reps < REPS_TOP:
            new = min(current.reps + REPS_STEP, REPS_TOP, REPS.high)
            return Dose(
                current.exercise, current.sets, new, current.hold_seconds, current.duration_minutes
            )
    elif current.hold_seconds is not None:
        if current.hold_seconds < HOLD_TOP:
            new = min(current.hold_seconds + HOLD_STEP, HOLD_TOP, HOLD_SECONDS.high)
            return Dose(current.exercise, current.sets, None, new, current.duration_minutes)
    elif current.duration_minutes is not None:
        new = min(current.duration_minutes + MINUTES_STEP, DURATION_MINUTES.high)
        return Dose(current.exercise, current.sets, None, None, new)
    if current.sets < min(SETS_TOP, SETS.high) and current.duration_minutes is None:
        return Dose(
            current.exercise,
            current.sets + 1,
            current.reps,
            current.hold_seconds,
            current.duration_minutes,
        )
    if harder is not None and harder.is_active:
        return _variant_dose(current, harder)
    return current


def regress(current: Dose, *, prefer_easier: bool) -> Dose:
    """One step down (see the module docstring); the same dose when there is none."""
    easier = current.exercise.easier
    if prefer_easier and easier is not None and easier.is_active:
        return _variant_dose(current, easier)
    if current.reps is not None and current.reps > REPS_FLOOR:
        new = max(current.reps - REPS_STEP, REPS_FLOOR, REPS.low)
        return Dose(
            current.exercise, current.sets, new, current.hold_seconds, current.duration_minutes
        )
    if current.hold_seconds is not None and current.hold_seconds > HOLD_FLOOR:
        new = max(current.hold_seconds - HOLD_STEP, HOLD_FLOOR, HOLD_SECONDS.low)
        return Dose(current.exercise, current.sets, current.reps, new, current.duration_minutes)
    if current.duration_minutes is not None and current.duration_minutes > DURATION_MINUTES.low:
        new = max(current.duration_minutes - MINUTES_STEP, DURATION_MINUTES.low)
        return Dose(current.exercise, current.sets, current.reps, current.hold_seconds, new)
    if current.sets > SETS.low:
        return Dose(
            current.exercise,
            current.sets - 1,
            current.reps,
            current.hold_seconds,
            current.duration_minutes,
        )
    if easier is not None and easier.is_active:
        return _variant_dose(current, easier)
    return current


def describe_change(current: Dose, proposed: Dose) -> list[str]:
    """The change in words: "repetitions 10 → 12", "Nerve slider instead of Nerve tensioner"."""
    if proposed.exercise.pk != current.exercise.pk:
        return [
            _("%(new)s instead of %(old)s")
            % {"new": proposed.exercise.name, "old": current.exercise.name}
        ]
    labels = {
        "sets": _("sets"),
        "reps": _("repetitions"),
        "hold_seconds": _("hold (seconds)"),
        "duration_minutes": _("duration (minutes)"),
    }
    changes = []
    for name, label in labels.items():
        old, new = getattr(current, name), getattr(proposed, name)
        if old != new:
            changes.append(f"{label} {old} → {new}")
    return changes


# --- Reading the logs ------------------------------------------------------------


def window(plan: Plan, today: datetime.date) -> tuple[datetime.date, datetime.date]:
    end = min(today, plan.end_date) if plan.end_date else today
    return max(plan.start_date, end - datetime.timedelta(days=WINDOW_DAYS - 1)), end


def plan_signals(plan: Plan, today: datetime.date) -> list[Signals]:
    """Each exercise's signals over the window. Five queries, whatever the plan's size (six
    when the reader's language is not the site's: the exercises' names in it; and
    one more per date an exercise was changed on in the window)."""
    start, end = window(plan, today)
    if start > end:
        return []
    last_applied = dict(
        DoseDecision.objects.filter(plan=plan, decision=DoseDecision.Decision.APPLIED)
        .order_by("item_id", "decided_on")
        .values_list("item_id", "decided_on")
    )
    per_item = {row.item.pk: row for row in adherence.exercise_adherence(plan, start, end)}
    # The easier and harder variants of every exercise, in one query.
    exercises = [row.item.exercise for row in per_item.values()]
    variant_ids = {e.easier_id for e in exercises} | {e.harder_id for e in exercises}
    variants = Exercise.objects.in_bulk([pk for pk in variant_ids if pk is not None])
    # Names in the reader's (the therapist's) language: "Slider instead of Tensioner".
    shown = localise.exercises_in([*exercises, *variants.values()], get_language())
    variants = {pk: shown.get(pk, variant) for pk, variant in variants.items()}
    for row in per_item.values():
        row.item.plan = plan
        exercise = row.item.exercise = shown.get(row.item.exercise_id, row.item.exercise)
        exercise.easier = variants.get(exercise.easier_id) if exercise.easier_id else None
        exercise.harder = variants.get(exercise.harder_id) if exercise.harder_id else None
    sessions = list(
        SessionLog.objects.filter(plan=plan, date__range=(start, end))
        .prefetch_related("exercises")
        .order_by("date", "session_number")
    )
    figures_from: dict[datetime.date, dict[int, adherence.Adherence]] = {
        start: {item_id: row.adherence for item_id, row in per_item.items()}
    }
    signals = []
    for item_id, row in per_item.items():
        since = last_applied.get(item_id)
        item_start = max(start, since + datetime.timedelta(days=1)) if since else start
        own = [s for s in sessions if s.date >= item_start]
        included = [
            s
            for s in own
            if any(
                e.item_id == item_id and (e.sets_done or e.sets_left or e.sets_right)
                for e in s.exercises.all()
            )
        ]
        if item_start not in figures_from:
            # Changed lately: count from the change (one more query per such date).
            figures_from[item_start] = {
                r.item.pk: r.adherence for r in adherence.exercise_adherence(plan, item_start, end)
            }
        figures = figures_from[item_start][item_id]
        signals.append(
            Signals(
                item=row.item,
                days_logged=len({s.date for s in own}),
                done=figures.completed,
                due=figures.prescribed,
                percent=figures.percent,
                pains=[s.pain for s in own],
                too_easy=sum(1 for s in included if s.effort == SessionLog.Effort.TOO_EASY),
                too_hard=sum(1 for s in included if s.effort == SessionLog.Effort.TOO_HARD),
                lasting_nerve_days=len({s.date for s in own if s.symptoms_lasted}),
            )
        )
    return signals


def suggestions_for_plan(plan: Plan, today: datetime.date | None = None) -> list[Suggestion]:
    """Every exercise's suggestion, without those the therapist already dismissed."""
    today = today or plan.patient.clinic.today()
    thresholds = Thresholds.of(plan.patient.clinic)
    dismissed = set(
        DoseDecision.objects.filter(plan=plan, plan_revision=plan.revision).values_list(
            "signature", flat=True
        )
    )
    return [
        suggestion
        for suggestion in (suggest(s, thresholds) for s in plan_signals(plan, today))
        if suggestion.signature not in dismissed
    ]


# --- The therapist's decision ----------------------------------------------------


def _find(plan: Plan, signature: str, today: datetime.date) -> Suggestion:
    for suggestion in suggestions_for_plan(plan, today):
        if suggestion.signature == signature and suggestion.actionable:
            return suggestion
    raise ValidationError(
        _("This suggestion is out of date: the plan or its logs changed. Look at it again."),
        "stale",
    )


def _record(
    plan: Plan, suggestion: Suggestion, decision: str, user: User, today: datetime.date
) -> DoseDecision:
    return DoseDecision.objects.create(
        plan=plan,
        item=suggestion.item,
        plan_revision=plan.revision,
        signature=suggestion.signature,
        kind=suggestion.kind,
        change="; ".join(suggestion.changes),
        reasons="; ".join(suggestion.reasons),
        decision=decision,
        decided_by=user,
        decided_on=today,
    )


@transaction.atomic
def apply_suggestion(
    *, plan: Plan, signature: str, user: User, request: HttpRequest | None = None
) -> Suggestion:
    """Make the suggested change as one new revision of the plan, recorded in the plan's
    history and the audit trail; the handout is rendered again after the commit."""
    plan = Plan.objects.select_for_update(of=("self",)).get(pk=plan.pk)
    today = plan.patient.clinic.today()
    suggestion = _find(plan, signature, today)
    _record(plan, suggestion, DoseDecision.Decision.APPLIED, user, today)
    item = suggestion.item
    before = suggestion.current.values()
    for name, value in suggestion.proposed.values().items():
        setattr(item, name, value)
    item.full_clean(exclude=["plan"], validate_unique=False)
    item.save()
    bump_revision(plan)
    audit.record(
        request,
        audit.Action.CHANGE,
        obj=item,
        actor=user,
        changes=audit.value_changes(PlanItem, before, suggestion.proposed.values()),
        detail=f"dose suggestion applied ({suggestion.kind}): " + "; ".join(suggestion.changes),
    )
    LogEntry.objects.log_actions(
        user_id=user.pk,
        queryset=[plan],
        action_flag=CHANGE,
        change_message=_(
            "Applied a dose suggestion for %(exercise)s: %(change)s. Because: %(why)s."
        )
        % {
            "exercise": item.exercise.name,
            "change": "; ".join(suggestion.changes),
            "why": "; ".join(suggestion.reasons),
        },
        single_object=True,
    )
    transaction.on_commit(lambda: _rerender(plan))
    return suggestion


def _rerender(plan: Plan) -> None:
    from prescriptions.tasks import schedule_handout

    schedule_handout(plan)


@transaction.atomic
def dismiss_suggestion(
    *, plan: Plan, signature: str, user: User, request: HttpRequest | None = None
) -> Suggestion:
    today = plan.patient.clinic.today()
    suggestion = _find(plan, signature, today)
    _record(plan, suggestion, DoseDecision.Decision.DISMISSED, user, today)
    return suggestion
