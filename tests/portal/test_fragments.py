"""Cached page fragments (portal.fragments): a fragment is taken from the cache only
when everything it shows is what it was, so every change shows on the next request."""

from __future__ import annotations

import datetime
import re
import types
from typing import Any

import pytest
from django.core.cache import cache
from django.template import engines
from django.urls import reverse
from django.utils.translation import gettext_lazy

from clinic.models import Patient
from clinic.scoping import unscoped
from portal import fragments
from portal.forms import SessionForm
from prescriptions.models import Exercise, ExerciseTranslation, Plan, PlanItem
from tests import factories
from tests.conftest import login


@pytest.fixture
def running_plan(patient, therapist, shared_exercise) -> Plan:
    start = patient.clinic.today() - datetime.timedelta(days=3)
    return factories.make_plan(
        patient, therapist, [shared_exercise], start_date=start, title="Sciatica plan"
    )


def _today(client: Any) -> str:
    response = client.get(reverse("portal:today"))
    assert response.status_code == 200
    return response.content.decode()


def _page(client: Any, name: str) -> str:
    response = client.get(reverse(name))
    assert response.status_code == 200
    return response.content.decode()


def _item(plan: Plan) -> PlanItem:
    with unscoped():
        return PlanItem.objects.get(plan=plan)


def test_it_shows_the_exercises_new_steps_and_name(client, patient, running_plan):
    login(client, patient)
    assert "Stand tall." in _today(client)
    with unscoped():
        Exercise.objects.filter(pk=_item(running_plan).exercise_id).update(
            steps="Sit on a chair.\nStraighten the knee.", name="Seated nerve glide"
        )
    html = _today(client)
    assert "<li>Sit on a chair.</li><li>Straighten the knee.</li>" in html
    assert "Seated nerve glide" in html
    assert "Stand tall." not in html
    assert "Standing hamstring stretch" not in html


@pytest.mark.parametrize(
    ("change", "shown"),
    [
        ({"load": "red band"}, "red band"),
        ({"instructions": "Only to the first pull."}, "Only to the first pull."),
        ({"sets": 4}, "All 4"),
        ({"hold_seconds": 45}, 'data-seconds="45"'),
        ({"rest_seconds": 75}, 'data-rest="75"'),
        ({"side": PlanItem.Side.NONE}, 'data-sides="1"'),
    ],
)
def test_it_shows_the_plan_items_new_dose_and_words(client, patient, running_plan, change, shown):
    login(client, patient)
    assert shown not in _today(client)
    with unscoped():
        PlanItem.objects.filter(pk=_item(running_plan).pk).update(**change)
    assert shown in _today(client)


def test_it_shows_the_new_description_of_the_picture(client, patient, running_plan):
    # An exercise with a shipped drawing shows its description in the larger picture.
    with unscoped():
        exercise = Exercise.objects.get(pk=_item(running_plan).exercise_id)
        exercise.slug = next(iter(sorted(_shipped())))
        exercise.illustration_alt = "A person lying on their back"
        exercise.save()
    login(client, patient)
    assert 'alt="A person lying on their back"' in _today(client)
    with unscoped():
        Exercise.objects.filter(pk=exercise.pk).update(illustration_alt="A person on a mat")
    html = _today(client)
    assert 'alt="A person on a mat"' in html
    assert "lying on their back" not in html


def _shipped() -> frozenset[str]:
    from prescriptions.models import shipped_drawings

    return shipped_drawings()


def test_it_follows_the_patients_language_and_the_translation(client, patient, running_plan):
    login(client, patient)
    assert "How to do it" in _today(client)
    with unscoped():
        Patient.objects.filter(pk=patient.pk).update(preferred_language="de")
        words = ExerciseTranslation.objects.create(
            exercise_id=_item(running_plan).exercise_id,
            language="de",
            name="Dehnung im Stehen",
            steps="Aufrecht stehen.",
        )
    html = _today(client)
    assert "So geht" in html
    assert "Dehnung im Stehen" in html
    assert "<li>Aufrecht stehen.</li>" in html
    with unscoped():
        ExerciseTranslation.objects.filter(pk=words.pk).update(steps="Langsam bewegen.")
    html = _today(client)
    assert "<li>Langsam bewegen.</li>" in html
    assert "Aufrecht stehen." not in html


