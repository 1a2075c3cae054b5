"""The session form's button radios are written in Python (portal.forms.ButtonRadioSelect):
the HTML must be exactly what Django's own widget templates make."""

from __future__ import annotations

import re
from pathlib import Path
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


def _items() -> list[PlanItem]:
    """Two rows of one exercise (its name with quotes and markup): one set of buttons, and
    one a side."""
    exercise = Exercise(name='Wall sit "own" <b>', sets=3, reps=10)
    return [
        PlanItem(pk=1, exercise=exercise, sets=3, reps=10, side=Side.NONE),
        PlanItem(pk=2, exercise=exercise, sets=4, reps=10, side=Side.EACH),
    ]


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
    form = SessionForm(data, items=_items(), auto_id="plan9_%s")
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


# The rest of the session form's markup, also written in Python: each is compared
# with what rendered it before (the portal's choice-group template, crispy-forms).

# templates/portal/_choice_buttons.html as it was (its first line, a comment, left out).
CHOICE_GROUP_TEMPLATE = (
    Path(__file__).parent / "reference" / "choice_buttons_template.html"
).read_text()

STATES = [
    None,
    {"item_1": "1", "item_2_left": "3", "item_2_right": "0", "pain": "7", "effort": "too_hard"},
    {"item_1": "<x>", "pain": "11", "nerve_symptoms": "tingling", "symptoms_lasted": "on"},
    {"symptoms_lasted": "on", "symptoms_minutes": "-4", "comment": '<b>"hi"</b> & ' * 200},
    {"symptoms_minutes": "12", "comment": "Felt fine.\nThanks"},
]


def _session_form(data: dict[str, str] | None) -> SessionForm:
    form = SessionForm(data, items=_items(), auto_id="plan9_%s")
    if data is not None:
        form.is_valid()
    return form


@pytest.mark.parametrize("data", STATES)
def test_the_choice_groups_are_what_the_template_made(data):
    from django.template import engines

    from portal.forms import choice_group_html

    template = engines["django"].from_string(CHOICE_GROUP_TEMPLATE)
    form = _session_form(data)
    groups = [
        ("pain", {"legend": form["pain"].label, "css": "pain-buttons"}),
        ("effort", {"legend": form["effort"].label, "css": "wide-buttons"}),
        *(
            (
                name,
                {
                    "legend": form[name].label,
                    "full_legend": cast("Any", form[name].field).group_label,
                    "hide_legend": hide,
                    "css": "sets-choice" if hide else "sets-choice sets-side",
                    "sets_group": True,
                },
            )
            for name, hide in [("item_1", True), ("item_2_left", False)]
        ),
    ]
    for name, options in groups:
        in_python = choice_group_html(form[name], **options)
        by_template = template.render({"field": form[name], **options})
        assert in_python.strip() == by_template.strip()


def _crispy_reference(form: SessionForm, name: str) -> str:
    """The field as crispy-forms' Bootstrap 5 pack rendered it, with Django's own widget."""
    import copy

    from django.template import engines

    field = form.fields[name]
    widget = copy.deepcopy(field.widget)
    widget.__class__ = next(
        base for base in type(widget).__mro__ if base.__module__ == "django.forms.widgets"
    )
    widget.attrs.pop("class", None)
    field.widget = widget
    field.bound_field_class = None
    cast("Any", form)._bound_fields_cache.pop(name, None)
    template = engines["django"].from_string(
        "{% load crispy_forms_filters %}{{ field|as_crispy_field }}"
    )
    return template.render({"field": form[name]})


def _tidy(html: str) -> str:
    html = re.sub(r"\s+", " ", html)
    return re.sub(r"\s*(<|>)\s*", r"\1", html).strip()


@pytest.mark.parametrize("data", STATES)
@pytest.mark.parametrize("name", ["symptoms_lasted", "symptoms_minutes", "comment"])
def test_the_plain_fields_are_what_crispy_made(data, name):
    from portal.forms import bootstrap_field_html

    in_python = str(bootstrap_field_html(_session_form(data)[name]))
    reference = _crispy_reference(_session_form(data), name)
    # The same markup; only the whitespace between the tags differs.
    assert _tidy(in_python) == _tidy(reference)
    if data and name in _session_form(data).errors:
        assert "is-invalid" in in_python
        assert f'aria-describedby="plan9_{name}_error"' in in_python


@pytest.mark.parametrize("data", STATES)
@pytest.mark.parametrize(
    "name", ["idempotency_key", "symptoms_lasted", "symptoms_minutes", "comment"]
)
def test_the_plain_widgets_are_what_the_templates_make(data, name):
    import copy

    bound = _session_form(data)[name]
    in_python = str(bound)
    # The same widget, rendered by Django's own class (through its templates).
    reference = copy.deepcopy(bound.field.widget)
    reference.__class__ = next(
        base for base in type(reference).__mro__ if base.__module__ == "django.forms.widgets"
    )
    assert in_python == str(bound.as_widget(widget=reference))
