"""Exercise reminder emails: one a day, at the time the patient chose in Settings.

A patient is reminded on a day (in their clinic's time zone) when all of these hold:

* they chose a reminder time, and it is now that time or up to LATE_WINDOW
  later, on the same day;
* the patient is active and has an active, non-staff portal login with an
  email address;
* an active plan of theirs runs today, today is one of its due days (the
  adherence rules, `prescriptions.adherence.due_days`), and no session of that
  plan is logged today;
* they were not reminded today already.

`send_due_reminders()` makes one pass; `manage.py send_reminders` runs it from
cron or a systemd timer, and `manage.py serve` runs it every minute.

Each pass claims the day on the patient's row with a conditional UPDATE before
sending, so two senders running at once never email anyone twice, and a
failed send gives the claim back so that the next pass retries. A sender that
dies between the claim and the send loses that day's reminder: at most one
email a day matters more to patients than at least one.

The email says only that it is time to exercise: a phone's lock screen shows
it, so it never names the plan, the condition, pain or anything else about
the patient's health.
"""

from __future__ import annotations

import datetime
import logging
import zoneinfo
from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMultiAlternatives
from django.db.models import Case, DateField, Exists, OuterRef, Q, QuerySet, Value, When
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from clinic.models import Clinic, Patient
from clinic.scoping import unscoped
from prescriptions.adherence import due_days, plan_days_per_week
from prescriptions.models import Plan, SessionLog

logger = logging.getLogger(__name__)

# How late a reminder may still go out. A sender that was down (or a server
# that was off) catches up on reminders missed by less than this; later ones
# are dropped rather than arriving in the evening or at night. A reminder
# also never crosses midnight: it belongs to its day.
LATE_WINDOW = datetime.timedelta(hours=3)


@dataclass
class PassResult:
    sent: int = 0
    # Due now but not needed: nothing to do today, already logged, or another
    # sender got there first.
    skipped: int = 0
    failed: int = 0


@dataclass(frozen=True)
class ZoneWindow:
    """Reminder times from `earliest` to `latest` (both included) are due on `today`."""

    today: datetime.date
    earliest: datetime.time
    latest: datetime.time


def zone_window(now: datetime.datetime, zone: zoneinfo.ZoneInfo) -> ZoneWindow:
    # Reminder times are wall-clock times, so compare wall-clock times: on the
    # day the clocks go forward a 02:30 reminder goes out at 03:00, and on the
    # day they go back an 01:30 one is claimed the first time 01:30 comes round.
    wall = now.astimezone(zone).replace(tzinfo=None)
    start = wall - LATE_WINDOW
    earliest = start.time() if start.date() == wall.date() else datetime.time.min
    return ZoneWindow(today=wall.date(), earliest=earliest, latest=wall.time())


def _zone_windows(now: datetime.datetime) -> dict[str, ZoneWindow]:
    windows = {}
    for name in Clinic.objects.order_by().values_list("time_zone", flat=True).distinct():
        try:
            zone = zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            # The field has choices, but the database does not enforce them.
            logger.error("Clinic time zone %r is unknown: no reminders for its patients.", name)
            continue
        windows[name] = zone_window(now, zone)
    return windows


def candidate_plans(windows: dict[str, ZoneWindow]) -> QuerySet[Plan]:
    """Running active plans of patients whose reminder is due now and not yet sent today.

    Annotated with `days_per_week` (the plan's most frequent exercise, as in
    the adherence rules) and `logged_today`.
    """
    due_now = Q(pk__in=[])
    for name, window in windows.items():
        due_now |= (
            Q(
                patient__clinic__time_zone=name,
                patient__reminder_time__gte=window.earliest,
                patient__reminder_time__lte=window.latest,
                start_date__lte=window.today,
            )
            & (Q(end_date=None) | Q(end_date__gte=window.today))
            & ~Q(patient__last_reminded_on=window.today)
        )
    local_today = Case(
        *[
            When(patient__clinic__time_zone=name, then=Value(window.today))
            for name, window in windows.items()
        ],
        output_field=DateField(),
    )
    return (
        Plan.objects.active()
        .filter(
            due_now,
            patient__is_active=True,
            patient__user__is_active=True,
            patient__user__is_staff=False,
        )
        .exclude(patient__user__email="")
        .select_related("patient__clinic", "patient__user")
        .annotate(local_today=local_today)
        .annotate(
            days_per_week=plan_days_per_week(),
            logged_today=Exists(
                SessionLog.objects.filter(plan=OuterRef("pk"), date=OuterRef("local_today"))
            ),
        )
        .order_by("patient_id", "pk")
    )


