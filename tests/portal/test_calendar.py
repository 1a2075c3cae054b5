"""The private calendar feed: turned on, shown once, replaced and turned off in
Settings; read by calendar apps without signing in; parsed here with `icalendar`."""

from __future__ import annotations

import datetime
import re
import zoneinfo

import icalendar
import pytest
from django.urls import reverse

from clinic.models import Patient
from clinic.scoping import scope, unscoped
from portal import calendar
from portal.models import CalendarFeed
from prescriptions.models import Plan
from tests import factories
from tests.conftest import login

SETTINGS = reverse("portal:calendar_settings")


def _turn_on(client) -> str:
    response = client.post(SETTINGS, {"action": "on"})
    assert response.status_code == 302
    page = client.get(reverse("portal:settings")).content.decode()
    match = re.search(r'id="calendar-url" type="text" value="([^"]+)"', page)
    assert match, "the new address is shown"
    return match.group(1).replace("http://testserver", "")


def _events(body: bytes) -> list:
    return list(icalendar.Calendar.from_ical(body).walk("VEVENT"))


def test_it_makes_an_address_and_shows_it_once(client, patient, plan):
    login(client, patient)
    client.post(SETTINGS, {"action": "on"})
    shown = client.get(reverse("portal:settings")).content.decode()
    match = re.search(r'id="calendar-url" type="text" value="http://([^"]+)"', shown)
    assert match is not None
    assert f'href="webcal://{match.group(1)}"' in shown
    url = "/" + match.group(1).split("/", 1)[1]
    again = client.get(reverse("portal:settings")).content.decode()
    assert url not in again
    assert "Your calendar address is on" in again
    with unscoped():
        feed = CalendarFeed.objects.get(patient=patient)
    secret = url.rsplit("/", 1)[1].removesuffix(".ics")
    assert secret not in feed.secret_hash and feed.secret_hash == CalendarFeed.hash_secret(secret)


def test_the_feed_has_an_event_on_each_due_day(client, patient, plan):
    login(client, patient)
    url = _turn_on(client)
    client.logout()
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Cache-Control"].startswith("private")
    events = _events(response.content)
    assert events
    assert {str(e["SUMMARY"]) for e in events} == {"Your exercises"}
    body = response.content.decode()
    # Nothing about the plan's content or the patient's condition.
    assert plan.title not in body and "hamstring" not in body.lower()
    assert str(events[0]["URL"]) == "http://testserver/portal/"


def test_a_wrong_or_revoked_address_is_not_found(client, patient, plan):
    login(client, patient)
    old = _turn_on(client)
    new_response = client.post(SETTINGS, {"action": "new"})
    assert new_response.status_code == 302
    page = client.get(reverse("portal:settings")).content.decode()
    found = re.search(r'id="calendar-url" type="text" value="([^"]+)"', page)
    assert found is not None
    new = found.group(1).replace("http://testserver", "")
    client.logout()
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    assert client.get(new[:-8] + "xxxx.ics").status_code == 404
    key_part = new.split("/")[3]
    assert client.get(new.replace(key_part, "0" * 16)).status_code == 404
    login(client, patient)
    client.post(SETTINGS, {"action": "off"})
    client.logout()
    assert client.get(new).status_code == 404


def test_an_inactive_patients_feed_is_not_found(client, patient, plan):
    login(client, patient)
    url = _turn_on(client)
    with unscoped():
        Patient.objects.filter(pk=patient.pk).update(is_active=False)
    assert client.get(url).status_code == 404


def test_only_a_signed_in_patient_manages_an_address(client, therapist, patient):
    assert client.post(SETTINGS, {"action": "on"}).status_code == 302
    login(client, therapist)
    client.post(SETTINGS, {"action": "on"})
    with unscoped():
        assert not CalendarFeed.objects.exists()
    assert client.get(SETTINGS).status_code in (302, 405)


def test_an_unknown_action_changes_nothing(client, patient):
    login(client, patient)
    response = client.post(SETTINGS, {"action": "explode"})
    assert response.status_code == 302
    with unscoped():
        assert not CalendarFeed.objects.exists()


@pytest.fixture
def berlin_plan(clinic, patient, therapist, shared_exercise) -> Plan:
    with unscoped():
        clinic.time_zone = "Europe/Berlin"
        clinic.save(update_fields=["time_zone"])
        patient.reminder_time = datetime.time(7, 30)
        patient.save(update_fields=["reminder_time"])
        plan = factories.make_plan(
            patient,
            therapist,
            [shared_exercise],
            start_date=datetime.date(2026, 10, 20),
            end_date=datetime.date(2026, 11, 2),
        )
        plan.items.update(days_per_week=3)
    return plan


def test_events_keep_the_reminder_time_across_the_dst_change(patient, berlin_plan):
    with scope(patient.clinic):
        patient.refresh_from_db()
        body = calendar.feed_ics(
            patient,
            "https://clinic.example/portal/",
            host="clinic.example",
            today=datetime.date(2026, 10, 24),
        )
    events = _events(body)
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    starts = [e.decoded("DTSTART") for e in events]
    # 3 days a week from Tuesday 20 October: days 1, 3 and 5 of each week.
    assert [s.date().isoformat() for s in starts] == [
        "2026-10-20",
        "2026-10-22",
        "2026-10-24",
        "2026-10-27",
        "2026-10-29",
        "2026-10-31",
    ]
    assert {(s.hour, s.minute) for s in starts} == {(7, 30)}
    assert all(
        s.tzinfo is not None and s.utcoffset() == s.astimezone(berlin).utcoffset() for s in starts
    )
    # Summer time before 25 October, winter time after: 05:30 UTC, then 06:30 UTC.
    utc = [s.astimezone(datetime.UTC).strftime("%H:%M") for s in starts]
    assert utc == ["05:30", "05:30", "05:30", "06:30", "06:30", "06:30"]
    cal = icalendar.Calendar.from_ical(body)
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]
    assert "from Oct. 20, 2026 to Nov. 2, 2026." in str(events[0]["DESCRIPTION"])


def test_due_days_match_the_adherence_rule(patient, berlin_plan):
    from prescriptions import adherence

    with scope(patient.clinic):
        days = [d.date for d in calendar.due_days(patient, datetime.date(2026, 10, 24))]
    start = datetime.date(2026, 10, 20)
    fortnight = [start + datetime.timedelta(days=n) for n in range(14)]
    expected = [day for day in fortnight if adherence.due_days(start, day, day, 3)]
    assert days == expected


def test_without_a_reminder_time_events_last_the_day(patient, plan):
    with scope(patient.clinic):
        body = calendar.feed_ics(
            patient, "https://x.example/portal/", host="x.example", today=datetime.date(2026, 11, 3)
        )
    first = _events(body)[0]
    assert first.decoded("DTSTART") == datetime.date(2026, 11, 1)
    assert first.decoded("DTEND") == datetime.date(2026, 11, 2)


def test_a_german_patient_gets_german_titles(patient, plan):
    with unscoped():
        Patient.objects.filter(pk=patient.pk).update(preferred_language="de")
        patient.refresh_from_db()
    with scope(patient.clinic):
        body = calendar.feed_ics(
            patient, "https://x.example/portal/", host="x.example", today=datetime.date(2026, 11, 3)
        )
    assert {str(e["SUMMARY"]) for e in _events(body)} == {"Ihre Übungen"}


def test_paused_and_draft_plans_have_no_events(patient, plan):
    with unscoped():
        Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.PAUSED)
    with scope(patient.clinic):
        assert list(calendar.due_days(patient, datetime.date(2026, 11, 3))) == []
