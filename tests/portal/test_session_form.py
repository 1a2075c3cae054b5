"""The session form as the server renders it: one-tap answers, "I did all of these"
without JavaScript, and the keep-alive that stops a busy patient's sign-in expiring."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from clinic.scoping import unscoped
from prescriptions.models import Exercise, Plan
from tests import factories
from tests.conftest import login


@pytest.fixture
def running_plan(patient, therapist, shared_exercise) -> Plan:
    bridge = factories.make_exercise(None, name="Glute bridge", reps=10, sets=3)
    start = patient.clinic.today() - datetime.timedelta(days=5)
    return factories.make_plan(patient, therapist, [shared_exercise, bridge], start_date=start)


def _items(plan: Plan) -> dict[str, int]:
    """Each exercise's plan row id, by name (test set-up reads across scopes)."""
    with unscoped():
        return {item.exercise.name: item.pk for item in plan.items.select_related("exercise")}


def _checked(html: str) -> dict[str, str]:
    """name → value of every checked radio button on the page."""
    found = {}
    for tag in re.findall(r"<input[^>]*type=\"radio\"[^>]*>", html):
        if " checked" in tag:
            name = re.search(r'name="([^"]+)"', tag)
            value = re.search(r'value="([^"]*)"', tag)
            assert name and value
            found[name.group(1)] = value.group(1)
    return found


def test_every_answer_is_a_large_radio_button_not_a_menu(client, patient, running_plan):
    login(client, patient)
    html = client.get(reverse("portal:today")).content.decode()
    assert "<select" not in html.split('class="how-it-went')[0]  # exercises: no menus
    items = _items(running_plan)
    bridge = items["Glute bridge"]
    assert re.search(rf'<input type="radio" name="item_{bridge}" value="3"[^>]*btn-check', html)
    assert re.search(r'<input type="radio" name="pain" value="10"[^>]*btn-check', html)
    # Nothing is claimed as done until the patient says so.
    assert _checked(html) == {
        f"item_{bridge}": "0",
        f"item_{items['Standing hamstring stretch']}_left": "0",
        f"item_{items['Standing hamstring stretch']}_right": "0",
        "nerve_symptoms": "none",
    }


def test_the_set_buttons_say_done_for_one_set_and_all_for_more():
    from portal.forms import _sets_choices

    assert [str(label) for _n, label in _sets_choices(1)] == ["Not done", "Done"]
    assert [str(label) for _n, label in _sets_choices(3)] == [
        "Not done",
        "1 of 3",
        "2 of 3",
        "All 3",
    ]


def test_the_set_buttons_are_built_once_a_language_and_speak_it():
    from django.utils import translation

    from portal.forms import SessionForm, _sets_choices

    with translation.override("en"):
        english = _sets_choices(3)
        assert _sets_choices(3) is english
    with translation.override("de"):
        assert [str(label) for _n, label in _sets_choices(3)] == [
            "Nicht gemacht",
            "1 von 3",
            "2 von 3",
            "Alle 3",
        ]
    # A form's field holds its own list: a change to it reaches no other form.
    field = SessionForm._sets_field(english, "Bridge: sets done", "Sets done")
    assert field.choices is not english  # type: ignore[attr-defined]


def test_each_form_shares_the_declared_choices_but_holds_its_own_list(monkeypatch):
    import copy as copying

    from django.forms import fields

    from portal.forms import SessionForm

    deep_copied: list[Any] = []

    class Recording:
        copy = staticmethod(copying.copy)

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            deep_copied.append(value)
            return copying.deepcopy(value, memo)

    monkeypatch.setattr(fields, "copy", Recording)
    first, second = SessionForm(items=[]), SessionForm(items=[])
    # Building a form deep-copies its fields' widgets, not their lists of choices.
    assert deep_copied and not [value for value in deep_copied if isinstance(value, list)]
    for name in ("pain", "nerve_symptoms", "effort"):
        mine, theirs = first.fields[name], second.fields[name]
        assert mine.choices == theirs.choices  # type: ignore[attr-defined]
        # A list of its own, so replacing or extending it stays in one form.
        mine.choices.append(("extra", "Extra"))  # type: ignore[attr-defined]
        assert ("extra", "Extra") not in theirs.choices  # type: ignore[attr-defined]
        assert ("extra", "Extra") not in SessionForm.base_fields[name].choices  # type: ignore[attr-defined]