def test_two_patients_with_the_same_exercise_each_see_their_own_card(
    client, patient, other_patient, therapist, colleague, shared_exercise, running_plan
):
    start = other_patient.clinic.today() - datetime.timedelta(days=3)
    other_plan = factories.make_plan(other_patient, colleague, [shared_exercise], start_date=start)
    with unscoped():
        PlanItem.objects.filter(pk=_item(running_plan).pk).update(instructions="Paula's words")
        PlanItem.objects.filter(pk=_item(other_plan).pk).update(instructions="Oscar's words")
    login(client, patient)
    html = _today(client)
    assert "Paula&#x27;s words" in html
    assert "Oscar" not in html
    login(client, other_patient)
    html = _today(client)
    assert "Oscar&#x27;s words" in html
    assert "Paula" not in html


def test_the_form_around_the_cached_card_is_new_each_time(client, patient, running_plan):
    # The idempotency key and the CSRF token are outside the fragment.
    login(client, patient)
    first = client.get(reverse("portal:today")).context["cards"][0].form
    second = client.get(reverse("portal:today")).context["cards"][0].form
    assert first["idempotency_key"].value() != second["idempotency_key"].value()


def _today_without_keys(client: Any, query: str = "") -> str:
    """Today with the CSRF token and the replay keys (new on every request) taken out."""
    html = _page(client, "portal:today") if not query else None
    if html is None:
        response = client.get(reverse("portal:today") + query)
        assert response.status_code == 200
        html = response.content.decode()
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    return re.sub(r'name="idempotency_key" value="[^"]+"', "", html)


@pytest.mark.parametrize(
    "change",
    [
        {"sets": 4},
        {"sets": 1},
        {"side": PlanItem.Side.NONE},
        {"times_per_day": 2},
        {"exercise_name": "Seated nerve glide"},
        {"language": "de"},
        {"fill_all": True},
        {"second_plan": True},
    ],
)
def test_todays_cached_form_is_the_form_rendered_afresh(
    client, patient, therapist, running_plan, change
):
    """The form after its replay key (the cards' set buttons, "How did it go?") is a
    cached fragment on Today: whatever changed, it reads as the form renders it."""
    login(client, patient)
    query = f"?all={running_plan.pk}" if "fill_all" in change else ""
    cache.clear()
    before = _today_without_keys(client)
    assert _today_without_keys(client) == before  # from the cache
    item = _item(running_plan)
    with unscoped():
        if "exercise_name" in change:
            Exercise.objects.filter(pk=item.exercise_id).update(name=change["exercise_name"])
        elif "language" in change:
            Patient.objects.filter(pk=patient.pk).update(preferred_language=change["language"])
        elif "second_plan" in change:
            factories.make_plan(
                patient, therapist, [factories.make_exercise(None)], start_date=item.plan.start_date
            )
        elif "fill_all" not in change:
            PlanItem.objects.filter(pk=item.pk).update(**change)
    # With the cache as the page before the change left it; then from an empty cache.
    after = _today_without_keys(client, query)
    cache.clear()
    fresh = _today_without_keys(client, query)
    assert after == fresh
    assert _today_without_keys(client, query) == fresh
    assert fresh != before


def test_today_builds_no_session_form_when_its_markup_is_cached(
    client, patient, running_plan, monkeypatch
):
    login(client, patient)
    first = _today(client)
    built: list[object] = []
    real_init = SessionForm.__init__

    def counting(form: SessionForm, *args: Any, **kwargs: Any) -> None:
        built.append(form)
        real_init(form, *args, **kwargs)

    monkeypatch.setattr(SessionForm, "__init__", counting)
    second = _today(client)
    assert built == []
    assert second.count("Standing hamstring stretch: sets done, left side") == 1
    assert len(second) == len(first)


def test_a_rendering_is_made_once_for_the_same_key(monkeypatch):
    cache.clear()
    rendered = _fragment(monkeypatch, "<b>{{ value.name }}</b>")
    built: list[str] = []

    def context(name: str) -> Any:
        def build() -> dict[str, Any]:
            built.append(name)
            return {"value": types.SimpleNamespace(name=name)}

        return build

    assert fragments.cached_render("t.html", {"name": "A"}, context("A")) == "<b>A</b>"
    assert fragments.cached_render("t.html", {"name": "A"}, context("A")) == "<b>A</b>"
    assert fragments.cached_render("t.html", {"name": "B"}, context("B")) == "<b>B</b>"
    assert built == ["A", "B"] and len(rendered) == 2
    assert fragments.fragment_key("t.html", {"name": "A"}) != fragments.fragment_key(
        "t.html", {"name": "B"}
    )
    with pytest.raises(TypeError, match="plain values only"):
        fragments.cached_render("t.html", {"name": object()}, context("C"))


