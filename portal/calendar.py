"""The patient's private calendar feed: an event on each day their plan asks for exercise.

The feed says nothing about health: each event is called "Your exercises" (in
the patient's language), links to Today and gives the plan's dates. Due days
follow the adherence rules (`prescriptions.adherence.due_days`): every day for a
daily plan, days spread evenly from the start date for fewer days a week. An
event starts at the patient's reminder time in the clinic's time zone, or lasts
the whole day when they chose no reminder time.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import transaction
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from clinic.models import Patient
from portal.models import CalendarFeed
from prescriptions import adherence, dosage
from prescriptions.models import Plan

# How far the feed reaches: a few weeks back (so today's week is whole), some months ahead.
PAST_DAYS = 28
FUTURE_DAYS = 120
# An event lasts as long as the day's session, at least this long.
MIN_EVENT_MINUTES = 10


@transaction.atomic
def new_feed(*, patient: Patient) -> tuple[str, str]:
    """Turn the calendar on, or replace its address: the old one stops working at once.

    Returns the new address's key and secret, to be shown once.
    """
    key, secret = CalendarFeed.new_key_and_secret()
    CalendarFeed.objects.filter(patient=patient).delete()
    CalendarFeed.objects.create(
        patient=patient, key=key, secret_hash=CalendarFeed.hash_secret(secret)
    )
    return key, secret


def turn_off(*, patient: Patient) -> bool:
    deleted, _rows = CalendarFeed.objects.filter(patient=patient).delete()
    return bool(deleted)


@dataclass(frozen=True)
class Day:
    date: datetime.date
    plan: Plan
    minutes: int


def due_days(patient: Patient, today: datetime.date) -> Iterator[Day]:
    """Each day from PAST_DAYS ago to FUTURE_DAYS ahead on which an active plan asks for
    exercise, one entry a day (the first plan that asks for it). Two queries."""
    plans = list(
        Plan.objects.filter(patient=patient, status=Plan.Status.ACTIVE)
        .prefetch_related("items")
        .order_by("start_date", "pk")
    )
    lo = today - datetime.timedelta(days=PAST_DAYS)
    hi = today + datetime.timedelta(days=FUTURE_DAYS)
    seen: set[datetime.date] = set()
    days: list[Day] = []
    for plan in plans:
        items = list(plan.items.all())
        per_week = adherence.days_per_week(items)
        last = adherence.counting_end(plan)
        if not items or per_week == 0 or last is None:
            continue
        minutes = max(
            MIN_EVENT_MINUTES,
            dosage.minutes(sum(dosage.session_seconds(item) for item in items)),
        )
        day = max(lo, plan.start_date)
        while day <= min(hi, last):
            if day not in seen and adherence.due_days(plan.start_date, day, day, per_week):
                seen.add(day)
                days.append(Day(day, plan, minutes))
            day += datetime.timedelta(days=1)
    return iter(sorted(days, key=lambda d: d.date))


def _long_date(day: datetime.date) -> str:
    return formats.date_format(day, "DATE_FORMAT")


def feed_ics(
    patient: Patient, today_url: str, *, host: str, today: datetime.date | None = None
) -> bytes:
    """The patient's calendar as iCalendar bytes, in their language."""
    import icalendar

    clinic = patient.clinic
    zone = clinic.zone
    today = today or clinic.today()
    with translation.override(patient.preferred_language):
        calendar = icalendar.Calendar()
        calendar.add("prodid", "-//Rehabit//Exercise calendar//EN")
        calendar.add("version", "2.0")
        calendar.add("calscale", "GREGORIAN")
        calendar.add("x-wr-calname", _("Your exercises"))
        calendar.add("x-wr-timezone", clinic.time_zone)
        stamp = timezone.now().replace(microsecond=0)
        for day in due_days(patient, today):
            plan = day.plan
            event = icalendar.Event()
            event.add("uid", f"{patient.pk}-{day.date:%Y%m%d}@{host}")
            event.add("dtstamp", stamp)
            event.add("summary", _("Your exercises"))
            if patient.reminder_time is not None:
                start = datetime.datetime.combine(day.date, patient.reminder_time, tzinfo=zone)
                event.add("dtstart", start)
                event.add("duration", datetime.timedelta(minutes=day.minutes))
            else:
                event.add("dtstart", day.date)
                event.add("dtend", day.date + datetime.timedelta(days=1))
            if plan.end_date:
                dates = _("Your plan runs from %(start)s to %(end)s.") % {
                    "start": _long_date(plan.start_date),
                    "end": _long_date(plan.end_date),
                }
            else:
                dates = _("Your plan runs from %(start)s.") % {"start": _long_date(plan.start_date)}
            event.add(
                "description",
                "\n".join([_("Open today's exercises: %(url)s") % {"url": today_url}, dates]),
            )
            event.add("url", today_url)
            event.add("transp", "TRANSPARENT")
            event.add("class", "PRIVATE")
            calendar.add_component(event)
        calendar.add_missing_timezones()
        return bytes(calendar.to_ical())