def needs_reminder(plan: Plan, today: datetime.date) -> bool:
    """For a row of candidate_plans(): is today a due day with nothing logged yet?"""
    row: Any = plan
    if row.logged_today:
        return False
    return due_days(plan.start_date, today, today, row.days_per_week) > 0


def _sender(patient: Patient) -> str:
    # From the clinic by name, but on the configured sender's address: mailing
    # as the clinic's own address would fail SPF/DMARC checks. Replies go to
    # the clinic (Reply-To). Whitespace is collapsed because a line break in a
    # header is refused.
    name = " ".join(patient.clinic.name.split())
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return str(Address(display_name=name, addr_spec=address))


def reminder_email(patient: Patient) -> EmailMultiAlternatives:
    """The reminder for `patient` (clinic and user loaded), in their language."""
    user = patient.user
    assert user is not None
    clinic = patient.clinic
    context = {
        "patient": patient,
        "clinic": clinic,
        "today_url": settings.SITE_URL + reverse("portal:today"),
        "settings_url": settings.SITE_URL + reverse("portal:settings"),
        "reminder_time": patient.reminder_time,
    }
    with translation.override(patient.preferred_language):
        subject = render_to_string("portal/email/reminder_subject.txt", context)
        text = render_to_string("portal/email/reminder_body.txt", context)
        html = render_to_string("portal/email/reminder_body.html", context)
    message = EmailMultiAlternatives(
        " ".join(subject.split()),
        text,
        _sender(patient),
        [user.email],
        reply_to=[clinic.email] if clinic.email else None,
        headers={
            "Content-Language": patient.preferred_language,
            # Tells out-of-office responders not to answer (RFC 3834).
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(html, "text/html")
    return message


def claim(patient: Patient, today: datetime.date) -> bool:
    """Mark the patient reminded today; False if someone else already did."""
    claimed = (
        Patient.objects.filter(pk=patient.pk, is_active=True, reminder_time__isnull=False)
        .exclude(last_reminded_on=today)
        .update(last_reminded_on=today)
    )
    return claimed == 1


def release(patient: Patient, today: datetime.date) -> None:
    """Give back today's claim after a failed send, so that the next pass retries."""
    Patient.objects.filter(pk=patient.pk, last_reminded_on=today).update(
        last_reminded_on=patient.last_reminded_on
    )


def send_due_reminders(now: datetime.datetime | None = None) -> PassResult:
    """One pass: send every reminder that is due at `now` (default: the current time).

    Queries: the clinics' time zones, the candidates, and then one UPDATE per
    patient who is emailed (two if the email fails), however many patients
    and plans there are.
    """
    if not settings.SITE_URL:
        raise ImproperlyConfigured(
            "SITE_URL is not set: reminder emails link to the patient portal by its "
            "public address (see .env.example)."
        )
    # A pass covers every clinic's patients, so it says so: each email still
    # goes to one patient, about their own day.
    with unscoped():
        return _send_pass(now or timezone.now())


def _send_pass(now: datetime.datetime) -> PassResult:
    result = PassResult()
    windows = _zone_windows(now)
    if not windows:
        return result
    by_patient: dict[int, list[Plan]] = {}
    for plan in candidate_plans(windows):
        by_patient.setdefault(plan.patient_id, []).append(plan)
    for plans in by_patient.values():
        patient = plans[0].patient
        today = windows[patient.clinic.time_zone].today
        if not any(needs_reminder(plan, today) for plan in plans):
            result.skipped += 1
            continue
        if not claim(patient, today):
            result.skipped += 1
            continue
        try:
            reminder_email(patient).send()
        except Exception:
            # One patient's bad address or a mail server hiccup must not stop
            # the others; the claim goes back so the next pass tries again.
            logger.exception(
                "Reminder to patient %s failed; retrying on the next pass.", patient.pk
            )
            release(patient, today)
            result.failed += 1
        else:
            logger.info("Reminder sent to patient %s.", patient.pk)
            result.sent += 1
    return result
