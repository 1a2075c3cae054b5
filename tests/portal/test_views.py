"""The portal pages: who may see them, what they show, and the logging rules end to end."""

from __future__ import annotations

import datetime
import re
import uuid
from typing import Any

import pytest
from django.db import connection
from django.db.models.sql.compiler import SQLCompiler
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import dateformat
from django.utils.text import slugify

from clinic.scoping import unscoped
from prescriptions.models import ExerciseLog, Plan, SessionLog
from tests import factories
from tests.conftest import login


@pytest.fixture
def running_plan(patient, therapist, shared_exercise) -> Plan:
    bridge = factories.make_exercise(
        None, name="Glute bridge", slug="glute-bridge", reps=10, sets=3
    )
    start = patient.clinic.today() - datetime.timedelta(days=20)
    return factories.make_plan(
        patient, therapist, [shared_exercise, bridge], start_date=start, title="Sciatica plan"
    )


def _log_url(plan: Plan, day: datetime.date, session: int = 1) -> str:
    return reverse("portal:log", args=[plan.pk, day.isoformat(), session])


def _form_data(client: Client, url: str, **overrides: Any) -> dict[str, Any]:
    """The form as the page renders it (with its idempotency key), filled in."""
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["form"]
    data: dict[str, Any] = {
        "idempotency_key": str(form.fields["idempotency_key"].initial),
        "pain": "3",
        "nerve_symptoms": "none",
        "effort": "about_right",
        "comment": "",
    }
    for name, field in form.fields.items():
        if name.startswith("item_"):
            data[name] = str(len(field.choices) - 1)  # all sets
    data.update(overrides)
    return data


def _logged(plan: Plan, day: datetime.date, session: int = 1) -> SessionLog:
    with unscoped():
        return SessionLog.objects.create(
            plan=plan, date=day, session_number=session, pain=2, nerve_symptoms="none"
        )


def _today(plan: Plan) -> datetime.date:
    return plan.patient.clinic.today()


PAGES: list[tuple[str, list[Any]]] = [
    ("portal:today", []),
    ("portal:plan", []),
    ("portal:history", []),
    ("portal:settings", []),
]


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_it_sends_anonymous_visitors_to_sign_in(client, name, args):
    response = client.get(reverse(name, args=args))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal:login"))


