from __future__ import annotations

import datetime
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as ET

from prescriptions.adherence import DayRecord
from prescriptions.charts import adherence_chart_svg, pain_chart_svg

NS = "{http://www.w3.org/2000/svg}"
D = datetime.date


def parse(svg: str) -> Element:
    return ET.fromstring(svg)


def text_of(root: Element, tag: str) -> str:
    found = root.find(NS + tag)
    assert found is not None
    return found.text or ""


def week(done: list[int], due: int = 1) -> list[DayRecord]:
    start = D(2026, 11, 1)
    return [DayRecord(start + datetime.timedelta(days=i), due, n) for i, n in enumerate(done)]


def test_adherence_chart_is_an_accessible_image():
    root = parse(adherence_chart_svg(week([1, 0, 1, 1, 0, 1, 1]), title="Last 7 days"))
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby", "").split()
    assert root.find(f"{NS}title[@id='{title_id}']") is not None
    assert root.find(f"{NS}desc[@id='{desc_id}']") is not None
    assert text_of(root, "title") == "Last 7 days"
    assert text_of(root, "desc") == (
        "7 days from 1 Nov to 7 Nov: 5 of 7 sessions done (71%). "
        "2 days with sessions due had none done."
    )


def test_adherence_chart_draws_a_bar_per_due_day_and_done_day():
    root = parse(adherence_chart_svg(week([2, 0, 1], due=2), title="t"))
    fills = [r.get("fill") for r in root.iter(NS + "rect")]
    assert fills.count("#dfe7e6") == 3  # due
    assert fills.count("#0b6e69") == 2  # done


def test_adherence_chart_mentions_sessions_on_days_off():
    days = [DayRecord(D(2026, 11, 1), 1, 1), DayRecord(D(2026, 11, 2), 0, 1)]
    desc = text_of(parse(adherence_chart_svg(days, title="t")), "desc")
    assert "1 of 1 sessions done (100%)" in desc
    assert "1 session was done on a day off." in desc


def test_adherence_chart_when_nothing_was_due():
    desc = text_of(parse(adherence_chart_svg(week([0, 0], due=0), title="t")), "desc")
    assert desc == "2 days from 1 Nov to 2 Nov: no sessions were due."


def test_adherence_chart_has_an_empty_state():
    root = parse(adherence_chart_svg([], title="Adherence"))
    assert text_of(root, "desc") == "No days to show yet."
    assert root.find(NS + "text").text == "No days to show yet."  # type: ignore[union-attr]


def test_pain_chart_describes_the_scores_in_words():
    points = [(D(2026, 11, 3), 5), (D(2026, 11, 1), 3), (D(2026, 11, 9), 4)]
    root = parse(pain_chart_svg(points, title="Pain"))
    assert root.get("role") == "img"
    assert text_of(root, "desc") == (
        "3 pain scores from 1 Nov to 9 Nov, lowest 3, highest 5, latest 4 out of 10."
    )
    assert len(list(root.iter(NS + "circle"))) == 3
    line = root.find(NS + "polyline")
    assert line is not None
    xs = [float(pair.split(",")[0]) for pair in line.get("points", "").split()]
    assert xs == sorted(xs)


def test_pain_chart_puts_higher_pain_higher_up():
    root = parse(pain_chart_svg([(D(2026, 11, 1), 0), (D(2026, 11, 2), 10)], title="Pain"))
    low, high = (float(c.get("cy", "")) for c in root.iter(NS + "circle"))
    assert high < low


def test_pain_chart_with_one_score_has_no_line():
    root = parse(pain_chart_svg([(D(2026, 11, 1), 6)], title="Pain"))
    assert root.find(NS + "polyline") is None
    assert "1 pain score from 1 Nov to 1 Nov" in text_of(root, "desc")


def test_pain_chart_has_an_empty_state():
    root = parse(pain_chart_svg([], title="Pain"))
    assert text_of(root, "desc") == "No pain scores recorded yet."


def test_charts_escape_the_title():
    for svg in (
        pain_chart_svg([(D(2026, 11, 1), 6)], title='<script>alert("x")</script>'),
        adherence_chart_svg(week([1]), title="<script>alert(1)</script> & more"),
        adherence_chart_svg([], title="<b>x</b>"),
    ):
        assert "<script" not in svg
        assert "<b>" not in svg
        parse(svg)  # still well-formed XML


def test_two_charts_on_one_page_have_different_ids():
    a = parse(pain_chart_svg([(D(2026, 11, 1), 6)], title="Pain"))
    b = parse(adherence_chart_svg(week([1]), title="Pain"))
    assert a.get("aria-labelledby") != b.get("aria-labelledby")


def test_charts_carry_no_scripts_or_inline_styles():
    for svg in (
        pain_chart_svg([(D(2026, 11, 1), 6), (D(2026, 11, 5), 2)], title="Pain"),
        adherence_chart_svg(week([1, 0, 2], due=2), title="Adherence"),
    ):
        root = parse(svg)
        for element in root.iter():
            assert not element.tag.endswith("script")
            assert "style" not in element.attrib
            assert not any(name.startswith("on") for name in element.attrib)
