"""The vendored axe-core runs in a page and reports what it should."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.axe import describe, run_axe, serious

pytestmark = pytest.mark.browser

UNLABELLED = """<!doctype html><html lang="en"><head><title>Form</title></head>
<body><main><h1>Form</h1><input type="text" name="reps"></main></body></html>"""
LABELLED = """<!doctype html><html lang="en"><head><title>Form</title></head>
<body><main><h1>Form</h1><label for="r">Repetitions</label>
<input type="text" id="r" name="reps"></main></body></html>"""


def test_it_reports_an_unlabelled_input_as_critical(phone: Any) -> None:
    page = phone.new_page()
    page.set_content(UNLABELLED)
    found = serious(run_axe(page))
    assert [(v["id"], v["impact"]) for v in found] == [("label", "critical")], describe(found)
    assert found[0]["targets"] == ["input"]


def test_it_finds_nothing_on_a_labelled_form(phone: Any) -> None:
    page = phone.new_page()
    page.set_content(LABELLED)
    assert run_axe(page) == []


def test_it_can_leave_parts_of_the_page_out(phone: Any) -> None:
    page = phone.new_page()
    page.set_content(UNLABELLED)
    assert run_axe(page, exclude=["input"]) == []
