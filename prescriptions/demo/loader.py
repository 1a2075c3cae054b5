"""Loading the demo data (demo.toml, beside this module) into the database.

The data file holds two clinics, their therapists, patients with plans and the
story of each patient's logging; this module reads it (`read_demo`) and creates
the rows (`seed_demo`), generating the sessions from each story.

`seed_demo()` is idempotent. Every row is found by a stable key (clinic slug,
email address, patient + protocol, plan + date + session) and only created when
missing, so running it again changes nothing. The history is generated from a
fixed seed and anchored on each plan's start date; it ends on the day the plan
was seeded, so it is the same on every machine and a rerun on a later day adds
no new logs.

The accounts use published passwords: never run this against a real clinic's
database (the management command refuses to unless DEBUG is on).
"""

from __future__ import annotations

import dataclasses
import datetime
import random
import tomllib
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from clinic.models import PAIN_SCALE, Clinic, Patient, Therapist, User
from clinic.roles import GROUP_FOR_ROLE
from clinic.scoping import unscoped
from prescriptions import history as plan_history
from prescriptions import plans
from prescriptions.adherence import due_days, sessions_per_day
from prescriptions.library.loader import load_library
from prescriptions.models import (
    ExerciseLog,
    OutcomeMeasure,
    Plan,
    PlanItem,
    PlanTemplate,
    QuestionnaireResponse,
    SessionLog,
    Side,
)
from prescriptions.outcomes.responses import flag_worse_scores, questions
from prescriptions.outcomes.scoring import score

DATA_FILE = Path(__file__).resolve().parent / "demo.toml"


class DemoDataError(Exception):
    """demo.toml is wrong; the message names the table and the key."""


@dataclasses.dataclass(frozen=True)
class Login:
    role: str
    email: str
    password: str
    where: str
    full_name: str = ""


@dataclasses.dataclass(frozen=True)
class StaffSpec:
    login: Login
    full_name: str
    clinic: str
    role: str
    job_title: str


@dataclasses.dataclass(frozen=True)
class History:
    """How a patient logs: the story the adherence views should tell."""

    adherence: float  # chance of doing each session that is due
    pain_start: int
    pain_end: int
    # No logs in the last `stopped_days` days of the window (last log that many days ago).
    stopped_days: int = 0
    # Pain climbs and nerve symptoms linger in the last `flare_days` days.
    flare_days: int = 0
    flare_pain: int = 0
    # Chance of brief tingling during the nerve exercises, settling quickly.
    tingling: float = 0.0
    comments: tuple[str, ...] = ()
    # Chance that a session (outside a flare) is rated "too easy" (issue 12's demo of a
    # patient ready to progress); 0 draws nothing, so other histories stay as they were.
    too_easy: float = 0.0


@dataclasses.dataclass(frozen=True)
class OutcomeSpec:
    """A questionnaire on the plan, and the answers given at its first occasions."""

    instrument: str
    at_start: bool = True
    every_weeks: int | None = None
    at_end: bool = False
    activities: tuple[str, ...] = ()
    # One table of answers (link_id = value) per occasion, oldest first; later
    # occasions are left unanswered (due, when open).
    answers: tuple[dict[str, int], ...] = ()


@dataclasses.dataclass(frozen=True)
class PlanSpec:
    template: str
    status: str
    start_days_ago: int
    history: History | None = None
    outcomes: tuple[OutcomeSpec, ...] = ()


@dataclasses.dataclass(frozen=True)
class PatientSpec:
    email: str
    first_name: str
    last_name: str
    date_of_birth: datetime.date
    clinic: str
    therapist: str  # the therapist's email
    phone: str
    notes: str
    plans: tuple[PlanSpec, ...]
    login: bool = True
    large_print: bool = False
    reminder_time: datetime.time | None = None


@dataclasses.dataclass(frozen=True)
class DemoData:
    seed: str
    log_namespace: uuid.UUID
    history_days: int
    clinics: dict[str, dict[str, str]]
    logins: dict[str, Login]  # in the order seed_demo prints them
    staff: tuple[StaffSpec, ...]
    patients: tuple[PatientSpec, ...]

    @property
    def patient_password(self) -> str:
        """Every demo patient with a portal login shares the patient login's password."""
        return self.logins["patient"].password

    @property
    def plan_templates(self) -> list[str]:
        return sorted({plan.template for p in self.patients for plan in p.plans})


def _build[T](kind: type[T], where: str, values: dict[str, Any]) -> T:
    try:
        return kind(**values)
    except TypeError as error:
        raise DemoDataError(f"{where}: {error}") from None


