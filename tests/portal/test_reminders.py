"""Exercise reminder emails: when they go out, to whom, what they say, and running them."""

from __future__ import annotations

import datetime
import smtplib
import time
import zoneinfo
from email.utils import parseaddr
from io import StringIO
from typing import Any, cast

import pytest
from django import forms
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.core.management import CommandError, call_command
from django.db import OperationalError
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from clinic.models import Clinic, Patient
from clinic.scoping import unscoped
from portal import reminders
from portal.forms import PortalSettingsForm
from portal.reminders import LATE_WINDOW, send_due_reminders, zone_window
from prescriptions.models import Plan, PlanItem, SessionLog
from tests import factories
from tests.clinic.test_admin import patient_form
from tests.conftest import login

pytestmark = pytest.mark.django_db

# A Friday in the plan fixture's run (it started on 1 November 2026).
DAY = datetime.date(2026, 11, 20)
SIX_THIRTY = datetime.time(18, 30)


def at(clinic: Clinic, day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    """A moment given as the clinic's wall-clock time."""
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=clinic.zone)


def log(plan: Plan, day: datetime.date, session_number: int = 1) -> SessionLog:
    with unscoped():  # setting up, like a factory
        return SessionLog.objects.create(plan=plan, date=day, session_number=session_number, pain=2)


@pytest.fixture
def reminded(patient: Patient, plan: Plan) -> Patient:
    """The patient, with a running daily plan and a reminder at 18:30."""
    patient.reminder_time = SIX_THIRTY
    patient.save(update_fields=["reminder_time"])
    return patient


def last_reminded_on(patient: Patient) -> datetime.date | None:
    patient.refresh_from_db(fields=["last_reminded_on"])
    return patient.last_reminded_on


def the_email() -> EmailMultiAlternatives:
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert isinstance(message, EmailMultiAlternatives)
    return message