def test_it_sends_anonymous_visitors_to_sign_in_from_the_log_and_handout(client, running_plan):
    for url in (
        _log_url(running_plan, _today(running_plan)),
        reverse("portal:handout", args=[running_plan.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("portal:login"))


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_it_sends_therapists_to_the_admin(client, outsider, therapist, name, args):
    for who in (therapist, outsider):
        response = login(client, who).get(reverse(name, args=args))
        assert response.status_code == 302
        assert response["Location"] == reverse("admin:index")


def test_it_shows_a_patient_without_a_patient_record_nothing(client, patient):
    user = patient.user
    patient.is_active = False
    patient.save()
    client.force_login(user)
    assert client.get(reverse("portal:today")).status_code == 404


def test_it_shows_todays_exercises_with_pictures_and_dosage(client, patient, running_plan):
    response = login(client, patient).get(reverse("portal:today"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Sciatica plan" in html
    assert "Standing hamstring stretch" in html
    assert "Glute bridge" in html
    # One session's dose: Today logs one session and says which.
    assert ">Hold 30 seconds, 3 times, each side<" in html
    assert ">3 sets of 10<" in html
    assert "once a day" not in html
    assert "/static/prescriptions/illustrations/glute-bridge.svg" in html
    assert 'alt="Drawing of Glute bridge' in html
    # The stretch has no drawing: a placeholder, named by the exercise's category.
    assert '<img class="exercise-picture" src="/static/prescriptions/placeholder.svg"' in html
    assert "No picture yet · Static stretch" in html
    # Held stretches get a timer (hidden until JavaScript starts it).
    assert 'data-seconds="30"' in html
    # Each side is recorded per side; other items once.
    with unscoped():
        stretch = running_plan.items.get(exercise__slug="shared-stretch")
        bridge = running_plan.items.get(exercise__slug="glute-bridge")
    assert f'name="item_{stretch.pk}_left"' in html
    assert f'name="item_{stretch.pk}_right"' in html
    assert f'name="item_{bridge.pk}"' in html
    assert 'name="idempotency_key"' in html


def test_it_does_not_show_another_patients_plan_on_today(client, other_patient, running_plan):
    response = login(client, other_patient).get(reverse("portal:today"))
    assert "Sciatica plan" not in response.content.decode()


def test_today_shows_only_the_plans_that_run_today(client, patient, therapist, shared_exercise):
    today = patient.clinic.today()
    day = datetime.timedelta(days=1)

    def make(title: str, **kw: Any) -> Plan:
        kw.setdefault("start_date", today - 10 * day)
        return factories.make_plan(patient, therapist, [shared_exercise], title=title, **kw)

    make("Ends today", end_date=today)
    make("Starts today", start_date=today)
    make("Ended yesterday", end_date=today - day)
    make("Starts tomorrow", start_date=today + day)
    make("Paused", status=Plan.Status.PAUSED)
    make("Draft", status=Plan.Status.DRAFT)
    response = login(client, patient).get(reverse("portal:today"))
    titles = [card.plan.title for card in response.context["cards"]]
    assert sorted(titles) == ["Ends today", "Starts today"]
    # Each card's items are its own plan's, with the plan set on them.
    for card in response.context["cards"]:
        assert [item.plan for item in card.plan.items.all()] == [card.plan]


def test_it_records_todays_session_and_shows_it_done(client, patient, running_plan):
    login(client, patient)
    url = _log_url(running_plan, _today(running_plan))
    with unscoped():
        stretch = running_plan.items.get(exercise__slug="shared-stretch")
    data = _form_data(
        client,
        url,
        pain="6",
        nerve_symptoms="tingling",
        symptoms_lasted="on",
        symptoms_minutes="15",
        comment="Tight on the left",
        **{f"item_{stretch.pk}_left": "1", f"item_{stretch.pk}_right": "0"},
    )
    response = client.post(url, data)
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:today")
    with unscoped():
        log = SessionLog.objects.get(plan=running_plan)
        assert (log.pain, log.nerve_symptoms, log.symptoms_lasted, log.symptoms_minutes) == (
            6,
            "tingling",
            True,
            15,
        )
        assert log.comment == "Tight on the left"
        row = ExerciseLog.objects.get(session=log, item=stretch)
    assert (row.sets_left, row.sets_right, row.sets_done) == (1, 0, 0)
    page = client.get(reverse("portal:today")).content.decode()
    assert "session is done" in page
    assert "All done for today" in page


def test_it_keeps_one_record_when_the_same_form_is_sent_twice(client, patient, running_plan):
    login(client, patient)
    url = _log_url(running_plan, _today(running_plan))
    data = _form_data(client, url, pain="4")
    assert client.post(url, data).status_code == 302
    # Double tap, double submit or the back button: the same form again.
    assert client.post(url, {**data, "pain": "8"}).status_code == 302
    with unscoped():
        assert SessionLog.objects.filter(plan=running_plan).count() == 1
        assert SessionLog.objects.get(plan=running_plan).pain == 4


def test_it_offers_the_next_session_when_the_plan_asks_for_two_a_day(client, patient, running_plan):
    with unscoped():
        running_plan.items.update(times_per_day=2)
    login(client, patient)
    assert "Session 1 of 2 today" in client.get(reverse("portal:today")).content.decode()
    url = _log_url(running_plan, _today(running_plan), 1)
    client.post(url, _form_data(client, url))
    page = client.get(reverse("portal:today")).content.decode()
    assert "Session 1 done" in page
    assert "Session 2 of 2 today" in page
    assert _log_url(running_plan, _today(running_plan), 2) in page


# Session, user with patient; the plan's items with the plan and their translations
# (one statement); the replay check with the session's row and its lock (one
# statement, which also tells a new session from a correction), the insert and the
# exercise rows, within the transaction's savepoint here (BEGIN/COMMIT in production;
# no savepoint of its own for a lost race).
SESSION_POST_QUERIES = 8
# A correction: the row updated, its exercise rows deleted and written again.
CORRECTION_POST_QUERIES = 9


def test_a_session_post_keeps_its_query_count(client, patient, running_plan):
    """The check constraints are decided in Python (clinic.constraints.decide): no
    `SELECT 1 AS "_check"` per rule and row, none inside the write transaction."""
    login(client, patient)
    for day in (_today(running_plan), _today(running_plan) - datetime.timedelta(days=1)):
        url = _log_url(running_plan, day)
        data = _form_data(client, url)
        with CaptureQueriesContext(connection) as queries:
            response = client.post(url, data)
        assert response.status_code == 302
        assert len(queries.captured_queries) == SESSION_POST_QUERIES
        assert not [q for q in queries.captured_queries if '"_check"' in q["sql"]]
    data = _form_data(client, url, pain="5")
    with CaptureQueriesContext(connection) as queries:
        response = client.post(url, data)
    assert response.status_code == 302
    assert len(queries.captured_queries) == CORRECTION_POST_QUERIES
    with unscoped():
        assert SessionLog.objects.filter(plan=running_plan).count() == 2
        assert SessionLog.objects.get(plan=running_plan, date=day).pain == 5


def test_it_lets_the_patient_correct_an_earlier_entry(client, patient, running_plan):
    login(client, patient)
    day = _today(running_plan) - datetime.timedelta(days=7)
    url = _log_url(running_plan, day)
    client.post(url, _form_data(client, url, pain="2", comment="first"))
    page = client.get(url)
    # The edit form is prefilled with what was recorded.
    assert page.context["form"].initial["pain"] == 2
    assert page.context["form"].initial["comment"] == "first"
    response = client.post(url, _form_data(client, url, pain="5", comment="corrected"))
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:history")
    with unscoped():
        log = SessionLog.objects.get(plan=running_plan)
    assert (log.date, log.pain, log.comment) == (day, 5, "corrected")


@pytest.mark.parametrize(
    ("offset", "message"),
    [
        (1, "not happened yet"),
        (-8, "7 days"),
    ],
)
def test_it_refuses_days_outside_the_editable_window(
    client, patient, running_plan, offset, message
):
    login(client, patient)
    url = _log_url(running_plan, _today(running_plan) + datetime.timedelta(days=offset))
    response = client.get(url, follow=True)
    assert message in response.content.decode()
    response = client.post(
        url, {"idempotency_key": str(uuid.uuid4()), "pain": "3", "nerve_symptoms": "none"}
    )
    assert response.status_code == 302
    with unscoped():
        assert not SessionLog.objects.exists()


def test_it_refuses_days_before_the_plan_started(client, patient, therapist, shared_exercise):
    today = patient.clinic.today()
    plan = factories.make_plan(patient, therapist, [shared_exercise], start_date=today)
    login(client, patient)
    url = _log_url(plan, today - datetime.timedelta(days=1))
    response = client.post(
        url,
        {"idempotency_key": str(uuid.uuid4()), "pain": "3", "nerve_symptoms": "none"},
        follow=True,
    )
    assert "started on" in response.content.decode()
    with unscoped():
        assert not SessionLog.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"pain": "11"}, "Select a valid choice"),
        ({"pain": ""}, "Choose how much pain you have now"),
        ({"nerve_symptoms": "burning"}, "Select a valid choice"),
        ({"symptoms_lasted": "on", "nerve_symptoms": "none"}, "choose tingling or numbness"),
        ({"symptoms_lasted": "on", "nerve_symptoms": "numbness"}, "how many minutes"),
        (
            {"symptoms_lasted": "on", "nerve_symptoms": "numbness", "symptoms_minutes": "-3"},
            "greater than or equal to 0",
        ),
        ({"comment": "x" * 2001}, "at most 2000 characters"),
        ({"idempotency_key": "not-a-key"}, "This form has expired"),
    ],
)
def test_it_shows_a_clear_message_for_bad_values_and_saves_nothing(
    client, patient, running_plan, overrides, message
):
    login(client, patient)
    url = _log_url(running_plan, _today(running_plan))
    response = client.post(url, _form_data(client, url, **overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    with unscoped():
        assert not SessionLog.objects.exists()


def test_it_refuses_more_sets_than_prescribed(client, patient, running_plan):
    with unscoped():
        bridge = running_plan.items.get(exercise__slug="glute-bridge")
    login(client, patient)
    url = _log_url(running_plan, _today(running_plan))
    response = client.post(url, _form_data(client, url, **{f"item_{bridge.pk}": "9"}))
    assert response.status_code == 400
    assert "Choose how many sets you did" in response.content.decode()
    with unscoped():
        assert not SessionLog.objects.exists()


def test_it_never_saves_an_item_from_another_plan(
    client, patient, running_plan, other_patient, colleague, shared_exercise
):
    with unscoped():
        foreign = factories.make_plan(other_patient, colleague, [shared_exercise]).items.get()
    login(client, patient)
    url = _log_url(running_plan, _today(running_plan))
    client.post(url, _form_data(client, url, **{f"item_{foreign.pk}": "1"}))
    with unscoped():
        assert not ExerciseLog.objects.filter(item=foreign).exists()
        assert ExerciseLog.objects.filter(session__plan=running_plan).count() == 2


def test_it_hides_another_patients_plan_from_the_log(
    client, other_patient, outside_patient, running_plan
):
    url = _log_url(running_plan, _today(running_plan))
    for who in (other_patient, outside_patient):
        login(client, who)
        assert client.get(url).status_code == 404
        response = client.post(
            url, {"idempotency_key": str(uuid.uuid4()), "pain": "1", "nerve_symptoms": "none"}
        )
        assert response.status_code == 404
    with unscoped():
        assert not SessionLog.objects.exists()


def test_the_log_of_an_active_plan_without_exercises_still_opens_and_saves(
    client, patient, running_plan
):
    # The plan is read with its items in one query; a plan with none is read on its own.
    empty = factories.make_plan(patient, running_plan.therapist, [], title="Nothing yet")
    login(client, patient)
    url = _log_url(empty, _today(running_plan))
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"idempotency_key": str(uuid.uuid4()), "pain": "1", "nerve_symptoms": "none"}
    )
    assert response.status_code == 302
    with unscoped():
        assert SessionLog.objects.get().plan == empty
        assert not ExerciseLog.objects.exists()