def read_demo(path: Path = DATA_FILE) -> DemoData:
    """The demo data in `path`, checked for unknown and missing keys."""
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    history = raw["history"]
    logins = {
        name: _build(Login, f"logins.{name}", values) for name, values in raw["logins"].items()
    }
    staff = tuple(
        _build(StaffSpec, f"staff {n}", {**values, "login": logins[values["login"]]})
        for n, values in enumerate(raw["staff"], start=1)
    )
    patients = []
    for n, values in enumerate(raw["patients"], start=1):
        where = f"patient {n} ({values.get('email', '?')})"
        plans_ = tuple(
            _build(
                PlanSpec,
                f"{where}, plan {m}",
                {
                    **plan,
                    "history": _build(
                        History,
                        f"{where}, plan {m}, history",
                        {**plan["history"], "comments": tuple(plan["history"].get("comments", ()))},
                    )
                    if "history" in plan
                    else None,
                    "outcomes": tuple(
                        _build(
                            OutcomeSpec,
                            f"{where}, plan {m}, outcome {k}",
                            {
                                **outcome,
                                "activities": tuple(outcome.get("activities", ())),
                                "answers": tuple(outcome.get("answers", ())),
                            },
                        )
                        for k, outcome in enumerate(plan.get("outcomes", ()), start=1)
                    ),
                },
            )
            for m, plan in enumerate(values.get("plans", ()), start=1)
        )
        patients.append(_build(PatientSpec, where, {**values, "plans": plans_}))
    return DemoData(
        seed=history["seed"],
        log_namespace=uuid.UUID(history["log_namespace"]),
        history_days=history["days"],
        clinics=raw["clinics"],
        logins=logins,
        staff=staff,
        patients=tuple(patients),
    )


@dataclasses.dataclass
class DemoReport:
    logins: list[Login]
    created: Counter[str]

    @property
    def created_total(self) -> int:
        return sum(self.created.values())


def seed_demo(data: DemoData | None = None) -> DemoReport:
    """Create whatever demo rows are missing; see the module docstring."""
    # The demo spans two clinics and the shared library.
    with unscoped():
        return _seed(data or read_demo())


@transaction.atomic
def _seed(data: DemoData) -> DemoReport:
    templates = _templates(data.plan_templates)
    created: Counter[str] = Counter()
    hashes: dict[str, str] = {}

    clinics = {slug: _clinic(slug, fields, created) for slug, fields in data.clinics.items()}
    _superuser(data.logins["superuser"], hashes, created)
    therapists = {
        spec.login.email: _therapist(spec, clinics[spec.clinic], hashes, created)
        for spec in data.staff
    }
    for spec in data.patients:
        clinic = clinics[spec.clinic]
        patient = _patient(spec, clinic, therapists[spec.therapist], data, hashes, created)
        today = clinic.today()
        for plan_spec in spec.plans:
            therapist = therapists[spec.therapist]
            plan = _plan(plan_spec, patient, therapist, templates, today, data, created)
            if plan_spec.history is not None:
                _history(plan, plan_spec.history, spec.email, today, data, created)
            for outcome in plan_spec.outcomes:
                _outcome(plan, outcome, today, created)
    return DemoReport(logins=list(data.logins.values()), created=created)


def _templates(slugs: list[str]) -> dict[str, PlanTemplate]:
    def found() -> dict[str, PlanTemplate]:
        return {
            t.slug: t
            for t in PlanTemplate.objects.filter(clinic=None, slug__in=slugs)
            .prefetch_related("items")
            .order_by()
        }

    templates = found()
    if len(templates) < len(slugs):
        load_library()
        templates = found()
    return templates


def _clinic(slug: str, fields: dict[str, str], created: Counter[str]) -> Clinic:
    clinic, new = Clinic.objects.get_or_create(slug=slug, defaults=fields)
    created["clinics"] += new
    return clinic


def _password(hashes: dict[str, str], raw: str) -> str:
    # Hashing is deliberately slow; the patients share one password, so hash it once.
    if raw not in hashes:
        hashes[raw] = make_password(raw)
    return hashes[raw]


def _user(
    login_email: str,
    password: str,
    full_name: str,
    hashes: dict[str, str],
    created: Counter[str],
    **flags: bool,
) -> User:
    user = User.objects.filter(email__iexact=login_email).first()
    if user is None:
        user = User(email=login_email, full_name=full_name, **flags)
        user.password = _password(hashes, password)
        user.save()
        created["users"] += 1
    return user


def _superuser(login: Login, hashes: dict[str, str], created: Counter[str]) -> User:
    return _user(
        login.email,
        login.password,
        login.full_name,
        hashes,
        created,
        is_staff=True,
        is_superuser=True,
    )


