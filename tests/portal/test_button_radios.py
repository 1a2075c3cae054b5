"""The session form's button radios are written in Python (portal.forms.ButtonRadioSelect):
the HTML must be exactly what Django's own widget templates make."""

from __future__ import annotations

from typing import Any, cast

import pytest
from django import forms
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from portal.forms import ButtonRadioSelect, SessionForm
from prescriptions.models import Exercise, PlanItem, SessionLog, Side

OPTION = ButtonRadioSelect.option_template_name


def _by_templates(widget: forms.Widget, data: dict[str, Any]) -> str:
    # Django's own path: the option template through the form renderer.
    return str(cast("Any", forms.RadioSelect)._render(widget, OPTION, {"widget": data}))


def _both(widget: dict[str, Any]) -> tuple[str, str]:
    in_python = ButtonRadioSelect()._render(OPTION, {"widget": widget})
    return str(in_python), _by_templates(forms.RadioSelect(), widget)


BASE = {"name": "item_7", "type": "radio", "label": "All 3", "wrap_label": False}


@pytest.mark.parametrize(
    "widget",
    [
        {**BASE, "value": 0, "attrs": {"class": "btn-check", "id": "plan1_item_7_0"}},
        {**BASE, "value": 3, "attrs": {"class": "btn-check", "id": "x_3", "checked": True}},
        {**BASE, "value": 2, "attrs": {"required": False, "checked": False, "data-n": 0}},
        {**BASE, "value": None, "attrs": {}},
        {**BASE, "value": "", "attrs": {"id": ""}},
        {**BASE, "value": "a\"b<c>&d'e", "attrs": {"title": '"><script>alert(1)</script>'}},
        {**BASE, "name": 'x"><b>', "value": "1", "attrs": {'on"click': "y"}},
        {**BASE, "value": mark_safe("<i>safe</i>"), "attrs": {"title": mark_safe("&amp;")}},
        {**BASE, "value": 1, "attrs": {"id": "a_1"}, "wrap_label": True},
        {**BASE, "value": 1, "attrs": {}, "wrap_label": True, "label": "<b>1 & 2</b>"},
        {**BASE, "value": 1, "attrs": {"id": '"q'}, "wrap_label": True, "label": 1000},
        {
            **BASE,
            "value": 1,
            "attrs": {"id": "z"},
            "wrap_label": True,
            "label": gettext_lazy("Not done"),
        },
    ],
)
def test_an_option_is_what_the_templates_make(widget):
    in_python, by_templates = _both(widget)
    assert in_python == by_templates


def test_the_whole_group_still_renders_through_the_templates():
    field = forms.TypedChoiceField(
        choices=[(0, "Not done"), (1, "<All 1>")], coerce=int, widget=ButtonRadioSelect()
    )
    plain = forms.TypedChoiceField(
        choices=[(0, "Not done"), (1, "<All 1>")], coerce=int, widget=forms.RadioSelect()
    )
    assert field.widget.render("n", 1, {"id": "n"}) == plain.widget.render("n", 1, {"id": "n"})


@pytest.mark.parametrize(
    ("data", "initial"),
    [
        (None, None),
        (None, 2),
        ({"item_1": "1", "item_2_left": "3", "item_2_right": "0", "pain": "7"}, None),
        ({"item_1": "<x>", "pain": "11"}, None),
    ],
)
def test_the_session_forms_radios_are_unchanged(data, initial):
    exercise = Exercise(name='Wall sit "own" <b>', sets=3, reps=10)
    items = [
        PlanItem(pk=1, exercise=exercise, sets=3, reps=10, side=Side.NONE),
        PlanItem(pk=2, exercise=exercise, sets=4, reps=10, side=Side.EACH),
    ]
    form = SessionForm(data, items=items, auto_id="plan9_%s")
    if initial is not None:
        form.initial["item_1"] = initial
    names = ["pain", "nerve_symptoms", "effort", "item_1", "item_2_left", "item_2_right"]
    compared = 0
    for name in names:
        bound = form[name]
        widget = bound.field.widget
        assert isinstance(widget, ButtonRadioSelect)
        for radio in bound:
            in_python = radio.tag()
            by_templates = _by_templates(widget, {**radio.data, "wrap_label": False})
            assert str(in_python) == by_templates
            wrapped = _by_templates(widget, {**radio.data, "wrap_label": True})
            assert str(radio.tag(wrap_label=True)) == wrapped
            compared += 1
    extra = len(SessionLog.NerveSymptoms.choices) + len(SessionLog.Effort.choices)
    assert compared == 11 + extra + 4 + 5 + 5
