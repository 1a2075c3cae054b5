"""Demo data: two clinics, their therapists, patients, plans and four weeks of logs.

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
import uuid
from collections import Counter

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from clinic.models import Clinic, Patient, Therapist, User
from clinic.roles import GROUP_FOR_ROLE
from clinic.scoping import unscoped
from prescriptions import plans
from prescriptions.adherence import due_days, sessions_per_day
from prescriptions.library.loader import load_library
from prescriptions.models import ExerciseLog, Plan, PlanItem, PlanTemplate, SessionLog, Side

# Any fixed text: the same seed gives the same history everywhere.
SEED = "rehabit-demo-v1"
# Namespace for the demo session logs' idempotency keys (uuid5 of the session).
LOG_NAMESPACE = uuid.UUID("8a0e5d1c-3f55-4b7e-9d0c-2f6a1f4c9b21")
HISTORY_DAYS = 28

RIVERSIDE = "riverside-physiotherapy"
HILLTOP = "hilltop-sports-clinic"

CLINICS: dict[str, dict[str, str]] = {
    RIVERSIDE: {
        "name": "Riverside Physiotherapy",
        "email": "hello@riverside-physio.example",
        "phone": "020 7946 0321",
        "address": "14 Wharf Road\nKingston upon Thames\nKT1 1QX",
        "website": "https://riverside-physio.example",
        "brand_colour": "#0b6e69",
        "time_zone": "Europe/London",
        "handout_footer": (
            "Riverside Physiotherapy · 020 7946 0321 · "
            "Open Monday to Friday 8am to 7pm, Saturday 9am to 1pm"
        ),
    },
    HILLTOP: {
        "name": "Hilltop Sports Clinic",
        "email": "team@hilltop-sports.example",
        "phone": "0161 496 0742",
        "address": "2 Moor Lane\nSalford\nM7 3PZ",
        "website": "https://hilltop-sports.example",
        "brand_colour": "#7a3e9d",
        "time_zone": "Europe/London",
        "handout_footer": "Hilltop Sports Clinic · 0161 496 0742",
    },
}


@dataclasses.dataclass(frozen=True)
class Login:
    role: str
    email: str
    password: str
    where: str


SUPERUSER = Login("Superuser", "superuser@rehabit.example", "demo-superuser", "/admin/")
CLINIC_ADMIN = Login(
    "Clinic administrator (Riverside)", "admin@rehabit.example", "demo-admin", "/admin/"
)
THERAPIST = Login("Therapist (Riverside)", "therapist@rehabit.example", "demo-therapist", "/admin/")
OTHER_THERAPIST = Login(
    "Therapist (Hilltop, another clinic)", "hilltop@rehabit.example", "demo-hilltop", "/admin/"
)
PATIENT = Login("Patient (Riverside)", "patient@rehabit.example", "demo-patient", "/portal/")
# Every demo patient with a portal login shares the patient password.
PATIENT_PASSWORD = PATIENT.password


@dataclasses.dataclass(frozen=True)
class StaffSpec:
    login: Login
    full_name: str
    clinic: str
    role: str
    job_title: str


STAFF = (
    StaffSpec(
        CLINIC_ADMIN, "Daniel Shaw", RIVERSIDE, Therapist.Role.CLINIC_ADMIN, "Clinical lead, MCSP"
    ),
    StaffSpec(THERAPIST, "Hannah Brooks", RIVERSIDE, Therapist.Role.THERAPIST, "Physiotherapist"),
    StaffSpec(
        OTHER_THERAPIST,
        "Omar Haddad",
        HILLTOP,
        Therapist.Role.THERAPIST,
        "Sports physiotherapist",
    ),
)


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


@dataclasses.dataclass(frozen=True)
class PlanSpec:
    template: str
    status: str
    start_days_ago: int
    history: History | None = None


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


PATIENTS = (
    PatientSpec(
        email=PATIENT.email,
        first_name="Margaret",
        last_name="Ellison",
        date_of_birth=datetime.date(1953, 3, 12),
        clinic=RIVERSIDE,
        therapist=THERAPIST.email,
        phone="07700 900412",
        notes=(
            "Right-sided sciatica, L5/S1 disc bulge on MRI. Retired teacher and keen gardener. "
            "Very motivated; reports that she does her exercises after breakfast and before bed."
        ),
        large_print=True,
        reminder_time=datetime.time(9, 0),
        plans=(
            PlanSpec(
                "sciatica-relief",
                Plan.Status.ACTIVE,
                HISTORY_DAYS - 1,
                History(
                    adherence=0.95,
                    pain_start=6,
                    pain_end=2,
                    tingling=0.15,
                    comments=(
                        "Much easier getting in and out of the car today.",
                        "A little tingling in my calf during the sliders, gone straight away.",
                        "Walked to the shops and back without stopping.",
                        "Slept through the night for the first time in weeks.",
                        "Did some weeding and the leg was fine afterwards.",
                    ),
                ),
            ),
        ),
    ),
    PatientSpec(
        email="david.okafor@rehabit.example",
        first_name="David",
        last_name="Okafor",
        date_of_birth=datetime.date(1981, 7, 22),
        clinic=RIVERSIDE,
        therapist=THERAPIST.email,
        phone="07700 900187",
        notes=(
            "Left-sided hamstring syndrome: deep buttock and back-of-thigh pain, worse when "
            "sitting. Former sprinter, plays five-a-side football. Desk job."
        ),
        reminder_time=datetime.time(19, 30),
        plans=(
            PlanSpec(
                "hamstring-syndrome-rehabilitation",
                Plan.Status.ACTIVE,
                HISTORY_DAYS - 1,
                History(
                    adherence=0.75,
                    pain_start=5,
                    pain_end=3,
                    flare_days=7,
                    flare_pain=7,
                    tingling=0.1,
                    comments=(
                        "Back of the thigh sore after a long meeting.",
                        "Played five-a-side on Sunday, probably too soon.",
                        "Did the bridges, skipped the band curls because the thigh was too sore.",
                        "Pins and needles in my foot lasted about half an hour after the sliders.",
                    ),
                ),
            ),
        ),
    ),
    PatientSpec(
        email="priya.raman@rehabit.example",
        first_name="Priya",
        last_name="Raman",
        date_of_birth=datetime.date(1990, 11, 2),
        clinic=RIVERSIDE,
        therapist=CLINIC_ADMIN.email,
        phone="07700 900655",
        notes=(
            "Recreational runner training for a half marathon. Two right hamstring strains in "
            "the last 18 months. No nerve symptoms."
        ),
        plans=(
            PlanSpec(
                "runners-warm-up-and-cool-down",
                Plan.Status.ACTIVE,
                HISTORY_DAYS - 1,
                History(
                    adherence=0.3,
                    pain_start=2,
                    pain_end=1,
                    comments=(
                        "Only had time for the warm-up before parkrun.",
                        "Forgot the stretches after my run, did them in the evening.",
                        "Skipped the drills, I was running late.",
                    ),
                ),
            ),
        ),
    ),
    PatientSpec(
        email="thomas.whitfield@rehabit.example",
        first_name="Thomas",
        last_name="Whitfield",
        date_of_birth=datetime.date(1962, 5, 30),
        clinic=RIVERSIDE,
        therapist=THERAPIST.email,
        phone="07700 900238",
        notes=(
            "Left sciatica after lifting a washing machine. Delivery driver: long spells "
            "seated. Off work for two weeks."
        ),
        reminder_time=datetime.time(7, 15),
        plans=(
            PlanSpec(
                "sciatica-relief",
                Plan.Status.ACTIVE,
                HISTORY_DAYS - 1,
                History(
                    adherence=0.8,
                    pain_start=7,
                    pain_end=4,
                    stopped_days=5,
                    tingling=0.2,
                    comments=(
                        "Stiff first thing, better after the knee rolls.",
                        "Back much looser today.",
                        "Back at work on Monday, long day in the van.",
                    ),
                ),
            ),
        ),
    ),
    PatientSpec(
        email="sofia.marin@rehabit.example",
        first_name="Sofia",
        last_name="Marin",
        date_of_birth=datetime.date(1976, 4, 8),
        clinic=RIVERSIDE,
        therapist=CLINIC_ADMIN.email,
        phone="07700 900771",
        notes=(
            "Right hamstring syndrome, started after a hill-running session. Works from home. "
            "Pain when sitting on hard chairs."
        ),
        plans=(
            PlanSpec(
                "hamstring-syndrome-rehabilitation",
                Plan.Status.ACTIVE,
                HISTORY_DAYS - 1,
                History(
                    adherence=0.65,
                    pain_start=5,
                    pain_end=3,
                    tingling=0.05,
                    comments=(
                        "Bridges getting easier.",
                        "Sat at my desk all day, buttock ached by the evening.",
                        "Bought a cushion for my office chair, it helps.",
                    ),
                ),
            ),
        ),
    ),
    PatientSpec(
        email="james.porter@rehabit.example",
        first_name="James",
        last_name="Porter",
        date_of_birth=datetime.date(1996, 2, 18),
        clinic=RIVERSIDE,
        therapist=THERAPIST.email,
        phone="07700 900903",
        notes=(
            "Semi-professional footballer. Left hamstring syndrome last season, now settled. "
            "Moving on to a prevention programme for pre-season."
        ),
        plans=(
            PlanSpec(
                "hamstring-syndrome-rehabilitation",
                Plan.Status.COMPLETED,
                HISTORY_DAYS + 56,
                History(
                    adherence=0.9,
                    pain_start=4,
                    pain_end=0,
                    comments=(
                        "Did the session before training.",
                        "Hamstring feels strong again.",
                    ),
                ),
            ),
            PlanSpec("hamstring-syndrome-prevention", Plan.Status.DRAFT, 0),
        ),
    ),
    PatientSpec(
        email="eleanor.hughes@rehabit.example",
        first_name="Eleanor",
        last_name="Hughes",
        date_of_birth=datetime.date(1944, 9, 14),
        clinic=RIVERSIDE,
        therapist=THERAPIST.email,
        phone="020 7946 0877",
        notes=(
            "Long-standing low back pain with occasional sciatica on the right. Prefers paper "
            "handouts in large print; no portal account."
        ),
        login=False,
        large_print=True,
        plans=(PlanSpec("sciatica-strength-and-control", Plan.Status.ACTIVE, 9),),
    ),
    PatientSpec(
        email="oliver.grant@rehabit.example",
        first_name="Oliver",
        last_name="Grant",
        date_of_birth=datetime.date(1999, 6, 5),
        clinic=HILLTOP,
        therapist=OTHER_THERAPIST.email,
        phone="07700 900346",
        notes=(
            "Rugby winger. Right hamstring syndrome after a sprint in training; pain when "
            "sitting on the team bus."
        ),
        plans=(
            PlanSpec(
                "hamstring-syndrome-rehabilitation",
                Plan.Status.ACTIVE,
                13,
                History(
                    adherence=0.9,
                    pain_start=2,
                    pain_end=1,
                    comments=("Did this after training.",),
                ),
            ),
        ),
    ),
)

PLAN_TEMPLATES = sorted({plan.template for p in PATIENTS for plan in p.plans})


@dataclasses.dataclass
class DemoReport:
    logins: list[Login]
    created: Counter[str]

    @property
    def created_total(self) -> int:
        return sum(self.created.values())


def seed_demo() -> DemoReport:
    """Create whatever demo rows are missing; see the module docstring."""
    # The demo spans two clinics and the shared library.
    with unscoped():
        return _seed()


@transaction.atomic
def _seed() -> DemoReport:
    templates = _templates()
    created: Counter[str] = Counter()
    hashes: dict[str, str] = {}

    clinics = {slug: _clinic(slug, created) for slug in CLINICS}
    _superuser(hashes, created)
    therapists = {
        spec.login.email: _therapist(spec, clinics[spec.clinic], hashes, created) for spec in STAFF
    }
    for spec in PATIENTS:
        clinic = clinics[spec.clinic]
        patient = _patient(spec, clinic, therapists[spec.therapist], hashes, created)
        today = clinic.today()
        for plan_spec in spec.plans:
            plan = _plan(plan_spec, patient, therapists[spec.therapist], templates, today, created)
            if plan_spec.history is not None:
                _history(plan, plan_spec.history, spec.email, today, created)
    return DemoReport(
        logins=[SUPERUSER, CLINIC_ADMIN, THERAPIST, OTHER_THERAPIST, PATIENT], created=created
    )


def _templates() -> dict[str, PlanTemplate]:
    def found() -> dict[str, PlanTemplate]:
        return {
            t.slug: t
            for t in PlanTemplate.objects.filter(clinic=None, slug__in=PLAN_TEMPLATES)
            .prefetch_related("items")
            .order_by()
        }

    templates = found()
    if len(templates) < len(PLAN_TEMPLATES):
        load_library()
        templates = found()
    return templates


def _clinic(slug: str, created: Counter[str]) -> Clinic:
    clinic, new = Clinic.objects.get_or_create(slug=slug, defaults=CLINICS[slug])
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


def _superuser(hashes: dict[str, str], created: Counter[str]) -> User:
    return _user(
        SUPERUSER.email,
        SUPERUSER.password,
        "Rehabit Superuser",
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
        patient.user = _user(spec.email, PATIENT_PASSWORD, name, hashes, created)
        patient.save(update_fields=["user"])
    return patient


def _plan(
    spec: PlanSpec,
    patient: Patient,
    therapist: Therapist,
    templates: dict[str, PlanTemplate],
    today: datetime.date,
    created: Counter[str],
) -> Plan:
    template = templates[spec.template]
    plan = Plan.objects.filter(patient=patient, template=template).first()
    if plan is not None:
        return plan
    start = today - datetime.timedelta(days=spec.start_days_ago)
    plan = plans.start_plan_from_template(
        template, patient=patient, therapist=therapist, start_date=start
    )
    plan.status = spec.status
    if spec.status == Plan.Status.COMPLETED:
        # Finished just before the current four-week window.
        plan.end_date = today - datetime.timedelta(days=HISTORY_DAYS)
    plan.save(update_fields=["status", "end_date"])
    n_items = plan.items.count()
    created["plans"] += 1
    created["plan items"] += n_items
    return plan


def _history(
    plan: Plan, history: History, key: str, today: datetime.date, created: Counter[str]
) -> None:
    """Up to four weeks of logs from the plan's start, never past the day it was seeded."""
    start = plan.start_date
    anchor = start + datetime.timedelta(days=HISTORY_DAYS - 1)
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
        # One generator per plan and day: the same values whichever rows already exist.
        rng = random.Random(f"{SEED}:{key}:{plan.template_id}:{day.isoformat()}")
        pain = _pain(history, offset, days_left, rng)
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
            log = _session_log(plan, history, day, number, pain, flaring, rng)
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


def _pain(history: History, offset: int, days_left: int, rng: random.Random) -> int:
    if days_left < history.flare_days:
        # Climbs from the usual level to the flare level over the flare days.
        progress = (history.flare_days - days_left) / history.flare_days
        base = history.pain_start + (history.flare_pain - history.pain_start) * progress
    else:
        span = max(HISTORY_DAYS - 1 - history.flare_days, 1)
        base = history.pain_start + (history.pain_end - history.pain_start) * min(offset / span, 1)
    return max(0, min(10, round(base + rng.choice((-1, 0, 0, 0, 1)))))


def _session_log(
    plan: Plan,
    history: History,
    day: datetime.date,
    number: int,
    pain: int,
    flaring: bool,
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
        pain=max(0, min(10, pain + later)),
        nerve_symptoms=nerve,
        symptoms_lasted=lasted,
        symptoms_minutes=minutes,
        effort=effort,
        comment=comment,
        idempotency_key=uuid.uuid5(LOG_NAMESPACE, f"{plan.pk}:{day.isoformat()}:{number}"),
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
