"""The handout's HTML parsed by the fast path (handouts.parse) builds tinyhtml5's tree."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tinyhtml5
from weasyprint import HTML

from clinic.scoping import unscoped
from prescriptions import handouts
from prescriptions.handouts import parse, render
from prescriptions.handouts.files import BASE_URL
from prescriptions.models import EducationPage, Exercise, PlanTemplate, TemplatePhase
from tests import factories

from .test_handout_images import operators

pytestmark = pytest.mark.django_db


def nodes(tree: ElementTree.Element) -> list[tuple[Any, ...]]:
    return [(e.tag, dict(e.attrib), e.text, e.tail) for e in tree.iter()]


def tinyhtml5_tree(html: str) -> ElementTree.Element:
    # As weasyprint.HTML parses a string.
    return tinyhtml5.parse(html, namespace_html_elements=False)


@pytest.fixture(autouse=True)
def media(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def awkward_plan(clinic, therapist, patient):
    """A plan with everything the templates can show, in awkward text."""
    with unscoped():
        nerve = factories.make_exercise(
            None,
            name="Nerve slider «seated» & <calm>",
            category=Exercise.Category.NERVE_MOBILISATION,
            steps='Sit tall.\r\nStraighten the knee "slowly" & bend it.\rRest.',
            cautions="Keep it gentle.\nNo tingling > a minute.",
            stop_signs="Pain shoots down your leg.\nNumbness that stays.",
        )
        bridge = factories.make_exercise(None, name="שם תרגיל", purpose="")
        plan = factories.make_plan(
            patient,
            therapist,
            [nerve, bridge],
            title="Plan </title><p>",
            condition="Sciatica ⚠ & «back»",
            goals="Walk 5 km.\r\nSit & read <b>1 h</b>.",
            notes_for_patient="First line.\n\nSecond paragraph & more.\r\nSame paragraph.",
        )
        plan.items.filter(exercise=bridge).update(instructions="Hold 3 s.\nBreathe out.")
        page = EducationPage.objects.create(
            clinic=clinic,
            slug="reading",
            title="Reading & <you>",
            summary="s",
            body="One paragraph.\n\nAnother one, with “quotes”.",
        )
        plan.education.add(page)
        template = PlanTemplate.objects.create(clinic=None, name="Phased", slug="phased")
        plan.phase = TemplatePhase.objects.create(
            template=template, number=1, name="Settle", criteria="Calm.", notes_for_patient="Easy."
        )
        plan.save()
        clinic.name = "Clinic «Ü» & Co </style>"
        clinic.address = "1 High St\nTown"
        clinic.handout_footer = 'Call "us" & ask.'
        clinic.website = "https://example.org/?a=1&b=2"
        clinic.save()
        patient.first_name = "عمر"
        patient.save()
    return plan


def handout_html(plan, *, large_print: bool = False) -> str:
    with unscoped():
        type(plan.patient).objects.filter(pk=plan.patient_id).update(large_print=large_print)
        plan.refresh_from_db()
        return handouts.render_html(*handouts.load_plan(plan))


@pytest.mark.parametrize("large_print", [False, True], ids=["standard", "large-print"])
def test_it_builds_the_tree_tinyhtml5_builds(awkward_plan, large_print):
    html = handout_html(awkward_plan, large_print=large_print)
    assert "Reading for you" in html and "Settle" in html and "stop-box card-flags" in html
    assert nodes(parse.parse_tree(html)) == nodes(tinyhtml5_tree(html))


def test_it_draws_the_pages_weasyprint_draws(awkward_plan):
    html = handout_html(awkward_plan)
    engine = render._get_engine()
    fast = parse.parse_html(html, base_url=BASE_URL, url_fetcher=engine.fetcher)
    plain = HTML(string=html, base_url=BASE_URL, url_fetcher=engine.fetcher)
    # Everything weasyprint.HTML sets is set: a WeasyPrint upgrade that adds to it fails here.
    assert vars(fast).keys() == vars(plain).keys()
    assert fast.base_url == plain.base_url and fast.media_type == plain.media_type
    options: dict[str, Any] = {
        **render.PDF_OPTIONS,
        "stylesheets": [engine.stylesheet],
        "cache": engine.image_cache,
    }
    pdfs = [
        document.render(font_config=engine.font_config, **options).write_pdf(**options)
        for document in (fast, plain)
    ]
    assert operators(pdfs[0]) == operators(pdfs[1])


def test_the_renderer_parses_a_handout_without_tinyhtml5(awkward_plan, monkeypatch):
    html = handout_html(awkward_plan)
    calls: list[str] = []
    original = tinyhtml5.parse

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append("tinyhtml5")
        return original(*args, **kwargs)

    monkeypatch.setattr(tinyhtml5, "parse", spy)
    assert render.render_pdf_html(html).pages >= 3
    assert calls == []


PAGE = (
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>T</title>\n'
    "</head>\n<body>\n{}\n</body>\n</html>\n"
)


@pytest.mark.parametrize(
    "body",
    [
        "<p>Text <!-- a comment --></p>",
        "<table><tr><td>cell</td></tr></table>",  # HTML5 adds a <tbody>
        "<p>One <div>block in a paragraph</div></p>",
        "<ul><li>one<li>two</ul>",
        "<div/>",
        "<p>unclosed",
        "</p>",
        "<svg><circle r='1'/></svg>",
        '<img src="a?x=1&copy=2" alt="">',
        "<h2>Title <h3>inside</h3></h2>",
        "<dl><dt>a<dd>b</dl>",
    ],
)
def test_anything_else_goes_to_tinyhtml5(body):
    html = PAGE.format(body)
    with pytest.raises(parse.Unsupported):
        parse.parse_tree(html)
    document = parse.parse_html(html, base_url=BASE_URL, url_fetcher=render._get_engine().fetcher)
    assert nodes(document.etree_element) == nodes(tinyhtml5_tree(html))


@pytest.mark.parametrize(
    "html",
    [
        PAGE.replace("<body>", "<body>x", 1).replace("\n</html>", "</html>text", 1),
        PAGE.replace("<head>", "", 1).replace("</head>", "", 1),
        "<p>no document around it</p>",
        PAGE.replace("</html>\n", ""),
        PAGE.replace("<title>T</title>", "<title>T</title>words"),
        "\x00" + PAGE,
    ],
    ids=["text-after-html", "no-head", "fragment", "unclosed-html", "text-in-head", "nul"],
)
def test_a_document_not_shaped_like_a_handout_goes_to_tinyhtml5(html):
    with pytest.raises(parse.Unsupported):
        parse.parse_tree(html.format("<p>x</p>"))


def test_whitespace_outside_the_body_goes_where_html5_puts_it():
    html = PAGE.format('<p class="a">One &amp; two&nbsp;&#9632;</p><br>') + "\n  \n"
    assert nodes(parse.parse_tree(html)) == nodes(tinyhtml5_tree(html))


@pytest.fixture(autouse=True)
def fresh_engine() -> Iterator[None]:
    render.reset_engine()
    yield
    render.reset_engine()