def test_i_did_all_of_these_works_without_javascript(client, patient, running_plan):
    login(client, patient)
    today = client.get(reverse("portal:today")).content.decode()
    assert f'href="?all={running_plan.pk}"' in today
    html = client.get(reverse("portal:today"), {"all": running_plan.pk}).content.decode()
    items = _items(running_plan)
    stretch, bridge = items["Standing hamstring stretch"], items["Glute bridge"]
    checked = _checked(html)
    # Each exercise at its full prescription (the stretch: 3 sets on each side).
    assert checked[f"item_{bridge}"] == "3"
    assert checked[f"item_{stretch}_left"] == checked[f"item_{stretch}_right"] == "3"
    assert "pain" not in checked  # pain is always the patient's own answer


def test_another_plans_number_fills_nothing(client, patient, running_plan):
    login(client, patient)
    html = client.get(reverse("portal:today"), {"all": running_plan.pk + 1}).content.decode()
    bridge = _items(running_plan)["Glute bridge"]
    assert _checked(html)[f"item_{bridge}"] == "0"


def test_the_change_form_can_be_filled_in_full_too(client, patient, running_plan):
    login(client, patient)
    day = running_plan.patient.clinic.today() - datetime.timedelta(days=1)
    url = reverse("portal:log", args=[running_plan.pk, day.isoformat(), 1])
    html = client.get(url, {"all": "1"}).content.decode()
    bridge = _items(running_plan)["Glute bridge"]
    assert _checked(html)[f"item_{bridge}"] == "3"


def test_the_keep_alive_restarts_the_idle_time(client, patient):
    login(client, patient)
    key = client.session.session_key
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() + datetime.timedelta(minutes=2)
    )
    response = client.post(reverse("portal:keep_alive"))
    assert response.status_code == 204
    expires = Session.objects.get(session_key=key).expire_date
    assert expires > timezone.now() + datetime.timedelta(minutes=29)


def test_the_keep_alive_does_not_sign_anyone_in(client):
    response = client.post(reverse("portal:keep_alive"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal:login"))


def test_the_keep_alive_only_takes_posts(client, patient):
    login(client, patient)
    assert client.get(reverse("portal:keep_alive")).status_code == 405


def test_the_keep_alive_is_for_patients(client, therapist):
    login(client, therapist)
    response = client.post(reverse("portal:keep_alive"))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


def test_a_patient_page_names_its_owner_for_the_kept_entries(client, patient, running_plan):
    login(client, patient)
    html = client.get(reverse("portal:today")).content.decode()
    assert f'data-patient="{patient.pk}"' in html
    assert 'data-restored-text="We kept what you entered. Check it and press Save."' in html


def test_the_sign_in_page_names_nobody(client):
    html = client.get(reverse("portal:login")).content.decode()
    assert "data-patient=" not in html


def test_the_timer_follows_the_prescription(client, patient, therapist):
    stretch = factories.make_exercise(
        None,
        name="Hold",
        category=Exercise.Category.STATIC_STRETCH,
        reps=3,
        sets=2,
        hold_seconds=20,
        rest_seconds=45,
        side=Exercise.Side.EACH,
    )
    factories.make_plan(
        patient, therapist, [stretch], start_date=patient.clinic.today() - datetime.timedelta(1)
    )
    login(client, patient)
    html = client.get(reverse("portal:today")).content.decode()
    timer = re.search(r'<div class="timer"[^>]*>', html)
    assert timer is not None
    for attribute in (
        'data-seconds="20"',
        'data-reps="3"',
        'data-sets="2"',
        'data-rest="45"',
        'data-sides="2"',
    ):
        assert attribute in timer.group(0)


def test_the_admin_has_no_view_site_link_to_the_patient_sign_in(client, therapist):
    login(client, therapist)
    html = client.get(reverse("admin:index")).content.decode()
    assert "View site" not in html


def test_the_side_choice_says_not_per_side(client, therapist, plan):
    login(client, therapist)
    url = reverse("admin:prescriptions_plan_change", args=[plan.pk])
    html = client.get(url).content.decode()
    assert '<option value="none"' in html
    assert ">not per side</option>" in html
    assert "both legs together</option>" not in html
