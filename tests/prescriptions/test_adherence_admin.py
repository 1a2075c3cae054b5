"""Adherence in the therapist admin: patient list, plan page and the attention list."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.urls import reverse

from clinic.models import AuditEntry, Clinic, Patient, Therapist
from clinic.scoping import unscoped
from prescriptions.models import Exercise, Plan, SessionLog
from tests import factories
from tests.conftest import login

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:clinic_patient_changelist"
# Session, user, therapist with clinic (one query), the lead's admin and the changelist's two
# counts and one page query, the audit entry; the adherence figures add none of their own.
# The session is not written again within a minute (clinic.sessions).
PATIENT_LIST_QUERIES = 11
# The stock index plus one for the attention list (rows with their total) and, when it
# shows anyone, its audit entry.
INDEX_QUERIES = 8


def days(n: int) -> datetime.timedelta:
    return datetime.timedelta(days=n)


def running_plan(patient: Patient, therapist: Therapist, exercise: Exercise, today) -> Plan:
    return factories.make_plan(patient, therapist, [exercise], start_date=today - days(30))


def log_days(plan: Plan, today, back: list[int], pain: int = 2, **kw) -> None:
    for k in back:
        with unscoped():
            SessionLog.objects.create(plan=plan, date=today - days(k), pain=pain, **kw)


@pytest.fixture
def today(clinic: Clinic) -> datetime.date:
    return clinic.today()


@pytest.fixture
def on_track(clinic, therapist, shared_exercise, today) -> Patient:
    p = factories.make_patient(clinic, therapist, first_name="Olive", last_name="Track")
    log_days(running_plan(p, therapist, shared_exercise, today), today, list(range(28)))
    return p


@pytest.fixture
def struggling(clinic, therapist, shared_exercise, today) -> Patient:
    p = factories.make_patient(clinic, therapist, first_name="Sam", last_name="Lowe")
    log_days(running_plan(p, therapist, shared_exercise, today), today, [7, 9, 12], pain=8)
    return p


@pytest.fixture
def hilltop_struggler(other_clinic, outsider, shared_exercise, today) -> Patient:
    p = factories.make_patient(other_clinic, outsider, first_name="Hugo", last_name="Far")
    running_plan(p, outsider, shared_exercise, today)
    return p


def rows(response) -> dict[str, Patient]:
    return {p.full_name: p for p in response.context["cl"].result_list}


# -- patient changelist ---------------------------------------------------------


def test_the_patient_list_shows_adherence_last_log_and_pain(
    client, therapist, on_track, struggling, today
):
    login(client, therapist)
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    listed = rows(response)
    assert listed["Olive Track"].adherence_7 == 100  # type: ignore[attr-defined]
    assert listed["Sam Lowe"].adherence_7 == 0  # type: ignore[attr-defined]
    # 3 of 28:
    assert listed["Sam Lowe"].adherence_28 == 10  # type: ignore[attr-defined]
    assert listed["Sam Lowe"].last_log_date == today - days(7)  # type: ignore[attr-defined]
    html = response.content.decode()
    for header in ("adherence 7 days", "adherence 28 days", "last log", "latest pain"):
        assert header in html.lower()
    assert "10&nbsp;%" in html
    assert 'title="3 of 28 sessions"' in html
    assert "8/10" in html


@pytest.mark.parametrize(
    ("order", "first"), [("adherence_7_days", "Sam Lowe"), ("latest_pain_score", "Olive Track")]
)
def test_the_adherence_columns_sort(client, therapist, on_track, struggling, order, first):
    login(client, therapist)
    response = client.get(reverse(CHANGELIST))
    columns = list(response.context["cl"].list_display)
    index = columns.index(order)
    response = client.get(reverse(CHANGELIST), {"o": str(index)})
    assert response.context["cl"].result_list[0].full_name == first
    response = client.get(reverse(CHANGELIST), {"o": f"-{index}"})
    assert [p.full_name for p in response.context["cl"].result_list][-1] == first


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"adherence": "low"}, {"Sam Lowe"}),
        ({"adherence": "ok"}, {"Olive Track"}),
        ({"adherence": "none"}, {"Paula Reed"}),
        ({"last_log": "stale"}, {"Sam Lowe"}),
        ({"last_log": "never"}, {"Paula Reed"}),
        ({"attention": "yes"}, {"Sam Lowe"}),
    ],
)
def test_the_adherence_filters(
    client, therapist, patient, on_track, struggling, hilltop_struggler, params, expected
):
    login(client, therapist)
    response = client.get(reverse(CHANGELIST), params)
    assert response.status_code == 200
    assert set(rows(response)) == expected


def test_the_filters_name_the_clinics_thresholds(client, therapist, clinic, patient):
    clinic.attention_adherence_below = 60
    clinic.attention_days_without_log = 4
    clinic.save()
    login(client, therapist)
    html = client.get(reverse(CHANGELIST)).content.decode()
    assert "Under 60\u00a0%" in html
    assert "No log for 4 days or more" in html


def test_the_outsider_never_sees_our_patients_in_any_filter(
    client, outsider, on_track, struggling, hilltop_struggler
):
    login(client, outsider)
    for params in ({}, {"attention": "yes"}, {"adherence": "low"}, {"last_log": "stale"}):
        response = client.get(reverse(CHANGELIST), params)
        assert set(rows(response)) <= {"Hugo Far"}, params
    assert set(rows(client.get(reverse(CHANGELIST), {"attention": "yes"}))) == {"Hugo Far"}


def test_the_patient_list_query_count_does_not_grow(
    client, therapist, clinic, shared_exercise, today, django_assert_num_queries
):
    login(client, therapist)

    def add_patients(n: int) -> None:
        for i in range(n):
            p = factories.make_patient(clinic, therapist)
            plan = running_plan(p, therapist, shared_exercise, today)
            log_days(plan, today, list(range(0, 20, 1 + i % 3)))

    add_patients(2)
    client.get(reverse(CHANGELIST))  # warm the session and permission caches
    with django_assert_num_queries(PATIENT_LIST_QUERIES):
        client.get(reverse(CHANGELIST), {"attention": "yes"})
    add_patients(8)
    with django_assert_num_queries(PATIENT_LIST_QUERIES):
        response = client.get(reverse(CHANGELIST), {"attention": "yes"})
    assert len(response.context["cl"].result_list) == 2  # under 50 %: every third day
    with django_assert_num_queries(PATIENT_LIST_QUERIES):
        response = client.get(reverse(CHANGELIST))
    assert len(response.context["cl"].result_list) == 10
    with django_assert_num_queries(PATIENT_LIST_QUERIES):
        client.get(reverse(CHANGELIST), {"o": "-6"})


def test_a_sort_or_filter_on_a_figure_reads_the_grouped_pass_where_it_pays_off(
    client, therapist, on_track, struggling, hilltop_struggler
):
    """The page's ids come from one grouped pass over the clinic on PostgreSQL
    (prescriptions.adherence.PatientFigures), from a subquery per patient on SQLite;
    the rows, their figures and the scope are the same either way."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    login(client, therapist)
    column = str(
        client.get(reverse(CHANGELIST)).context["cl"].list_display.index("adherence_7_days")
    )
    grouped = connection.vendor == "postgresql"
    for params, expected in (
        ({"attention": "yes"}, ["Sam Lowe"]),
        ({"o": column}, ["Sam Lowe", "Olive Track"]),
        ({"o": f"-{column}"}, ["Olive Track", "Sam Lowe"]),
        ({"adherence": "low"}, ["Sam Lowe"]),
    ):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse(CHANGELIST), params)
        assert list(rows(response)) == expected, params
        ids_query = next(q["sql"] for q in queries if "page_total" in q["sql"])
        assert ("rehabit_figures" in ids_query) is grouped, params
    # A list sorted by name needs no figure for the whole clinic: its ids query reads
    # none, and the page's rows read theirs from one pass over the page's patients.
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(CHANGELIST))
    ids_query = next(q["sql"] for q in queries if "page_total" in q["sql"])
    assert "rehabit_figures" not in ids_query
    assert sum("rehabit_figures" in q["sql"] for q in queries) == 1
    listed = rows(response)
    assert listed["Olive Track"].adherence_7 == 100  # type: ignore[attr-defined]
    assert listed["Sam Lowe"].adherence_28_completed == 3  # type: ignore[attr-defined]


