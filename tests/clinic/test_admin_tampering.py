"""Tampered admin requests get the admin's own messages, never a 500."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from clinic.scoping import unscoped
from prescriptions.models import Exercise, Plan
from tests import factories
from tests.conftest import login
from tests.prescriptions.test_admin import item_rows, plan_form

pytestmark = pytest.mark.django_db

NOT_KEYS = ["abc", "1.5", "9" * 30, "<b>1</b>"]


@pytest.mark.parametrize("value", NOT_KEYS)
def test_it_refuses_a_patient_that_is_not_a_key(client, therapist, patient, value):
    login(client, therapist)
    data = plan_form(patient, therapist) | item_rows([]) | {"patient": value}

    response = client.post(reverse("admin:prescriptions_plan_add"), data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "Select a valid choice" in str(errors["patient"])
    with unscoped():
        assert not Plan.objects.exists()


@pytest.mark.parametrize("value", NOT_KEYS)
def test_it_refuses_an_exercise_row_that_is_not_a_key(client, therapist, plan, value):
    login(client, therapist)
    with unscoped():
        item = plan.items.get()
    data = plan_form(plan.patient, therapist, title=plan.title) | item_rows(
        [{"id": item.pk, "plan": plan.pk, "exercise": value, "order": 1}], initial=1
    )

    response = client.post(reverse("admin:prescriptions_plan_change", args=[plan.pk]), data)

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    with unscoped():
        assert plan.items.get().exercise_id == item.exercise_id


@pytest.mark.parametrize("value", NOT_KEYS)
def test_it_refuses_an_easier_variant_that_is_not_a_key(client, therapist, value):
    login(client, therapist)

    response = client.post(
        reverse("admin:prescriptions_exercise_add"), {"name": "Wall sit", "easier": value}
    )

    assert response.status_code == 200
    assert "Select a valid choice" in str(response.context["adminform"].form.errors["easier"])
    with unscoped():
        assert not Exercise.objects.filter(name="Wall sit").exists()


@pytest.mark.parametrize("value", NOT_KEYS)
def test_an_action_on_ids_that_are_not_keys_changes_nothing(client, therapist, plan, value):
    login(client, therapist)
    status = plan.status

    response = client.post(
        reverse("admin:prescriptions_plan_changelist"),
        {"action": "complete", "_selected_action": [value], "index": "0"},
        follow=True,
    )

    assert response.status_code == 200
    assert "Items must be selected" in response.content.decode()
    plan.refresh_from_db()
    assert plan.status == status != Plan.Status.COMPLETED


def test_valid_ids_beside_tampered_ones_still_act(client, therapist, plan):
    login(client, therapist)

    client.post(
        reverse("admin:prescriptions_plan_changelist"),
        {"action": "complete", "_selected_action": ["abc", str(plan.pk)], "index": "0"},
    )

    plan.refresh_from_db()
    assert plan.status == Plan.Status.COMPLETED


def test_djangos_own_admins_are_covered_too(client, django_user_model):
    superuser = django_user_model.objects.create_superuser("root@example.org", "pass-12345678")
    factories.sign_in_staff(client, superuser)
    group = Group.objects.create(name="Front desk")

    response = client.post(
        reverse("admin:auth_group_changelist"),
        {"action": "delete_selected", "_selected_action": ["abc"], "index": "0"},
        follow=True,
    )

    assert response.status_code == 200
    assert Group.objects.filter(pk=group.pk).exists()


class _Row:
    def __init__(self, pk: object, text: str) -> None:
        self.pk, self.text = pk, text

    def __str__(self) -> str:
        return self.text


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize(
    "row",
    [
        _Row(7, "Alice Reed"),
        _Row(12, '<b>O\'Brien</b> & "Sons"'),
        _Row("a1b2", "\u202eetis no weiV\u202c"),
    ],
)
def test_every_lists_selection_box_is_the_stock_html(language, row):
    # Written directly for speed (SafeInputAdminMixin.action_checkbox); the stock
    # method renders the same box through the template engine.
    from django.contrib import admin as django_admin
    from django.utils import translation

    from clinic.admin_site import SafeInputAdminMixin

    admins = [ma for ma in django_admin.site._registry.values() if ma.actions is not None]
    assert admins and all(isinstance(ma, SafeInputAdminMixin) for ma in admins)
    with translation.override(language):
        for model_admin in admins:
            stock = django_admin.ModelAdmin.action_checkbox(model_admin, row)
            assert model_admin.action_checkbox(row) == stock