def _therapist(
    spec: StaffSpec, clinic: Clinic, hashes: dict[str, str], created: Counter[str]
) -> Therapist:
    user = _user(
        spec.login.email, spec.login.password, spec.full_name, hashes, created, is_staff=True
    )
    therapist, new = Therapist.objects.get_or_create(
        user=user, defaults={"clinic": clinic, "role": spec.role, "job_title": spec.job_title}
    )
    created["therapists"] += new
    if new:
        try:
            group = Group.objects.get(name=GROUP_FOR_ROLE[Therapist.Role(spec.role)])
        except Group.DoesNotExist:
            raise ImproperlyConfigured(
                "The therapist permission groups are missing: run `manage.py migrate` first."
            ) from None
        user.groups.add(group)
    return therapist


def _patient(
    spec: PatientSpec,
    clinic: Clinic,
    therapist: Therapist,
    data: DemoData,
    hashes: dict[str, str],
    created: Counter[str],
) -> Patient:
    patient, new = Patient.objects.get_or_create(
        clinic=clinic,
        email=spec.email,
        defaults={
            "first_name": spec.first_name,
            "last_name": spec.last_name,
            "date_of_birth": spec.date_of_birth,
            "phone": spec.phone,
            "primary_therapist": therapist,
            "large_print": spec.large_print,
            "reminder_time": spec.reminder_time,
            "notes": spec.notes,
        },
    )
    created["patients"] += new
    if spec.login and patient.user_id is None:
        name = f"{spec.first_name} {spec.last_name}"
        patient.user = _user(spec.email, data.patient_password, name, hashes, created)
        patient.save(update_fields=["user"])
    return patient


def _plan(
    spec: PlanSpec,
    patient: Patient,
    therapist: Therapist,
    templates: dict[str, PlanTemplate],
    today: datetime.date,
    data: DemoData,
    created: Counter[str],
) -> Plan:
    template = templates[spec.template]
    plan = Plan.objects.filter(patient=patient, template=template).first()
    if plan is not None:
        return plan
    start = today - datetime.timedelta(days=spec.start_days_ago)
    with plan_history.batch():  # the plan as the demo sets it up is its first version
        plan = plans.start_plan_from_template(
            template, patient=patient, therapist=therapist, start_date=start
        )
        plan.status = spec.status
        if spec.status == Plan.Status.COMPLETED:
            # Finished just before the current four-week window.
            plan.end_date = today - datetime.timedelta(days=data.history_days)
        plan.save(update_fields=["status", "end_date"])
    n_items = plan.items.count()
    created["plans"] += 1
    created["plan items"] += n_items
    return plan


def _history(
    plan: Plan,
    history: History,
    key: str,
    today: datetime.date,
    data: DemoData,
    created: Counter[str],
) -> None:
    """Up to four weeks of logs from the plan's start, never past the day it was seeded."""
    start = plan.start_date
    anchor = start + datetime.timedelta(days=data.history_days - 1)
    seeded_on = timezone.localdate(plan.created_at, timezone=plan.patient.clinic.zone)
    last = min(d for d in (anchor, today, seeded_on, plan.end_date) if d is not None)
    items = list(plan.items.select_related("exercise").order_by("order"))
    if not items or last < start:
        return
    existing = set(SessionLog.objects.filter(plan=plan).values_list("date", "session_number"))
    sessions = sessions_per_day(items)

    new_logs: list[SessionLog] = []
    new_sets: list[list[tuple[PlanItem, int, int | None, int | None]]] = []
    for offset in range((last - start).days + 1):
        day = start + datetime.timedelta(days=offset)
        days_left = (anchor - day).days  # 0 on the last day of the window
        if days_left < history.stopped_days:
            continue
        # One generator per plan and day: the same values whichever rows already exist,
        # and the same story whatever today's date and whatever ids the database hands
        # out (an id or a date in the seed made the demo's figures drift between runs).
        rng = random.Random(f"{data.seed}:{key}:{plan.title}:{days_left}")
        pain = _pain(history, offset, days_left, data.history_days, rng)
        flaring = days_left < history.flare_days
        for number in range(1, sessions + 1):
            due = [
                item
                for item in items
                if item.times_per_day >= number
                and due_days(start, day, day, item.days_per_week) == 1
            ]
            if not due or rng.random() > history.adherence:
                continue
            # Draw every value even for a session that exists, so that later
            # sessions of the day get the same numbers as on the first run.
            log = _session_log(plan, history, day, number, pain, flaring, data, rng)
            sets = [_sets_done(item, history, flaring, rng) for item in due]
            if (day, number) not in existing:
                new_logs.append(log)
                new_sets.append(sets)

    SessionLog.objects.bulk_create(new_logs)
    exercise_logs = [
        ExerciseLog(session=log, item=item, sets_done=done, sets_left=left, sets_right=right)
        for log, rows in zip(new_logs, new_sets, strict=True)
        for item, done, left, right in rows
    ]
    ExerciseLog.objects.bulk_create(exercise_logs)
    created["session logs"] += len(new_logs)
    created["exercise logs"] += len(exercise_logs)