def test_the_page_rows_read_their_figures_from_one_pass_over_the_page(
    client, therapist, clinic, on_track, struggling, shared_exercise, today
):
    """Each period's sessions due and done come from one grouped pass over the page's
    patients (both databases), not from three subqueries a row: the same figures as
    the subquery per patient, for every kind of plan (twice a day, 3 days a week, a
    plan that changed, a paused one, a patient without a plan)."""
    from django.db import connection
    from django.db.models import F
    from django.test.utils import CaptureQueriesContext

    from clinic.scoping import scope
    from prescriptions import adherence

    twice = factories.make_patient(clinic, therapist, first_name="Tia", last_name="Twice")
    plan = running_plan(twice, therapist, shared_exercise, today)
    with unscoped():
        plan.items.update(times_per_day=2, days_per_week=3)
        log_days(plan, today, [0, 1, 2, 5, 9, 20])
        SessionLog.objects.create(plan=plan, date=today - days(1), session_number=2, pain=1)
    paused = factories.make_patient(clinic, therapist, first_name="Pia", last_name="Paused")
    stopped = running_plan(paused, therapist, shared_exercise, today)
    log_days(stopped, today, [3, 4])
    with unscoped():
        Plan.objects.filter(pk=stopped.pk).update(status=Plan.Status.PAUSED)
    factories.make_patient(clinic, therapist, first_name="Nia", last_name="Noplan")
    login(client, therapist)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(CHANGELIST))
    rows_query = next(q["sql"] for q in queries if "rehabit_figures" in q["sql"])
    assert "page_total" not in rows_query
    shown = response.context["cl"].result_list
    assert len(shown) == 5
    kinds = ("prescribed", "completed", "percent")
    with scope(clinic):
        for period, (lo, hi) in zip(("7", "28"), adherence.figure_periods(today), strict=True):
            expected = Patient.objects.annotate(
                **{kind: adherence.PatientSessions(F("pk"), kind, lo, hi) for kind in kinds}
            )
            by_pk: dict[int, Any] = {p.pk: p for p in expected}
            for row in shown:
                want = by_pk[row.pk]
                assert getattr(row, f"adherence_{period}") == want.percent, row
                assert getattr(row, f"adherence_{period}_prescribed") == want.prescribed, row
                assert getattr(row, f"adherence_{period}_completed") == want.completed, row