def test_it_refuses_logging_a_paused_plan(client, patient, running_plan):
    running_plan.status = Plan.Status.PAUSED
    running_plan.save()
    login(client, patient)
    assert client.get(_log_url(running_plan, _today(running_plan))).status_code == 404


@pytest.mark.parametrize("bad", ["2026-13-40", "yesterday"])
def test_it_answers_404_for_a_malformed_date(client, patient, running_plan, bad):
    login(client, patient)
    url = reverse("portal:log", args=[running_plan.pk, bad, 1])
    assert client.get(url).status_code == 404


def test_it_answers_404_for_a_session_the_plan_does_not_have(client, patient, running_plan):
    login(client, patient)
    assert client.get(_log_url(running_plan, _today(running_plan), 3)).status_code == 404


def test_it_shows_the_whole_plan_with_steps_and_cautions(client, patient, running_plan):
    with unscoped():
        exercise = running_plan.items.get(exercise__slug="shared-stretch").exercise
        exercise.cautions = "Keep your back straight."
        exercise.stop_signs = "Pain shoots down the leg."
        exercise.save()
        running_plan.items.filter(exercise=exercise).update(instructions="Use the bottom stair.")
    response = login(client, patient).get(reverse("portal:plan"))
    html = response.content.decode()
    assert response.status_code == 200
    for text in (
        "Stand tall.",
        "Keep your back straight.",
        "Pain shoots down the leg.",
        "Use the bottom stair.",
        reverse("portal:handout", args=[running_plan.pk]),
    ):
        assert text in html