def html_of(message: EmailMultiAlternatives) -> str:
    [(content, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return str(content)


# ---------------------------------------------------------------------------
# When


def test_it_sends_at_the_reminder_time(reminded, clinic):
    result = send_due_reminders(at(clinic, DAY, 18, 30))
    assert (result.sent, result.skipped, result.failed) == (1, 0, 0)
    assert the_email().to == [reminded.user.email]
    assert last_reminded_on(reminded) == DAY


def test_it_waits_until_the_reminder_time(reminded, clinic):
    result = send_due_reminders(at(clinic, DAY, 18, 29))
    assert result.sent == 0
    assert mail.outbox == []
    assert last_reminded_on(reminded) is None


def test_it_catches_up_on_a_reminder_missed_by_less_than_the_late_window(reminded, clinic):
    late = at(clinic, DAY, 18, 30) + LATE_WINDOW
    assert send_due_reminders(late).sent == 1


def test_it_drops_a_reminder_later_than_the_late_window(reminded, clinic):
    too_late = at(clinic, DAY, 18, 30) + LATE_WINDOW + datetime.timedelta(minutes=1)
    result = send_due_reminders(too_late)
    assert (result.sent, result.skipped) == (0, 0)
    assert mail.outbox == []
    assert last_reminded_on(reminded) is None


def test_it_never_carries_a_reminder_past_midnight(reminded, clinic):
    reminded.reminder_time = datetime.time(23, 0)
    reminded.save(update_fields=["reminder_time"])
    next_day = DAY + datetime.timedelta(days=1)
    assert send_due_reminders(at(clinic, next_day, 0, 30)).sent == 0
    assert mail.outbox == []


def test_it_follows_the_clinic_time_zone_not_the_servers(reminded, clinic, plan, settings):
    assert settings.TIME_ZONE == "Europe/London"
    clinic.time_zone = "America/New_York"
    clinic.save(update_fields=["time_zone"])
    # 18:30 in New York is 23:30 in London; 30 minutes later London is on the next day.
    now = datetime.datetime(2026, 11, 20, 23, 30, tzinfo=datetime.UTC)
    assert now.astimezone(zoneinfo.ZoneInfo("America/New_York")).time() == SIX_THIRTY
    assert send_due_reminders(now - datetime.timedelta(minutes=1)).sent == 0
    # A session logged for London's date does not count as New York's today.
    log(plan, DAY + datetime.timedelta(days=1))
    assert send_due_reminders(now + datetime.timedelta(minutes=30)).sent == 1
    assert last_reminded_on(reminded) == DAY


def test_it_sends_a_reminder_set_inside_the_hour_the_clocks_skip(reminded, clinic, plan):
    # On 29 March 2026 London jumps from 01:00 to 02:00: 01:30 never happens.
    plan.start_date = datetime.date(2026, 3, 1)
    plan.save(update_fields=["start_date"])
    reminded.reminder_time = datetime.time(1, 30)
    reminded.save(update_fields=["reminder_time"])
    spring = datetime.date(2026, 3, 29)
    assert send_due_reminders(at(clinic, spring, 0, 59)).sent == 0
    assert send_due_reminders(at(clinic, spring, 2, 0)).sent == 1


def test_it_computes_the_window_on_the_wall_clock():
    zone = zoneinfo.ZoneInfo("Europe/Berlin")
    now = datetime.datetime(2026, 11, 20, 17, 30, tzinfo=datetime.UTC)
    window = zone_window(now, zone)
    assert window.today == DAY
    assert window.latest == datetime.time(18, 30)
    assert window.earliest == datetime.time(15, 30)
    early = zone_window(datetime.datetime(2026, 11, 20, 0, 30, tzinfo=datetime.UTC), zone)
    assert (early.today, early.earliest) == (DAY, datetime.time.min)


# ---------------------------------------------------------------------------
# Once a day, and only when needed


def test_it_sends_once_a_day_however_often_it_runs(reminded, clinic):
    assert send_due_reminders(at(clinic, DAY, 18, 30)).sent == 1
    second = send_due_reminders(at(clinic, DAY, 18, 35))
    assert (second.sent, second.skipped) == (0, 0)
    assert send_due_reminders(at(clinic, DAY, 20, 0)).sent == 0
    assert len(mail.outbox) == 1
    next_day = DAY + datetime.timedelta(days=1)
    assert send_due_reminders(at(clinic, next_day, 18, 30)).sent == 1
    assert last_reminded_on(reminded) == next_day


def test_it_loses_the_race_to_another_sender_without_sending(reminded, clinic, monkeypatch):
    real_claim = reminders.claim

    def other_sender_first(patient: Patient, today: datetime.date) -> bool:
        # Another sender read the same candidates and claims the day just before us.
        assert real_claim(patient, today) is True
        return real_claim(patient, today)

    monkeypatch.setattr(reminders, "claim", other_sender_first)
    result = send_due_reminders(at(clinic, DAY, 18, 30))
    assert (result.sent, result.skipped) == (0, 1)
    assert mail.outbox == []


def test_it_skips_a_patient_who_already_logged_today(reminded, clinic, plan):
    log(plan, DAY - datetime.timedelta(days=1))
    log(plan, DAY)
    result = send_due_reminders(at(clinic, DAY, 18, 30))
    assert (result.sent, result.skipped) == (0, 1)
    assert mail.outbox == []
    assert last_reminded_on(reminded) is None


def test_it_still_reminds_after_only_yesterdays_session(reminded, clinic, plan):
    log(plan, DAY - datetime.timedelta(days=1))
    assert send_due_reminders(at(clinic, DAY, 18, 30)).sent == 1


def test_it_skips_a_day_the_plan_does_not_ask_for(reminded, clinic, plan):
    # Three days a week from Sunday 1 November: days 1, 3 and 5 of each week are due.
    with unscoped():
        PlanItem.objects.filter(plan=plan).update(days_per_week=3)
    result = send_due_reminders(at(clinic, datetime.date(2026, 11, 2), 18, 30))
    assert (result.sent, result.skipped) == (0, 1)
    assert send_due_reminders(at(clinic, datetime.date(2026, 11, 3), 18, 30)).sent == 1


def test_it_counts_the_plans_most_frequent_exercise(reminded, clinic, plan, therapist):
    with unscoped():
        PlanItem.objects.filter(plan=plan).update(days_per_week=3)
    daily = factories.make_exercise(None, days_per_week=7)
    with unscoped():
        PlanItem.objects.create(plan=plan, exercise=daily, order=2, **daily.dosage_dict())
    assert send_due_reminders(at(clinic, datetime.date(2026, 11, 2), 18, 30)).sent == 1


def test_it_reminds_about_a_second_plan_not_yet_logged(reminded, clinic, plan, therapist):
    other = factories.make_plan(reminded, therapist, [factories.make_exercise(None)])
    log(plan, DAY)
    assert send_due_reminders(at(clinic, DAY, 18, 30)).sent == 1
    assert len(mail.outbox) == 1  # one email, however many plans are waiting
    log(other, DAY + datetime.timedelta(days=1))
    log(plan, DAY + datetime.timedelta(days=1))
    next_day = send_due_reminders(at(clinic, DAY + datetime.timedelta(days=1), 18, 30))
    assert (next_day.sent, next_day.skipped) == (0, 1)


def _no_reminder_time(patient: Patient, plan: Plan) -> None:
    with unscoped():
        Patient.objects.filter(pk=patient.pk).update(reminder_time=None)


def _inactive_patient(patient: Patient, plan: Plan) -> None:
    with unscoped():
        Patient.objects.filter(pk=patient.pk).update(is_active=False)


def _no_portal_login(patient: Patient, plan: Plan) -> None:
    with unscoped():
        Patient.objects.filter(pk=patient.pk).update(user=None)


def _inactive_login(patient: Patient, plan: Plan) -> None:
    assert patient.user is not None
    type(patient.user).objects.filter(pk=patient.user.pk).update(is_active=False)


def _login_without_email(patient: Patient, plan: Plan) -> None:
    assert patient.user is not None
    type(patient.user).objects.filter(pk=patient.user.pk).update(email="")


def _staff_login(patient: Patient, plan: Plan) -> None:
    assert patient.user is not None
    type(patient.user).objects.filter(pk=patient.user.pk).update(is_staff=True)


def _plan_status(status: str):
    def change(patient: Patient, plan: Plan) -> None:
        with unscoped():
            Plan.objects.filter(pk=plan.pk).update(status=status)

    return change


def _plan_ended_yesterday(patient: Patient, plan: Plan) -> None:
    with unscoped():
        Plan.objects.filter(pk=plan.pk).update(end_date=DAY - datetime.timedelta(days=1))


def _plan_starts_tomorrow(patient: Patient, plan: Plan) -> None:
    with unscoped():
        Plan.objects.filter(pk=plan.pk).update(start_date=DAY + datetime.timedelta(days=1))


def _plan_without_exercises(patient: Patient, plan: Plan) -> None:
    with unscoped():
        PlanItem.objects.filter(plan=plan).delete()


@pytest.mark.parametrize(
    "change",
    [
        _no_reminder_time,
        _inactive_patient,
        _no_portal_login,
        _inactive_login,
        _login_without_email,
        _staff_login,
        _plan_status(Plan.Status.PAUSED),
        _plan_status(Plan.Status.DRAFT),
        _plan_status(Plan.Status.COMPLETED),
        _plan_ended_yesterday,
        _plan_starts_tomorrow,
        _plan_without_exercises,
    ],
    ids=lambda change: change.__name__,
)
def test_it_sends_nothing_when(change, reminded, clinic, plan):
    change(reminded, plan)
    assert send_due_reminders(at(clinic, DAY, 18, 30)).sent == 0
    assert mail.outbox == []
    assert last_reminded_on(reminded) is None


def test_it_sends_on_the_plans_last_day(reminded, clinic, plan):
    with unscoped():
        Plan.objects.filter(pk=plan.pk).update(end_date=DAY)
    assert send_due_reminders(at(clinic, DAY, 18, 30)).sent == 1


# ---------------------------------------------------------------------------
# Failures


def test_it_gives_the_day_back_when_sending_fails(reminded, clinic, monkeypatch, caplog):
    yesterday = DAY - datetime.timedelta(days=1)
    with unscoped():
        Patient.objects.filter(pk=reminded.pk).update(last_reminded_on=yesterday)

    def refuse(self: EmailMultiAlternatives, *args: object, **kwargs: object) -> int:
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    with monkeypatch.context() as patched:
        patched.setattr(EmailMultiAlternatives, "send", refuse)
        result = send_due_reminders(at(clinic, DAY, 18, 30))
    assert (result.sent, result.failed) == (0, 1)
    assert last_reminded_on(reminded) == yesterday
    assert f"Reminder to patient {reminded.pk} failed" in caplog.text
    # The next pass tries again, and this time the mail server answers.
    assert send_due_reminders(at(clinic, DAY, 18, 35)).sent == 1
    assert last_reminded_on(reminded) == DAY


def test_one_failure_does_not_stop_the_others(
    reminded, other_patient, plan, therapist, clinic, monkeypatch
):
    factories.make_plan(other_patient, therapist, [factories.make_exercise(None)])
    with unscoped():
        Patient.objects.filter(pk=other_patient.pk).update(reminder_time=SIX_THIRTY)
    real_send = EmailMultiAlternatives.send

    def flaky(self: EmailMultiAlternatives, *args: Any, **kwargs: Any) -> int:
        if self.to == [reminded.user.email]:
            raise smtplib.SMTPRecipientsRefused({})
        return real_send(self, *args, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "send", flaky)
    result = send_due_reminders(at(clinic, DAY, 18, 30))
    assert (result.sent, result.failed) == (1, 1)
    assert the_email().to == [other_patient.user.email]
    assert last_reminded_on(reminded) is None
    assert last_reminded_on(other_patient) == DAY


# ---------------------------------------------------------------------------
# The email


def test_it_writes_a_short_email_from_the_clinic(reminded, clinic):
    with unscoped():
        Clinic.objects.filter(pk=clinic.pk).update(
            email="desk@riverside.example", phone="01632 960 123"
        )
    send_due_reminders(at(clinic, DAY, 18, 30))
    message = the_email()
    assert message.subject == "Time for today's exercises – Riverside Physio"
    assert parseaddr(message.from_email) == ("Riverside Physio", "rehabit@localhost")
    assert message.reply_to == ["desk@riverside.example"]
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    body = message.body
    assert body.startswith("Hello Paula,\n")
    assert "http://testserver/portal/\n" in body
    assert "turn reminders off, go to Settings" in body
    assert "http://testserver/portal/settings/\n" in body
    assert "6:30 p.m." in body
    assert "01632 960 123" in body
    html = html_of(message)
    assert 'href="http://testserver/portal/"' in html
    assert 'href="http://testserver/portal/settings/"' in html


def test_it_sets_no_reply_to_without_a_clinic_email(reminded, clinic):
    assert clinic.email == ""
    send_due_reminders(at(clinic, DAY, 18, 30))
    assert the_email().reply_to == []


def test_it_keeps_health_details_out_of_the_email(reminded, clinic, plan):
    with unscoped():
        Plan.objects.filter(pk=plan.pk).update(
            title="Sciatica after disc surgery",
            condition="L5 radiculopathy",
            goals="Walk without leg pain",
            notes_for_patient="Stop if the tingling spreads",
        )
    log(plan, DAY - datetime.timedelta(days=1))
    send_due_reminders(at(clinic, DAY, 18, 30))
    message = the_email()
    text = "\n".join([str(message.subject), str(message.body), html_of(message)]).lower()
    for detail in ("sciatica", "disc", "radiculopathy", "leg pain", "tingling", "hamstring"):
        assert detail not in text, detail
    assert "pain" not in text


def test_it_writes_in_the_patients_language(reminded, clinic, monkeypatch):
    with unscoped():
        Patient.objects.filter(pk=reminded.pk).update(preferred_language="de")
    languages = []
    real_render = render_to_string

    def spy(template_name: str, context: dict[str, object]) -> str:
        languages.append(translation.get_language())
        return real_render(template_name, context)

    monkeypatch.setattr(reminders, "render_to_string", spy)
    with translation.override("en"):
        send_due_reminders(at(clinic, DAY, 18, 30))
        assert translation.get_language() == "en"
    assert languages == ["de", "de", "de"]
    message = the_email()
    assert message.extra_headers["Content-Language"] == "de"
    # German writes times the German way (Django's own locale formats).
    assert "18:30" in message.body
    assert "p.m." not in message.body


def test_it_escapes_the_clinic_name_in_the_html_part(reminded, clinic):
    with unscoped():
        Clinic.objects.filter(pk=clinic.pk).update(name="Physio <Müller> & Co,\nKöln")
    send_due_reminders(at(clinic, DAY, 18, 30))
    message = the_email()
    assert "Physio &lt;Müller&gt; &amp; Co" in html_of(message)
    assert "Physio <Müller> & Co" in message.body
    # The line break cannot reach a header; the message still renders.
    assert parseaddr(message.from_email)[0] == "Physio <Müller> & Co, Köln"
    rendered = message.message()
    assert "\n" not in str(rendered["Subject"]).replace("\n ", "")


# ---------------------------------------------------------------------------
# Cost


def test_it_pins_the_query_count_of_a_pass(
    reminded, clinic, other_clinic, therapist, outsider, django_assert_num_queries
):
    with unscoped():
        Clinic.objects.filter(pk=other_clinic.pk).update(time_zone="Europe/Berlin")
    other_clinic.refresh_from_db()
    exercise = factories.make_exercise(None)
    for n in range(3):
        somebody = factories.make_patient(
            other_clinic, outsider, with_login=True, reminder_time=datetime.time(19, 30)
        )
        factories.make_plan(somebody, outsider, [exercise])
        factories.make_plan(somebody, outsider, [exercise], title=f"Second plan {n}")
    logged = factories.make_patient(clinic, therapist, with_login=True, reminder_time=SIX_THIRTY)
    log(factories.make_plan(logged, therapist, [exercise]), DAY)
    now = at(clinic, DAY, 18, 30)  # 19:30 in Berlin
    # Time zones, candidates, then one claim UPDATE per email sent (4); nothing
    # per skipped patient and nothing per plan.
    with django_assert_num_queries(2 + 4):
        result = send_due_reminders(now)
    assert (result.sent, result.skipped, result.failed) == (4, 1, 0)
    with django_assert_num_queries(2):
        again = send_due_reminders(now + datetime.timedelta(minutes=5))
    assert (again.sent, again.skipped) == (0, 1)


def test_it_refuses_to_run_without_a_site_url(reminded, clinic, settings):
    settings.SITE_URL = ""
    with pytest.raises(Exception, match="SITE_URL is not set"):
        send_due_reminders(at(clinic, DAY, 18, 30))
    assert mail.outbox == []


# ---------------------------------------------------------------------------
# The command


@pytest.fixture
def due_now(reminded: Patient, plan: Plan) -> Patient:
    """The reminded patient, with the reminder due at the real current time."""
    clinic = reminded.clinic
    wall = datetime.datetime.now(clinic.zone)
    Plan.objects.filter(pk=plan.pk).update(start_date=wall.date())
    reminded.reminder_time = wall.time().replace(second=0, microsecond=0)
    reminded.save(update_fields=["reminder_time"])
    return reminded


def test_the_command_sends_and_says_how_many(due_now):
    out = StringIO()
    call_command("send_reminders", stdout=out)
    assert out.getvalue() == "Reminders: 1 sent, 0 skipped, 0 failed.\n"
    assert len(mail.outbox) == 1
    out = StringIO()
    call_command("send_reminders", stdout=out)
    assert out.getvalue() == "Reminders: 0 sent, 0 skipped, 0 failed.\n"
    assert len(mail.outbox) == 1


def test_the_command_is_silent_with_verbosity_0(due_now):
    out = StringIO()
    call_command("send_reminders", verbosity=0, stdout=out)
    assert out.getvalue() == ""
    assert len(mail.outbox) == 1


def test_the_command_fails_loudly_when_an_email_fails(due_now, monkeypatch):
    def refuse(self: EmailMultiAlternatives, *args: object, **kwargs: object) -> int:
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(EmailMultiAlternatives, "send", refuse)
    out = StringIO()
    with pytest.raises(CommandError, match="1 reminder"):
        call_command("send_reminders", verbosity=0, stdout=out)
    assert out.getvalue() == "Reminders: 0 sent, 0 skipped, 1 failed.\n"
    assert last_reminded_on(due_now) is None


def test_the_command_explains_a_missing_site_url(due_now, settings):
    settings.SITE_URL = ""
    with pytest.raises(CommandError, match="SITE_URL is not set"):
        call_command("send_reminders", stdout=StringIO())


def test_the_command_refuses_a_bad_interval(db):
    with pytest.raises(CommandError, match="at least 1 second"):
        call_command("send_reminders", "--loop", "--interval", "0")


def test_the_loop_keeps_going_after_a_failed_pass(due_now, monkeypatch):
    from portal.management.commands import send_reminders as command

    passes = iter([OperationalError("database is restarting"), None])
    real_pass = send_due_reminders

    def one_pass() -> reminders.PassResult:
        error = next(passes)
        if error is not None:
            raise error
        return real_pass()

    sleeps = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:
            raise KeyboardInterrupt  # Ctrl-C ends the loop quietly

    # Each pass drops stale connections first. Inside the test's transaction
    # (autocommit off) Django would count the test's own connection as stale and
    # close it (PostgreSQL; SQLite keeps in-memory ones), so only count the calls.
    fresh_connections = []
    monkeypatch.setattr(command, "close_old_connections", lambda: fresh_connections.append(1))
    monkeypatch.setattr(command, "send_due_reminders", one_pass)
    monkeypatch.setattr(time, "sleep", sleep)
    out = StringIO()
    call_command("send_reminders", "--loop", "--interval", "30", stdout=out)
    assert sleeps == [30, 30]
    assert len(fresh_connections) == 2
    assert len(mail.outbox) == 1
    assert out.getvalue() == (
        "Sending exercise reminders every 30 seconds.\nReminders: 1 sent, 0 skipped, 0 failed.\n"
    )


# ---------------------------------------------------------------------------
# Settings page and admin


def test_the_settings_form_explains_and_clears_the_reminder_time(reminded):
    form = PortalSettingsForm(instance=reminded)
    assert "we send you an email at about this time" in str(form["reminder_time"].help_text)
    # "No reminders" is a choice of its own, first in the list.
    choices = form.fields["reminder_time"]
    assert isinstance(choices, forms.TypedChoiceField)
    assert cast(list[tuple[str, str]], choices.choices)[0] == ("", "No reminders")
    assert form["reminder_time"].value() == "18:30"
    form = PortalSettingsForm({"preferred_language": "en", "reminder_time": ""}, instance=reminded)
    assert form.is_valid(), form.errors
    form.save()
    reminded.refresh_from_db()
    assert reminded.reminder_time is None


def test_the_settings_page_turns_reminders_off(client, reminded, clinic):
    login(client, reminded)
    page = client.get(reverse("portal:settings"))
    assert "at about this time" in page.content.decode()
    response = client.post(
        reverse("portal:settings"), {"preferred_language": "en", "reminder_time": ""}
    )
    assert response.status_code == 302
    reminded.refresh_from_db()
    assert reminded.reminder_time is None
    assert send_due_reminders(at(clinic, DAY, 18, 30)).sent == 0


def test_the_settings_page_refuses_a_time_that_does_not_exist(client, reminded):
    login(client, reminded)
    response = client.post(
        reverse("portal:settings"), {"preferred_language": "en", "reminder_time": "25:99"}
    )
    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    reminded.refresh_from_db()
    assert reminded.reminder_time == SIX_THIRTY


def test_the_settings_page_offers_half_hours_and_keeps_an_earlier_time(client, reminded):
    with unscoped():
        Patient.objects.filter(pk=reminded.pk).update(reminder_time=datetime.time(7, 15))
    login(client, reminded)
    page = client.get(reverse("portal:settings")).content.decode()
    assert '<option value="07:15" selected>7:15 a.m.</option>' in page
    assert '<option value="18:30">6:30 p.m.</option>' in page
    response = client.post(
        reverse("portal:settings"), {"preferred_language": "en", "reminder_time": "18:30"}
    )
    assert response.status_code == 302
    reminded.refresh_from_db()
    assert reminded.reminder_time == datetime.time(18, 30)


def test_the_settings_page_refuses_a_time_off_the_list(client, reminded):
    login(client, reminded)
    response = client.post(
        reverse("portal:settings"), {"preferred_language": "en", "reminder_time": "18:31"}
    )
    assert response.status_code == 400
    reminded.refresh_from_db()
    assert reminded.reminder_time == SIX_THIRTY


def test_the_admin_shows_the_last_reminder_read_only(client, therapist, reminded):
    with unscoped():
        Patient.objects.filter(pk=reminded.pk).update(last_reminded_on=DAY)
    login(client, therapist)
    url = reverse("admin:clinic_patient_change", args=[reminded.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "Last reminded on" in page.content.decode()
    assert "last_reminded_on" not in page.context["adminform"].form.fields
    data = patient_form(
        first_name="Paula",
        last_name="Reed",
        email=reminded.email,
        reminder_time="09:00",
        last_reminded_on="2020-01-01",
    )
    response = client.post(url, data)
    assert response.status_code == 302
    reminded.refresh_from_db()
    assert reminded.reminder_time == datetime.time(9, 0)
    assert reminded.last_reminded_on == DAY
