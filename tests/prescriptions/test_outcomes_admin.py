"""Outcome measures in the therapist admin: attached to a plan with a schedule."""

from __future__ import annotations

import pytest
from django.urls import reverse

from clinic.scoping import unscoped
from prescriptions.models import OutcomeMeasure, Plan
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
