"""The handout stylesheet with the clinic's brand colours written in (render._stylesheet_for)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from weasyprint.css import tokens

from clinic.scoping import unscoped
from prescriptions.handouts import render

from .test_handout_images import operators
from .test_handout_parse import awkward_plan, handout_html  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_engine() -> Iterator[None]:
    render.reset_engine()
    yield
    render.reset_engine()


@pytest.fixture
def branded_plan(awkward_plan):  # noqa: F811
    with unscoped():
        clinic = awkward_plan.patient.clinic
        clinic.brand_colour = "#C0392B"
        clinic.save()
    return awkward_plan


def test_it_draws_the_colours_the_custom_properties_draw(branded_plan, monkeypatch):
    html = handout_html(branded_plan)
    assert "--brand: #C0392B;" in html
    branded = render.render_pdf_html(html).pdf
    assert len(render._get_engine().branded) == 1
    monkeypatch.setattr(render, "_BRAND_COLOURS", re.compile("never matches"))
    plain = render.render_pdf_html(html).pdf
    assert operators(branded) == operators(plain)
    # The brand colour (#C0392B) is drawn: the card's top border.
    lines = {line for page in operators(branded) for line in page}
    assert lines & {b"0.752941 0.223529 0.168627 rg", b"0.752941 0.223529 0.168627 RG"}


def test_it_resolves_no_custom_property_while_rendering(branded_plan, monkeypatch):
    html = handout_html(branded_plan)
    render.render_pdf_html(html)
    solved: list[Any] = []
    original = tokens.Pending.solve

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        solved.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(tokens.Pending, "solve", spy)
    render.render_pdf_html(html)
    assert solved == []


def test_a_document_without_the_templates_colours_gets_the_stylesheet_as_it_is():
    engine = render._get_engine()
    assert render._stylesheet_for(engine, "<p>No colours here</p>") is engine.stylesheet
    html = ":root { --brand: red; --ink: #000000; --tint: #ffffff; --line: #cccccc; }"
    assert render._stylesheet_for(engine, html) is engine.stylesheet
    assert engine.branded == {}