@pytest.mark.parametrize(
    ("change", "shown"),
    [
        ({"purpose": "Keeps the nerve moving."}, "<p>Keeps the nerve moving.</p>"),
        ({"cautions": "Keep your back flat."}, "<li>Keep your back flat.</li>"),
        ({"stop_signs": "Your foot goes numb."}, "<li>Your foot goes numb.</li>"),
        ({"steps": "Lie down.\nLift the leg."}, "<li>Lie down.</li><li>Lift the leg.</li>"),
    ],
)
def test_my_plan_shows_the_exercises_new_words(client, patient, running_plan, change, shown):
    login(client, patient)
    assert shown not in _page(client, "portal:plan")
    with unscoped():
        Exercise.objects.filter(pk=_item(running_plan).exercise_id).update(**change)
    assert shown in _page(client, "portal:plan")


@pytest.mark.parametrize(
    ("change", "shown"),
    [
        ({"tempo": "3 s down"}, "3 s down"),
        ({"order": 7}, "7. "),
        ({"instructions": "Only to the first pull."}, "Only to the first pull."),
        ({"sets": 5}, 'data-sets="5"'),
    ],
)
def test_my_plan_shows_the_items_new_dose_and_words(client, patient, running_plan, change, shown):
    login(client, patient)
    assert shown not in _page(client, "portal:plan")
    with unscoped():
        PlanItem.objects.filter(pk=_item(running_plan).pk).update(**change)
    assert shown in _page(client, "portal:plan")


def test_a_nerve_exercise_card_on_my_plan_follows_the_clinics_emergency_number(
    client, patient, clinic, running_plan
):
    with unscoped():
        Exercise.objects.filter(pk=_item(running_plan).exercise_id).update(
            category=Exercise.Category.NERVE_MOBILISATION
        )
        type(clinic).objects.filter(pk=clinic.pk).update(emergency_number="999")
    login(client, patient)
    html = _page(client, "portal:plan")
    # The page's warning signs, and the card's repeat of the urgent ones.
    assert html.count("Call 999") == 2
    assert "A mild tingle or pull" in html
    with unscoped():
        type(clinic).objects.filter(pk=clinic.pk).update(emergency_number="112")
    html = _page(client, "portal:plan")
    assert html.count("Call 112") == 2
    assert "Call 999" not in html


# The fragment mechanism itself.


def _fragment(monkeypatch: Any, source: str) -> list[dict[str, Any]]:
    """Serves `source` as the template `t.html`; returns the contexts it rendered with."""
    rendered: list[dict[str, Any]] = []
    template = engines["django"].from_string(source)
    real_render = template.render

    def render(context: Any = None, request: Any = None) -> str:
        rendered.append(context)
        return real_render(context, request)

    template.render = render  # type: ignore[method-assign]
    monkeypatch.setattr(fragments, "get_template", lambda name: template)
    return rendered


def test_a_fragment_is_rendered_once_for_the_same_context(monkeypatch):
    cache.clear()
    rendered = _fragment(monkeypatch, "<b>{{ name }}</b>")
    assert fragments.cached_fragment("t.html", {"name": "A & B"}) == "<b>A &amp; B</b>"
    assert fragments.cached_fragment("t.html", {"name": "A & B"}) == "<b>A &amp; B</b>"
    assert len(rendered) == 1
    assert fragments.cached_fragment("t.html", {"name": "C"}) == "<b>C</b>"
    assert fragments.cached_fragment("t.html", {"name": "A & B", "more": None}) == (
        "<b>A &amp; B</b>"
    )
    assert len(rendered) == 3


def test_a_changed_template_is_a_new_fragment(monkeypatch):
    cache.clear()
    _fragment(monkeypatch, "<b>{{ name }}</b>")
    assert fragments.cached_fragment("t.html", {"name": "A"}) == "<b>A</b>"
    _fragment(monkeypatch, "<i>{{ name }}</i>")
    assert fragments.cached_fragment("t.html", {"name": "A"}) == "<i>A</i>"


def test_another_language_is_a_new_fragment(monkeypatch):
    from django.utils import translation

    cache.clear()
    _fragment(monkeypatch, "{% load i18n %}{% translate 'How to do it' %}")
    with translation.override("en"):
        assert fragments.cached_fragment("t.html", {}) == "How to do it"
    with translation.override("de"):
        assert fragments.cached_fragment("t.html", {}).startswith("So geht")


@pytest.mark.parametrize(
    "value",
    [gettext_lazy("Done"), object(), datetime.date(2026, 1, 1), {"nested": [object()]}],
)
def test_a_fragment_refuses_anything_but_plain_values(monkeypatch, value):
    _fragment(monkeypatch, "{{ value }}")
    with pytest.raises(TypeError, match="plain values only"):
        fragments.cached_fragment("t.html", {"value": value})