def test_it_hides_other_patients_handouts(client, other_patient, outside_patient, running_plan):
    url = reverse("portal:handout", args=[running_plan.pk])
    for who in (other_patient, outside_patient):
        assert login(client, who).get(url).status_code == 404


def test_it_hides_draft_plans_handouts(client, patient, running_plan):
    running_plan.status = Plan.Status.DRAFT
    running_plan.save()
    url = reverse("portal:handout", args=[running_plan.pk])
    assert login(client, patient).get(url).status_code == 404


def test_it_downloads_the_patients_own_handout(client, patient, running_plan):
    response = login(client, patient).get(reverse("portal:handout", args=[running_plan.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF")


def test_it_shows_history_with_calendar_adherence_and_pain(client, patient, running_plan):
    login(client, patient)
    today = _today(running_plan)
    for days_ago, pain in ((1, 5), (2, 6)):
        url = _log_url(running_plan, today - datetime.timedelta(days=days_ago))
        client.post(url, _form_data(client, url, pain=str(pain), comment=f"day {days_ago}"))
    response = client.get(reverse("portal:history"))
    assert response.status_code == 200
    html = response.content.decode()
    cells = {cell.date: cell for week in response.context["weeks"] for cell in week}
    assert cells[today - datetime.timedelta(days=1)].status == "done"
    assert cells[today - datetime.timedelta(days=3)].status == "missed"
    assert cells[today].status == "pending"
    assert cells[today - datetime.timedelta(days=1)].edit_url == _log_url(
        running_plan, today - datetime.timedelta(days=1)
    )
    assert cells[today - datetime.timedelta(days=9)].edit_url is None
    overview = response.context["overview"]
    assert overview.adherence_7.completed == 2
    assert f"{overview.adherence_7.percent}&nbsp;%" in html
    assert "<svg" in html
    assert "day 1" in html


def test_history_formats_each_date_once_a_process(client, patient, running_plan, monkeypatch):
    # The calendar, the recent sessions and the pain chart write about a hundred
    # dates; the same ones again on the next request (and for every patient that day).
    login(client, patient)
    today = _today(running_plan)
    for days_ago in (0, 1, 2):
        url = _log_url(running_plan, today - datetime.timedelta(days=days_ago))
        client.post(url, _form_data(client, url))
    client.get(reverse("portal:history"))  # shows the "session saved" message once
    first = client.get(reverse("portal:history")).content.decode()
    calls: list[tuple[Any, ...]] = []
    original = dateformat.format

    def counting(*args: Any) -> str:
        calls.append(args)
        return original(*args)

    monkeypatch.setattr(dateformat, "format", counting)
    again = client.get(reverse("portal:history")).content.decode()
    assert calls == []
    # The same page but for the per-request tokens.
    token = re.compile(r'(csrfmiddlewaretoken" value=|nonce=)"[^"]*"')
    assert token.sub("", again) == token.sub("", first)
    assert f"<strong>{today:%A} {today.day} {today:%B}</strong>" in again


def test_history_says_how_far_today_is_while_it_is_not_over(client, patient, running_plan):
    with unscoped():
        running_plan.items.update(times_per_day=2)
    login(client, patient)
    today = _today(running_plan)
    url = reverse("portal:history")
    response = client.get(url)
    cells = {cell.date: cell for week in response.context["weeks"] for cell in week}
    assert cells[today].label == "0 of 2 so far"
    log_url = _log_url(running_plan, today)
    client.post(log_url, _form_data(client, log_url))
    response = client.get(url)
    html = response.content.decode()
    cells = {cell.date: cell for week in response.context["weeks"] for cell in week}
    assert cells[today].status == "partly"
    assert cells[today].label == "1 of 2 so far"
    assert "Today: 1 of 2 sessions so far." in html
    assert f"{cells[today].label}. Change" in html  # the calendar's link says it too
    # Once both are logged, today reads as any other day.
    second = reverse("portal:log", args=[running_plan.pk, today.isoformat(), 2])
    client.post(second, _form_data(client, second))
    response = client.get(url)
    cells = {cell.date: cell for week in response.context["weeks"] for cell in week}
    assert cells[today].label == "Done"
    assert "so far" not in response.content.decode()


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_it_pins_the_query_count_of_today(client, patient, running_plan, django_assert_num_queries):
    login(client, patient)
    url = reverse("portal:today")
    client.get(url)
    one_plan = _queries(client, url)
    for _ in range(5):
        factories.make_plan(
            patient,
            running_plan.therapist,
            [factories.make_exercise(None) for _ in range(3)],
            start_date=running_plan.start_date,
        )
    # session, user with patient and clinic (clinic.backends), plans, items with the
    # exercises in the patient's language, today's logs, outcome measures (the session is
    # not written again within a minute: clinic.sessions); with measures, one more for
    # their responses (test_questionnaires.py)
    with django_assert_num_queries(6):
        response = client.get(url)
    assert len(response.context["cards"]) == 6
    assert one_plan == 6


def _compiled_sql(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The models of the queries compiled from now on (each statement a prepared query
    runs again is not compiled: clinic.prepared)."""
    compiled: list[str] = []
    as_sql = SQLCompiler.as_sql

    def counting(compiler: SQLCompiler, *args: Any, **kwargs: Any) -> Any:
        compiled.append(str(compiler.query.model))
        return as_sql(compiler, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "as_sql", counting)
    return compiled


def test_today_runs_only_sql_compiled_on_an_earlier_visit(
    client, patient, running_plan, monkeypatch
):
    """Compiling a query costs more than running it: every statement of a visit to
    Today (the session, the user, the plans, their items, today's logs, the outcome
    measures) is compiled once per connection (clinic.prepared), not per visit."""
    login(client, patient)
    url = reverse("portal:today")
    _logged(running_plan, _today(running_plan))
    client.get(url)
    compiled = _compiled_sql(monkeypatch)
    response = client.get(url)
    assert [log.session_number for log in response.context["cards"][0].logs] == [1]
    assert compiled == []


def test_history_runs_only_sql_compiled_on_an_earlier_visit(
    client, patient, running_plan, monkeypatch
):
    """Every statement of a visit to History (the plan and its items, the calendar's
    sessions, the overview's figures and its four weeks of logs, the recent sessions,
    the questionnaires sent) is compiled once per connection (clinic.prepared)."""
    login(client, patient)
    url = reverse("portal:history")
    today = _today(running_plan)
    for days_ago in (0, 1, 3):
        log_url = _log_url(running_plan, today - datetime.timedelta(days=days_ago))
        client.post(log_url, _form_data(client, log_url, pain=str(days_ago + 2)))
    first = client.get(url)
    compiled = _compiled_sql(monkeypatch)
    response = client.get(url)
    assert compiled == []
    overview = response.context["overview"]
    assert overview == first.context["overview"]
    assert (overview.streak_days, overview.latest_pain) == (2, 2)
    assert overview.adherence_7.completed == 3
    assert [entry[0].date for entry in response.context["entries"]] == [
        today - datetime.timedelta(days=n) for n in (0, 1, 3)
    ]
    cells = {cell.date: cell.status for week in response.context["weeks"] for cell in week}
    assert cells[today - datetime.timedelta(days=2)] == "missed"


def test_the_log_page_runs_only_sql_compiled_on_an_earlier_visit(
    client, patient, running_plan, monkeypatch
):
    """The log page (and the session POST) read the session's row with SQL compiled
    once (clinic.prepared); with a row, its exercise rows follow as a prefetch."""
    login(client, patient)
    today = _today(running_plan)
    urls = [_log_url(running_plan, today), _log_url(running_plan, today - datetime.timedelta(1))]
    _logged(running_plan, today - datetime.timedelta(1))
    for url in urls:
        client.get(url)
    compiled = _compiled_sql(monkeypatch)
    assert client.get(urls[0]).context["log"] is None
    assert compiled == []
    page = client.get(urls[1])
    assert page.context["log"].pain == 2
    assert compiled == [str(ExerciseLog)]


def test_a_session_post_runs_only_select_sql_compiled_earlier(
    client, patient, running_plan, monkeypatch
):
    """The session POST reads the replay key and the session's row with SQL compiled
    once (clinic.prepared), and a correction deletes its exercise rows by the session's
    id, with no scoped subquery to compile."""
    login(client, patient)
    url = _log_url(running_plan, _today(running_plan))
    client.post(url, _form_data(client, url, pain="2"))
    data = _form_data(client, url, pain="5")
    compiled = _compiled_sql(monkeypatch)
    assert client.post(url, data).status_code == 302
    assert compiled == []
    with unscoped():
        log = SessionLog.objects.get(plan=running_plan)
        assert log.pain == 5
        assert ExerciseLog.objects.filter(session=log).count() == 2


def _messages(response: Any) -> list[tuple[str, str]]:
    return [(str(message), message.tags) for message in response.context["messages"]]


def test_it_thanks_for_a_new_session_and_confirms_a_correction(client, patient, running_plan):
    login(client, patient)
    url = _log_url(running_plan, _today(running_plan))
    data = _form_data(client, url)
    new = client.post(url, data, follow=True)
    assert _messages(new) == [("Well done! Your session is saved.", "session-saved success")]
    # The same form again is not a second session: the answer of its first send stands.
    replay = client.post(url, data, follow=True)
    assert _messages(replay) == [("Your changes are saved.", "session-saved success")]
    correction = client.post(url, _form_data(client, url, pain="7"), follow=True)
    assert _messages(correction) == [("Your changes are saved.", "session-saved success")]
    assert correction.redirect_chain == [(reverse("portal:today"), 302)]


def test_a_refused_correction_comes_back_as_a_change(client, patient, running_plan):
    login(client, patient)
    day = _today(running_plan) - datetime.timedelta(days=1)
    url = _log_url(running_plan, day)
    refused = client.post(url, _form_data(client, url, pain="11"))
    assert refused.status_code == 400
    assert refused.context["log"] is None
    client.post(url, _form_data(client, url))
    refused = client.post(url, _form_data(client, url, pain="11"))
    assert refused.status_code == 400
    assert refused.context["log"].pain == 3
    assert "Change a session" in refused.content.decode()


def test_a_session_the_database_cannot_take_comes_back_filled_in(
    client, patient, running_plan, monkeypatch
):
    """Whether the session is recorded is read only for the form that comes back; when
    the database cannot answer that either, the form still comes back, with its 503."""
    import sqlite3

    from django.db import OperationalError

    from portal import views

    login(client, patient)
    url = _log_url(running_plan, _today(running_plan))
    data = _form_data(client, url, comment="Knee felt fine")

    def busy(*args: Any, **kwargs: Any) -> Any:
        # As Django raises SQLite's: its own class, caused by the driver's.
        raise OperationalError("database is locked") from sqlite3.OperationalError(
            "database is locked"
        )

    monkeypatch.setattr(views, "record_session", busy)
    monkeypatch.setattr(views, "_session_logged", busy)
    response = client.post(url, data)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    page = response.content.decode()
    assert "could not be saved just now" in page
    assert "Knee felt fine" in page


def test_today_shows_each_running_plans_own_sessions_of_today(
    client, patient, therapist, running_plan, shared_exercise
):
    today = _today(running_plan)
    other = factories.make_plan(
        patient, therapist, [shared_exercise], title="Second plan", start_date=today
    )
    paused = factories.make_plan(
        patient, therapist, [shared_exercise], title="Paused", start_date=today
    )
    with unscoped():
        running_plan.items.update(times_per_day=3)
    for plan, day, number in [
        (running_plan, today, 3),
        (running_plan, today, 1),
        (running_plan, today - datetime.timedelta(days=1), 2),
        (other, today, 1),
        (paused, today, 1),
    ]:
        _logged(plan, day, number)
    with unscoped():
        Plan.objects.filter(pk=paused.pk).update(status=Plan.Status.PAUSED)
    response = login(client, patient).get(reverse("portal:today"))
    logs = {
        card.plan.pk: [log.session_number for log in card.logs]
        for card in response.context["cards"]
    }
    assert logs == {running_plan.pk: [1, 3], other.pk: [1]}
    assert {card.plan.pk: card.next_session for card in response.context["cards"]} == {
        running_plan.pk: 2,
        other.pk: None,
    }


def test_it_pins_the_query_count_of_history(
    client, patient, running_plan, django_assert_num_queries
):
    login(client, patient)
    url = reverse("portal:history")
    today = _today(running_plan)
    log_url = _log_url(running_plan, today)
    client.post(log_url, _form_data(client, log_url))
    one_log = _queries(client, url)
    for days_ago in range(1, 8):
        log_url = _log_url(running_plan, today - datetime.timedelta(days=days_ago))
        client.post(log_url, _form_data(client, log_url))
    # session, user with patient, plan, calendar (2), overview (2), recent, questionnaires sent
    with django_assert_num_queries(9):
        response = client.get(url)
    assert len(response.context["entries"]) == 8
    assert one_log == 9


def test_my_plan_lists_the_patients_paused_and_completed_plans_as_earlier_ones(
    client, patient, other_patient, running_plan
):
    therapist = running_plan.therapist
    for title, status in [
        ("Paused plan", Plan.Status.PAUSED),
        ("Completed plan", Plan.Status.COMPLETED),
        ("Draft plan", Plan.Status.DRAFT),
    ]:
        factories.make_plan(patient, therapist, title=title, status=status)
    factories.make_plan(other_patient, therapist, title="Oscar's plan", status="completed")
    response = login(client, patient).get(reverse("portal:plan"))
    assert [view.plan for view in response.context["sections"]] == [running_plan]
    earlier = response.context["earlier"]
    assert sorted(plan.title for plan in earlier) == ["Completed plan", "Paused plan"]
    page = response.content.decode()
    assert "Earlier plans" in page
    assert "Draft plan" not in page and "Oscar" not in page
    for plan in earlier:
        assert reverse("portal:handout", args=[plan.pk]) in page


def test_my_plan_shows_each_plans_reading_by_title_from_its_clinic_or_the_library(
    client, patient, running_plan, other_clinic
):
    from prescriptions.models import EducationPage

    second = factories.make_plan(patient, running_plan.therapist, title="Second plan")
    with unscoped():
        pages = {
            title: EducationPage.objects.create(
                clinic=clinic, slug=slugify(title), title=title, summary="s", body="b"
            )
            for title, clinic in [
                ("Walking", patient.clinic),
                ("Back care", None),
                ("Hilltop's own page", other_clinic),
            ]
        }
        # Linked in the database directly: the admin offers no other clinic's pages.
        running_plan.education.add(*pages.values())
        second.education.add(pages["Walking"])
    response = login(client, patient).get(reverse("portal:plan"))
    reading = {
        view.plan.title: [page.title for page in view.education]
        for view in response.context["sections"]
    }
    assert reading == {running_plan.title: ["Back care", "Walking"], "Second plan": ["Walking"]}
    assert "Hilltop" not in response.content.decode()


def test_it_pins_the_query_count_of_my_plan(
    client, patient, running_plan, django_assert_num_queries
):
    login(client, patient)
    url = reverse("portal:plan")
    client.get(url)
    one_plan = _queries(client, url)
    for _ in range(3):
        factories.make_plan(
            patient,
            running_plan.therapist,
            [factories.make_exercise(None) for _ in range(3)],
            start_date=running_plan.start_date,
        )
    # session, user with patient, plans (active and earlier) with therapists, items with
    # the exercises in the patient's language, the plans' education pages
    with django_assert_num_queries(one_plan):
        response = client.get(url)
    assert len(response.context["sections"]) == 4
    assert one_plan == 5


def test_the_downloaded_handout_follows_the_plan(client, patient, running_plan):
    """The download reads the plan, its pages and items on every request (compiled once:
    clinic.prepared) and serves the stored PDF only while they are unchanged."""
    from prescriptions.models import EducationPage, Exercise
    from tests.prescriptions.test_handouts import pdf_text

    login(client, patient)
    url = reverse("portal:handout", args=[running_plan.pk])
    first = pdf_text(client.get(url).content)
    assert "Sitting and driving" not in first and "Bridge on a step" not in first
    with unscoped():
        page = EducationPage.objects.create(
            clinic=patient.clinic, slug="sitting", title="Sitting and driving", summary="s"
        )
        running_plan.education.add(page)
    assert "Sitting and driving" in pdf_text(client.get(url).content)
    with unscoped():
        Exercise.objects.filter(slug="glute-bridge").update(name="Bridge on a step")
    assert "Bridge on a step" in pdf_text(client.get(url).content)


def test_it_pins_the_query_count_of_a_cached_handout(
    client, patient, running_plan, django_assert_num_queries
):
    login(client, patient)
    url = reverse("portal:handout", args=[running_plan.pk])
    assert client.get(url).status_code == 200  # rendered and stored
    # session, user with patient, the plan with patient, clinic and therapist (read once:
    # handouts.handout_plans), its education pages, items with the exercises in the
    # patient's language, stored handout
    with django_assert_num_queries(6):
        response = client.get(url)
    assert response["Content-Type"] == "application/pdf"


def test_it_saves_language_and_reminder_time(client, patient):
    login(client, patient)
    response = client.post(
        reverse("portal:settings"), {"preferred_language": "de", "reminder_time": "18:30"}
    )
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.preferred_language == "de"
    assert patient.reminder_time == datetime.time(18, 30)
    assert response.cookies["django_language"].value == "de"
    # The portal now speaks the patient's language.
    page = client.get(reverse("portal:settings"))
    assert re.search(r'<html lang="de"', page.content.decode())


def test_it_refuses_an_unknown_language(client, patient):
    login(client, patient)
    response = client.post(reverse("portal:settings"), {"preferred_language": "xx"})
    assert response.status_code == 400
    patient.refresh_from_db()
    assert patient.preferred_language == "en"


def test_it_uses_a_post_only_logout_that_ends_the_session(client, patient):
    login(client, patient)
    assert client.get(reverse("portal:logout")).status_code == 405
    response = client.post(reverse("portal:logout"))
    assert response.status_code == 302
    assert client.get(reverse("portal:today")).status_code == 302
