"""Where the handout's blocks land on the page (WeasyPrint's laid-out boxes)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from clinic.models import Clinic
from clinic.scoping import unscoped
from prescriptions import handouts
from prescriptions.handouts import render
from prescriptions.handouts.files import BASE_URL
from prescriptions.handouts.parse import parse_html
from tests import factories

pytestmark = pytest.mark.django_db


def laid_out(html: str) -> Any:
    engine = render._get_engine()
    options: dict[str, Any] = {**render.PDF_OPTIONS, "stylesheets": [engine.stylesheet]}
    document = parse_html(html, base_url=BASE_URL, url_fetcher=engine.fetcher)
    return document.render(font_config=engine.font_config, **options)


def boxes_of(document: Any, css_class: str) -> Iterator[tuple[int, Any]]:
    for number, page in enumerate(document.pages):
        for box in page._page_box.descendants():
            element_class = box.element.get("class", "") if box.element is not None else ""
            if css_class in element_class.split() and box.element_tag != "html":
                yield number, box


@pytest.fixture
def plan(clinic, therapist, patient):
    with unscoped():
        exercises = [factories.make_exercise(None) for _ in range(2)]
        return factories.make_plan(patient, therapist, exercises)


@pytest.mark.parametrize("paper", [Clinic.PaperSize.A4, Clinic.PaperSize.LETTER])
@pytest.mark.parametrize("language", ["en", "de"])
def test_the_how_to_columns_stand_side_by_side(plan, clinic, paper, language):
    with unscoped():
        Clinic.objects.filter(pk=clinic.pk).update(paper_size=paper)
        type(plan.patient).objects.filter(pk=plan.patient_id).update(preferred_language=language)
        plan.refresh_from_db()
        html = handouts.render_html(*handouts.load_plan(plan))
    columns = [box for _, box in boxes_of(laid_out(html), "how-to-col")]
    assert len(columns) == 2
    left, right = columns
    assert left.position_y == pytest.approx(right.position_y)
    assert right.position_x > left.position_x + left.margin_width() - 1


def test_the_how_to_columns_stack_in_large_print(plan):
    with unscoped():
        type(plan.patient).objects.filter(pk=plan.patient_id).update(large_print=True)
        plan.refresh_from_db()
        html = handouts.render_html(*handouts.load_plan(plan))
    left, right = [box for _, box in boxes_of(laid_out(html), "how-to-col")]
    assert right.position_y > left.position_y
    assert right.position_x == left.position_x


def floats_in_the_page_context(document: Any) -> list[str]:
    """Floated boxes whose formatting context is the page's own: WeasyPrint checks
    every later line of the page against them (a cost, not a look)."""
    found = []

    def walk(box: Any, in_own_context: bool) -> None:
        for child in getattr(box, "children", []):
            if child.is_floated() and not in_own_context:
                found.append(child.element.get("class", child.element_tag))
            walk(child, in_own_context or child.establishes_formatting_context())

    for page in document.pages:
        for root in page._page_box.children:  # the html element's box
            walk(root, False)
    return found


@pytest.mark.parametrize("large_print", [False, True])
def test_no_float_is_left_in_the_pages_formatting_context(plan, large_print):
    with unscoped():
        type(plan.patient).objects.filter(pk=plan.patient_id).update(large_print=large_print)
        plan.refresh_from_db()
        html = handouts.render_html(*handouts.load_plan(plan))
    document = laid_out(html)
    assert any(box.is_floated() for _, box in boxes_of(document, "facts") for box in box.children)
    assert floats_in_the_page_context(document) == []
