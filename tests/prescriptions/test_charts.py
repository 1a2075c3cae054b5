from __future__ import annotations

import datetime
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as ET

from prescriptions.adherence import DayRecord, NervePoint
from prescriptions.charts import WIDE, adherence_chart_svg, nerve_chart_svg, pain_chart_svg
from prescriptions.models import SessionLog

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
        nerve_chart_svg(nerve_points(), title="Nerve symptoms"),
    ):
        root = parse(svg)
        for element in root.iter():
            assert not element.tag.endswith("script")
            assert "style" not in element.attrib
            assert not any(name.startswith("on") for name in element.attrib)


def nerve_points() -> list[NervePoint]:
    kinds = SessionLog.NerveSymptoms
    return [
        NervePoint(D(2026, 11, 1), 1, kinds.NONE, False, None),
        NervePoint(D(2026, 11, 2), 1, kinds.TINGLING, False, None),
        NervePoint(D(2026, 11, 2), 2, kinds.TINGLING, True, 30),
        NervePoint(D(2026, 11, 9), 1, kinds.NUMBNESS, True, None),
    ]


def test_nerve_chart_describes_the_sessions_in_words():
    root = parse(nerve_chart_svg(nerve_points(), title="Nerve symptoms"))
    assert root.get("role") == "img"
    assert text_of(root, "desc") == (
        "4 sessions logged from 1 Nov to 9 Nov: no nerve symptoms in 1, tingling or pins "
        "and needles in 2, numbness in 1. Symptoms lasted after the exercise in 2 sessions "
        "(longest 30 minutes)."
    )


def test_nerve_chart_puts_each_kind_on_its_own_row_and_rings_lasting_symptoms():
    root = parse(nerve_chart_svg(nerve_points(), title="t"))
    dots = [c for c in root.iter(NS + "circle") if c.get("fill") != "none"]
    rings = [c for c in root.iter(NS + "circle") if c.get("fill") == "none"]
    assert len(dots) == 4
    assert len(rings) == 2
    rows = {c.get("fill"): float(c.get("cy") or 0) for c in dots}
    assert len(set(rows.values())) == 3  # none, tingling, numbness: three rows
    titles = [t.text for t in root.iter(NS + "title")][1:]
    assert "2 Nov: Tingling or pins and needles, lasted 30 minutes after the exercise" in titles
    assert "9 Nov: Numbness, lasted after the exercise" in titles


def test_nerve_chart_has_an_empty_state():
    root = parse(nerve_chart_svg([], title="t"))
    assert text_of(root, "desc") == "No sessions logged yet."


def test_the_wide_frame_draws_larger_text_and_week_labels():
    days = [DayRecord(D(2026, 11, 1) + datetime.timedelta(days=i), 1, 1) for i in range(28)]
    compact = parse(adherence_chart_svg(days, title="t"))
    wide = parse(adherence_chart_svg(days, title="t", frame=WIDE))
    assert wide.get("viewBox") == "0 0 640 220"
    sizes = {t.get("font-size") for t in wide.iter(NS + "text")}
    assert sizes == {"13"}
    labels = [t.text for t in wide.iter(NS + "text")]
    assert {"8 Nov", "15 Nov", "22 Nov"} <= set(labels)
    assert "8 Nov" not in [t.text for t in compact.iter(NS + "text")]