# -- patient page ---------------------------------------------------------------

PATIENT_PAGE = "admin:clinic_patient_change"


def summary_of(html: str) -> str:
    start = html.index('class="rehabit-summary"')
    return html[start : html.index("</dl>", start)]


def test_the_patient_page_summarises_adherence_pain_and_nerve_symptoms(
    client, therapist, struggling, today
):
    with unscoped():
        plan = struggling.plans.get()
        SessionLog.objects.create(
            plan=plan,
            date=today - days(5),
            pain=5,
            nerve_symptoms=SessionLog.NerveSymptoms.NUMBNESS,
            symptoms_lasted=True,
            symptoms_minutes=15,
        )
    login(client, therapist)
    listed: Any = rows(client.get(reverse(CHANGELIST)))["Sam Lowe"]
    response = client.get(reverse(PATIENT_PAGE, args=[struggling.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    summary = summary_of(html)
    # The list's figures (prescriptions.adherence), not a second count.
    assert listed.adherence_7 == 14  # 1 of 7: the session five days ago
    assert (
        f"<strong>{listed.adherence_7}&nbsp;%</strong> "
        f"({listed.adherence_7_completed} of {listed.adherence_7_prescribed} sessions)"
    ) in summary
    assert (
        f"<strong>{listed.adherence_28}&nbsp;%</strong> "
        f"({listed.adherence_28_completed} of {listed.adherence_28_prescribed} sessions)"
    ) in summary
    assert "<strong>5/10</strong> on" in summary
    assert "None in the latest session" not in summary
    assert "<strong>Numbness</strong> in the latest session" in summary
    assert "lasted 15 minutes" in summary
    # Why the attention list flags them, and the way to the charts.
    assert "Needs attention:" in html
    assert "Adherence 14% over 7 days" in html
    assert reverse("admin:prescriptions_plan_change", args=[plan.pk]) + "#progress" in html


def test_the_patient_page_summary_before_any_session(
    client, therapist, patient, shared_exercise, today
):
    running_plan(patient, therapist, shared_exercise, today - days(25))
    login(client, therapist)
    summary = summary_of(client.get(reverse(PATIENT_PAGE, args=[patient.pk])).content.decode())
    assert summary.count("No session logged yet.") == 2
    assert "Nothing was due." not in summary


def test_the_patient_page_says_when_nerve_symptoms_were_last_reported(
    client, therapist, on_track, today
):
    with unscoped():
        plan = on_track.plans.get()
        SessionLog.objects.filter(plan=plan, date=today - days(3)).update(
            nerve_symptoms=SessionLog.NerveSymptoms.TINGLING
        )
    login(client, therapist)
    html = client.get(reverse(PATIENT_PAGE, args=[on_track.pk])).content.decode()
    summary = summary_of(html)
    assert "None in the latest session" in summary
    assert "Last reported: Tingling or pins and needles on" in summary
    assert "Needs attention:" not in html


def test_the_outsider_gets_a_404_for_our_patient_page(client, outsider, struggling):
    login(client, outsider)
    assert client.get(reverse(PATIENT_PAGE, args=[struggling.pk])).status_code == 404


# 15 for the page without the summary (session, user, therapist, the annotated
# patient, outcomes, inlines...), and the summary's own four: the attention flag,
# the newest log, the newest with nerve symptoms, the newest active plan. The
# same for a patient with many logs.
PATIENT_PAGE_QUERIES = 19


def test_the_patient_page_query_count_does_not_grow_with_logs(
    client, therapist, patient, shared_exercise, today, django_assert_num_queries
):
    plan = running_plan(patient, therapist, shared_exercise, today)
    log_days(plan, today, [1])
    login(client, therapist)
    url = reverse(PATIENT_PAGE, args=[patient.pk])
    client.get(url)  # warm the session and permission caches
    with django_assert_num_queries(PATIENT_PAGE_QUERIES) as few:
        client.get(url)
    log_days(plan, today, list(range(2, 28)))
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(url)


def test_it_pages_the_sorted_and_filtered_list_with_each_rows_figures(
    client, therapist, clinic, shared_exercise, today, monkeypatch, django_assert_num_queries
):
    """The page's ids come first, with the total, then those rows' figures
    (FiguresLastPaginator): the pages add up to the same rows as one long list."""
    from clinic.scoping import scope
    from prescriptions.adherence import patients_needing_attention
    from prescriptions.admin.patients import PatientAdmin

    for sessions in (7, 4, 3, 2, 1):
        p = factories.make_patient(clinic, therapist, first_name=f"P{sessions}", last_name="Page")
        log_days(running_plan(p, therapist, shared_exercise, today), today, list(range(sessions)))
    login(client, therapist)
    client.get(reverse(CHANGELIST))
    monkeypatch.setattr(PatientAdmin, "list_per_page", 2)
    page = client.get(reverse(CHANGELIST))
    column = str(page.context["cl"].list_display.index("adherence_7_days"))

    seen = []
    for number in (1, 2, 3):
        with django_assert_num_queries(PATIENT_LIST_QUERIES):
            response = client.get(reverse(CHANGELIST), {"o": column, "p": str(number)})
        cl = response.context["cl"]
        assert cl.result_count == 5
        seen += [(row.adherence_7, row.last_name) for row in cl.result_list]
    assert [percent for percent, _name in seen] == [14, 28, 42, 57, 100]
    assert {name for _percent, name in seen} == {"Page"}

    with scope(clinic):
        entries, total = patients_needing_attention(clinic, today)
    assert total == 3  # 14, 28 and 42 %: under the clinic's 50 %
    flagged = client.get(reverse(CHANGELIST), {"attention": "yes", "p": "2"}).context["cl"]
    assert flagged.result_count == total
    assert len(flagged.result_list) == 1
    first = client.get(reverse(CHANGELIST), {"attention": "yes"}).context["cl"].result_list
    pages = {p.pk for p in first} | {p.pk for p in flagged.result_list}
    assert pages == {entry.patient.pk for entry in entries}


# -- plan page ------------------------------------------------------------------


def test_the_plan_page_shows_charts_and_recent_comments(
    client, therapist, patient, shared_exercise, today
):
    plan = running_plan(patient, therapist, shared_exercise, today)
    log_days(plan, today, [0, 1, 3], pain=4)
    with unscoped():
        SessionLog.objects.create(
            plan=plan,
            date=today - days(2),
            pain=6,
            comment="<script>alert(1)</script> knee felt tight",
            nerve_symptoms=SessionLog.NerveSymptoms.TINGLING,
            symptoms_lasted=True,
            symptoms_minutes=20,
        )
    login(client, therapist)
    response = client.get(reverse("admin:prescriptions_plan_change", args=[plan.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('role="img"') >= 3
    assert "rehabit-chart-nerve" in html  # nerve symptoms charted as well as tabled
    assert 'viewBox="0 0 640 220"' in html  # the wide frame
    assert "Last 7 days: 4 of 7 sessions done (57 %)." in html
    # The stretch is done on each side: sets per side over the 28 days.
    assert "left 0, right 0 of 84 each side" in html  # 3 sets a day for 28 days
    assert "&lt;script&gt;alert(1)&lt;/script&gt; knee felt tight" in html
    assert "<script>alert(1)" not in html
    assert "lasted 20 minutes" in html
    assert "Standing hamstring stretch" in html


def test_the_plan_page_before_the_plan_starts(client, therapist, patient, shared_exercise, today):
    plan = factories.make_plan(patient, therapist, [shared_exercise], start_date=today + days(3))
    login(client, therapist)
    html = client.get(reverse("admin:prescriptions_plan_change", args=[plan.pk])).content.decode()
    assert "nothing is due yet" in html
    assert "No sessions logged yet." in html


def test_the_outsider_gets_a_404_for_our_plan(client, outsider, plan):
    login(client, outsider)
    response = client.get(reverse("admin:prescriptions_plan_change", args=[plan.pk]))
    assert response.status_code == 404


# -- admin index: patients who need attention ----------------------------------------


def test_the_index_lists_patients_who_need_attention_with_reasons(
    client, therapist, on_track, struggling, today
):
    login(client, therapist)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Patients who need attention" in html
    module = html[html.index('id="attention-module"') :]
    module = module[: module.index("</div>")]
    assert "Sam Lowe" in module
    assert "Olive Track" not in module
    assert "No session logged for 7 days" in module
    assert "Adherence 0% over 7 days" in module
    assert "Pain 8/10 on" in module
    # The name leads to the plan's progress panel, where the reasons can be seen.
    with unscoped():
        plan = struggling.plans.get()
    assert reverse("admin:prescriptions_plan_change", args=[plan.pk]) + "#progress" in module
    progress = client.get(reverse("admin:prescriptions_plan_change", args=[plan.pk]))
    assert 'id="progress"' in progress.content.decode()
    # The stock index is still there.
    assert 'id="content-main"' in html
    assert 'id="recent-actions-module"' in html


def test_the_index_hides_other_clinics_patients(client, outsider, struggling, hilltop_struggler):
    login(client, outsider)
    html = client.get(reverse("admin:index")).content.decode()
    assert "Hugo Far" in html
    assert "Sam Lowe" not in html


def test_the_index_says_when_nobody_needs_attention(client, therapist, on_track):
    login(client, therapist)
    html = client.get(reverse("admin:index")).content.decode()
    assert "Nobody right now" in html
    with unscoped():
        assert not AuditEntry.objects.filter(detail="attention list on the admin index").exists()


def test_superusers_get_no_attention_list(client, django_user_model, struggling):
    admin = django_user_model.objects.create_superuser(email="root@example.org", password="x")
    factories.sign_in_staff(client, admin)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Patients who need attention" not in html
    assert 'id="content-main"' in html


def test_the_index_query_count_does_not_grow(
    client, therapist, clinic, shared_exercise, today, django_assert_num_queries
):
    login(client, therapist)

    def add_strugglers(n: int) -> None:
        for _ in range(n):
            p = factories.make_patient(clinic, therapist)
            log_days(running_plan(p, therapist, shared_exercise, today), today, [6], pain=9)

    add_strugglers(2)
    client.get(reverse("admin:index"))
    with django_assert_num_queries(INDEX_QUERIES):
        client.get(reverse("admin:index"))
    add_strugglers(6)
    with django_assert_num_queries(INDEX_QUERIES):
        html = client.get(reverse("admin:index")).content.decode()
    assert html.count("Pain 9/10 on") == 8
    # Each showing is a read in the audit trail (the INSERT is one of the queries).
    with unscoped():
        reads = AuditEntry.objects.filter(detail="attention list on the admin index")
        assert reads.count() == 3
        assert {(e.actor_id, e.clinic_id) for e in reads} == {(therapist.user_id, clinic.pk)}


def test_the_attention_filter_counts_days_by_the_clinics_clock(
    client, clinic, therapist, shared_exercise
):
    """Days without a log count from the clinic's today, not the server's: in a time
    zone whose date differs from the server's, a patient who logged on the clinic's
    today is not flagged, and would be by the server's day (the session a day in
    the future, or a day old)."""
    from django.utils import timezone

    from prescriptions import adherence

    server_day = timezone.localdate()
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):
        clinic.time_zone = zone
        if clinic.today() != server_day:
            break
    clinic.attention_days_without_log = 1
    clinic.attention_adherence_below = 0
    clinic.attention_pain_at_least = 10
    clinic.save()
    today = clinic.today()
    assert today != server_day
    p = factories.make_patient(clinic, therapist, first_name="Kim", last_name="Clock")
    plan = factories.make_plan(p, therapist, [shared_exercise], start_date=today - days(5))
    log_days(plan, today, [0], pain=1)
    login(client, therapist)
    response = client.get(reverse(CHANGELIST), {"attention": "yes"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []
    with unscoped():
        assert adherence.patients_needing_attention(clinic) == ([], 0)
        flagged, total = adherence.patients_needing_attention(clinic, server_day)
    assert ([entry.patient.pk for entry in flagged], total) == ([p.pk], 1)
