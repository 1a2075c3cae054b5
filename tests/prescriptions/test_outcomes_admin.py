"""Outcome measures in the therapist admin: attached to a plan with a schedule."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.scoping import scope, unscoped
from prescriptions import adherence
from prescriptions.charts import outcome_chart_svg
from prescriptions.models import OutcomeMeasure, Plan, QuestionnaireResponse
from prescriptions.outcomes import library
from tests import factories
from tests.conftest import login
from tests.prescriptions.test_admin import item_rows, plan_form

pytestmark = pytest.mark.django_db


def measure_rows(rows, initial=0):
    data = {
        "outcome_measures-TOTAL_FORMS": str(len(rows)),
        "outcome_measures-INITIAL_FORMS": str(initial),
        "outcome_measures-MIN_NUM_FORMS": "0",
        "outcome_measures-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        defaults = {"at_start": "on", "at_end": "on", "every_weeks": "", "activities": ""}
        for key, value in {**defaults, **row}.items():
            if value is not None:
                data[f"outcome_measures-{i}-{key}"] = value
    return data


def test_it_attaches_questionnaires_to_a_new_plan(client, therapist, patient, shared_exercise):
    login(client, therapist)
    data = (
        plan_form(patient, therapist)
        | item_rows([{"exercise": shared_exercise.pk, "order": 1}])
        | measure_rows(
            [
                {"instrument": "lefs", "every_weeks": "2"},
                {"instrument": "psfs", "activities": "Sitting through a film\nPutting on socks"},
            ]
        )
    )
    response = client.post(reverse("admin:prescriptions_plan_add"), data)
    assert response.status_code == 302, response.context["errors"]
    with unscoped():
        plan = Plan.objects.get(title="Sciatica relief")
        measures = list(plan.outcome_measures.order_by("instrument"))
    assert [(m.instrument, m.every_weeks, m.at_start, m.at_end) for m in measures] == [
        ("lefs", 2, True, True),
        ("psfs", None, True, True),
    ]
    assert measures[1].activity_list == ["Sitting through a film", "Putting on socks"]


def test_psfs_without_activities_is_refused_with_a_message(
    client, therapist, patient, shared_exercise
):
    login(client, therapist)
    data = (
        plan_form(patient, therapist)
        | item_rows([{"exercise": shared_exercise.pk, "order": 1}])
        | measure_rows([{"instrument": "psfs"}])
    )
    response = client.post(reverse("admin:prescriptions_plan_add"), data)
    assert response.status_code == 200
    assert "Name one to 5 activities, one per line." in response.content.decode()
    with unscoped():
        assert not Plan.objects.exists()
        assert not OutcomeMeasure.objects.exists()


def test_a_measure_with_no_schedule_is_refused(client, therapist, patient, shared_exercise):
    login(client, therapist)
    data = (
        plan_form(patient, therapist)
        | item_rows([{"exercise": shared_exercise.pk, "order": 1}])
        | measure_rows([{"instrument": "nprs", "at_start": None, "at_end": None}])
    )
    response = client.post(reverse("admin:prescriptions_plan_add"), data)
    assert response.status_code == 200
    assert "Choose when to ask" in response.content.decode()


def test_the_plan_page_offers_the_library(client, therapist, plan):
    login(client, therapist)
    response = client.get(reverse("admin:prescriptions_plan_change", args=[plan.pk]))
    page = response.content.decode()
    assert "Outcome questionnaires" in page
    assert "LEFS – Lower Extremity Functional Scale" in page


# --- Scores over time --------------------------------------------------------------


def _sent(measure, due_date, answers, score, worse=False):
    with unscoped():
        return QuestionnaireResponse.objects.create(
            measure=measure,
            due_date=due_date,
            answers=answers,
            score=Decimal(score),
            status=QuestionnaireResponse.Status.COMPLETED,
            completed_at=timezone.now(),
            worse_by_mcid=worse,
        )


@pytest.fixture
def scored(plan):
    measure = factories.make_measure(plan, "nprs", every_weeks=2)
    start = plan.start_date
    _sent(measure, start, {"worst": 3, "average": 3}, "3")
    _sent(measure, start + datetime.timedelta(weeks=2), {"worst": 6, "average": 5}, "5.5", True)
    return measure


def test_the_chart_shows_the_scores_and_the_mcid_band():
    instrument = library.get("lefs")
    day = datetime.date(2026, 11, 2)
    svg = outcome_chart_svg(
        instrument,
        [(day, Decimal(40)), (day + datetime.timedelta(weeks=2), Decimal(52))],
        title="LEFS over time",
    )
    assert svg.count("<circle") == 2
    assert "MCID band" in svg
    assert "latest 52 on a scale of 0 to 80 (higher is better), better by at least the MCID" in svg
    # The band runs from 31 to 49 (40 plus and minus 9) on a 0-80 axis.
    top = 10 + 108 * (1 - 49 / 80)
    assert f'y="{top:.1f}"' in svg


def test_the_chart_of_a_change_scale_centres_its_band_on_no_change():
    svg = outcome_chart_svg(
        library.get("groc"), [(datetime.date(2026, 11, 2), Decimal(-3))], title="GROC"
    )
    assert "worse by at least the MCID" in svg
    assert "latest -3 on a scale of -7 to 7" in svg


def test_an_empty_chart_says_so():
    assert "No answers yet." in outcome_chart_svg(library.get("psfs"), [], title="PSFS")


def test_the_plan_page_shows_scores_over_time(client, therapist, plan, scored):
    login(client, therapist)
    page = client.get(reverse("admin:prescriptions_plan_change", args=[plan.pk])).content.decode()
    assert "Outcome scores" in page
    assert "rehabit-chart-outcome" in page
    assert "Worse by at least the MCID" in page
    assert "+2.5" in page
    assert "Childs JD, Piva SR, Fritz JM" in page


def test_the_patient_page_shows_scores_over_time(client, therapist, patient, scored):
    login(client, therapist)
    page = client.get(reverse("admin:clinic_patient_change", args=[patient.pk])).content.decode()
    assert "rehabit-chart-outcome" in page
    assert "NPRS – Numeric Pain Rating Scale" in page


def test_the_plan_page_keeps_its_query_count_with_scores(
    client, therapist, plan, scored, django_assert_max_num_queries
):
    login(client, therapist)
    url = reverse("admin:prescriptions_plan_change", args=[plan.pk])
    client.get(url)
    for code in ("lefs", "groc"):
        measure = factories.make_measure(plan, code)
        _sent(measure, plan.start_date, {}, "1")
    with CaptureQueriesContext(connection) as three:
        client.get(url)
    with unscoped():
        OutcomeMeasure.objects.exclude(pk=scored.pk).delete()
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    assert len(three) == len(one)


def test_a_worse_outcome_puts_the_patient_on_the_attention_list(clinic, patient, plan, scored):
    with scope(clinic):
        entries, _total = adherence.patients_needing_attention(clinic, clinic.today())
    reasons = {entry.patient: entry.reasons for entry in entries}
    assert "Outcome score worse than at the start by at least the MCID" in reasons[patient]


def test_a_newer_score_back_within_the_mcid_clears_the_reason(clinic, patient, plan, scored):
    _sent(scored, plan.start_date + datetime.timedelta(weeks=4), {}, "4")
    with scope(clinic):
        entries, _total = adherence.patients_needing_attention(clinic, clinic.today())
    reasons = {entry.patient: entry.reasons for entry in entries}
    assert "Outcome score worse than at the start by at least the MCID" not in reasons.get(
        patient, []
    )