def _outcome(plan: Plan, spec: OutcomeSpec, today: datetime.date, created: Counter[str]) -> None:
    """The measure, and its first occasions answered as the data says (scored as the
    portal scores them), each on its own date."""
    measure, new = OutcomeMeasure.objects.get_or_create(
        plan=plan,
        instrument=spec.instrument,
        defaults={
            "at_start": spec.at_start,
            "every_weeks": spec.every_weeks,
            "at_end": spec.at_end,
            "activities": "\n".join(spec.activities),
        },
    )
    if not new:
        return
    created["outcome measures"] += 1
    zone = plan.patient.clinic.zone
    for occasion, answers in zip(measure.occasions(today), spec.answers, strict=False):
        response = QuestionnaireResponse(
            measure=measure,
            due_date=occasion.due_date,
            activities=measure.activity_list,
            answers=dict(answers),
            status=QuestionnaireResponse.Status.COMPLETED,
            completed_at=datetime.datetime.combine(occasion.due_date, datetime.time(18), zone),
        )
        response.score = score(measure.definition, questions(response), response.answers)
        response.save()
        created["questionnaire responses"] += 1
    flag_worse_scores(measure)


def _pain(
    history: History, offset: int, days_left: int, history_days: int, rng: random.Random
) -> int:
    if days_left < history.flare_days:
        # Climbs from the usual level to the flare level over the flare days.
        progress = (history.flare_days - days_left) / history.flare_days
        base = history.pain_start + (history.flare_pain - history.pain_start) * progress
    else:
        span = max(history_days - 1 - history.flare_days, 1)
        base = history.pain_start + (history.pain_end - history.pain_start) * min(offset / span, 1)
    return _on_pain_scale(round(base + rng.choice((-1, 0, 0, 0, 1))))


def _on_pain_scale(score: int) -> int:
    return max(PAIN_SCALE.low, min(PAIN_SCALE.high, score))


def _session_log(
    plan: Plan,
    history: History,
    day: datetime.date,
    number: int,
    pain: int,
    flaring: bool,
    data: DemoData,
    rng: random.Random,
) -> SessionLog:
    nerve = SessionLog.NerveSymptoms.NONE
    lasted = False
    minutes: int | None = None
    if flaring and rng.random() < 0.7:
        nerve, lasted, minutes = SessionLog.NerveSymptoms.TINGLING, True, rng.choice((20, 30, 45))
    elif rng.random() < history.tingling:
        nerve = SessionLog.NerveSymptoms.TINGLING
    if flaring:
        effort: str = SessionLog.Effort.TOO_HARD
    elif history.too_easy and rng.random() < history.too_easy:
        effort = SessionLog.Effort.TOO_EASY
    else:
        effort = rng.choice((SessionLog.Effort.ABOUT_RIGHT,) * 4 + (SessionLog.Effort.TOO_EASY, ""))
    comment = ""
    # A later session in the day often feels a little easier than the first.
    later = rng.choice((-1, 0)) if number > 1 else 0
    if history.comments and rng.random() < 0.2:
        comment = rng.choice(history.comments)
    return SessionLog(
        plan=plan,
        date=day,
        session_number=number,
        pain=_on_pain_scale(pain + later),
        nerve_symptoms=nerve,
        symptoms_lasted=lasted,
        symptoms_minutes=minutes,
        effort=effort,
        comment=comment,
        idempotency_key=uuid.uuid5(data.log_namespace, f"{plan.pk}:{day.isoformat()}:{number}"),
    )


def _sets_done(
    item: PlanItem, history: History, flaring: bool, rng: random.Random
) -> tuple[PlanItem, int, int | None, int | None]:
    """(item, sets done, left, right): mostly the full dose, sometimes less or none."""
    roll = rng.random()
    if roll < (0.25 if flaring else 0.05):
        done = 0
    elif roll < (0.45 if flaring else 0.2):
        done = max(item.sets - 1, 1)
    else:
        done = item.sets
    if item.side != Side.EACH:
        return item, done, None, None
    # The painful side sometimes gets one set fewer.
    short = done - 1 if done > 1 and rng.random() < 0.1 else done
    return item, min(done, short), done, short
