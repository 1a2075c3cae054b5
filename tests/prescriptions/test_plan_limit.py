"""The clinic's limit on exercises in one plan (`Clinic.max_plan_exercises`, issue 17):
the model, the admin's rows, copies and templates all refuse a plan past it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from clinic.models import Clinic
from clinic.scoping import scope, unscoped
from prescriptions import plans
from prescriptions.models import Plan, PlanItem
from tests import factories
from tests.conftest import login
from tests.prescriptions.test_admin import item_rows, plan_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def exercises(db):
    return [factories.make_exercise(None) for _ in range(4)]


def set_limit(clinic: Clinic, limit: int) -> None:
    with unscoped():
        Clinic.objects.filter(pk=clinic.pk).update(max_plan_exercises=limit)


def test_the_default_limit_is_forty(clinic):
    assert clinic.max_plan_exercises == 40


def test_the_limit_itself_is_bounded(clinic):
    clinic.max_plan_exercises = 0
    with scope(clinic), pytest.raises(ValidationError) as error:
        clinic.full_clean()
    assert "between 1 and 200" in str(error.value.message_dict["max_plan_exercises"])


def test_the_model_refuses_a_row_past_the_limit(clinic, patient, therapist, exercises):
    plan = factories.make_plan(patient, therapist, exercises[:2])
    set_limit(clinic, 2)
    with scope(clinic):
        plan = Plan.objects.get(pk=plan.pk)
        item = PlanItem(plan=plan, exercise=exercises[2], order=3, sets=1, reps=5)
        with pytest.raises(ValidationError) as error:
            item.full_clean()
        assert "at most 2 exercises" in " ".join(error.value.messages)
        set_limit(clinic, 3)
        plan = Plan.objects.get(pk=plan.pk)
        PlanItem(plan=plan, exercise=exercises[2], order=3, sets=1, reps=5).full_clean()


class TestAdmin:
    def test_it_refuses_a_new_plan_with_too_many_rows_and_saves_nothing(
        self, client, clinic, therapist, patient, exercises
    ):
        set_limit(clinic, 3)
        login(client, therapist)
        data = plan_form(patient, therapist) | item_rows(
            [{"exercise": e.pk, "order": n} for n, e in enumerate(exercises, start=1)]
        )
        response = client.post(reverse("admin:prescriptions_plan_add"), data)
        assert response.status_code == 200
        html = response.content.decode()
        assert "A plan can hold at most 3 exercises" in html
        assert "this one would have 4" in html
        with unscoped():
            assert not Plan.objects.exists()

    def test_it_allows_swapping_a_row_at_the_limit(
        self, client, clinic, therapist, patient, exercises
    ):
        plan = factories.make_plan(patient, therapist, exercises[:2])
        set_limit(clinic, 2)
        with unscoped():
            first, second = plan.items.order_by("order")
        login(client, therapist)
        data = plan_form(
            patient, therapist, status=plan.status, start_date=str(plan.start_date), end_date=""
        ) | item_rows(
            [
                {"id": first.pk, "plan": plan.pk, "exercise": exercises[0].pk, "order": 1},
                {
                    "id": second.pk,
                    "plan": plan.pk,
                    "exercise": exercises[1].pk,
                    "order": 2,
                    "DELETE": "on",
                },
                {"exercise": exercises[2].pk, "order": 3},
            ],
            initial=2,
        )
        response = client.post(reverse("admin:prescriptions_plan_change", args=[plan.pk]), data)
        assert response.status_code == 302, response.context["errors"]
        with unscoped():
            assert [i.exercise for i in plan.items.order_by("order")] == [
                exercises[0],
                exercises[2],
            ]

    def test_it_refuses_to_start_a_plan_from_a_longer_template(
        self, client, clinic, therapist, patient, exercises
    ):
        template = factories.make_template(None, exercises, "Long protocol")
        set_limit(clinic, 3)
        login(client, therapist)
        response = client.post(
            reverse("admin:prescriptions_plantemplate_changelist"),
            {
                "action": "start_plan",
                "_selected_action": [template.pk],
                "apply": "1",
                "patient": patient.pk,
                "therapist": therapist.pk,
                "start_date": "2026-11-23",
            },
        )
        assert response.status_code == 200
        assert "A plan can hold at most 3 exercises" in response.content.decode()
        with unscoped():
            assert not Plan.objects.exists()

    def test_it_refuses_a_template_past_the_limit_on_the_plan_form(
        self, client, clinic, therapist, patient, exercises
    ):
        template = factories.make_template(None, exercises, "Long protocol")
        set_limit(clinic, 3)
        login(client, therapist)
        data = plan_form(patient, therapist, template=template.pk) | item_rows([])
        response = client.post(reverse("admin:prescriptions_plan_add"), data)
        assert response.status_code == 200
        assert "A plan can hold at most 3 exercises" in response.content.decode()
        with unscoped():
            assert not Plan.objects.exists()

    def test_it_does_not_duplicate_a_plan_longer_than_the_limit(
        self, client, clinic, therapist, patient, exercises
    ):
        plan = factories.make_plan(patient, therapist, exercises)
        set_limit(clinic, 3)
        login(client, therapist)
        response = client.post(
            reverse("admin:prescriptions_plan_changelist"),
            {"action": "duplicate", "_selected_action": [plan.pk]},
            follow=True,
        )
        assert "A plan can hold at most 3 exercises" in response.content.decode()
        with unscoped():
            assert Plan.objects.count() == 1


def test_copying_a_template_checks_the_limit(clinic, patient, therapist, exercises):
    template = factories.make_template(clinic, exercises)
    patient.clinic.max_plan_exercises = 3
    with scope(clinic), pytest.raises(ValidationError):
        plans.start_plan_from_template(template, patient=patient, therapist=therapist)
    with unscoped():
        assert not Plan.objects.exists()
