"""A patient answers a due questionnaire on a phone (390x844), with and without JavaScript."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest

from clinic.scoping import unscoped
from prescriptions.models import QuestionnaireResponse
from tests import factories
from tests.browser.axe import describe, run_axe, serious

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "patient-pass-123"  # tests.factories.make_patient's default


@pytest.fixture
def due(live_server: Any, transactional_db: None) -> dict[str, Any]:
    clinic = factories.make_clinic("Riverside Physio")
    therapist = factories.make_therapist(clinic, email="tess@riverside.example")
    patient = factories.make_patient(
        clinic, therapist, with_login=True, first_name="Paula", email="paula@example.org"
    )
    exercise = factories.make_exercise(None, name="Glute bridge", slug="glute-bridge")
    today = clinic.today()
    plan = factories.make_plan(
        patient,
        therapist,
        [exercise],
        start_date=today - datetime.timedelta(days=1),
        end_date=today + datetime.timedelta(weeks=6),
    )
    return {"plan": plan, "measure": factories.make_measure(plan, "nprs", every_weeks=2)}


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_patient_answers_a_due_questionnaire_on_a_phone(
    live_server: Any, browser: Any, screens: Path, due: dict[str, Any], javascript: bool
) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        java_script_enabled=javascript,
    )
    page = context.new_page()
    errors: list[str] = []
    # The 400 answer to a form sent without a choice shows as a failed load: expected.
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.goto(f"{live_server.url}/portal/login/")
    page.fill("#id_username", "paula@example.org")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/portal/")
    expect(page.get_by_text("A short questionnaire from your therapist")).to_be_visible()
    suffix = "" if javascript else "-nojs"
    page.screenshot(path=screens / f"q1-today{suffix}.png", full_page=True)

    page.get_by_role("button", name="Start the questionnaire").click()
    expect(page.get_by_text("Question 1 of 2")).to_be_visible()
    if javascript:  # axe-core runs as a script
        assert describe(serious(run_axe(page))) == ""
    page.screenshot(path=screens / f"q2-question{suffix}.png", full_page=True)
    # Nothing chosen: a clear message, and still on question 1.
    page.get_by_role("button", name="Next question").click()
    expect(page.get_by_role("alert")).to_have_text("Choose one of the answers shown.")
    page.get_by_label("7", exact=True).check()
    page.get_by_role("button", name="Next question").click()
    expect(page.get_by_text("Question 2 of 2")).to_be_visible()
    page.get_by_label("4", exact=True).check()
    page.get_by_role("button", name="Next: check your answers").click()
    expect(page.get_by_text("Please check your answers")).to_be_visible()
    if javascript:
        assert describe(serious(run_axe(page))) == ""
    page.screenshot(path=screens / f"q3-review{suffix}.png", full_page=True)
    page.get_by_role("button", name="Send my answers").click()
    page.wait_for_url(f"{live_server.url}/portal/")
    expect(page.get_by_text("Thank you! Your answers are sent")).to_be_visible()
    expect(page.get_by_text("A short questionnaire from your therapist")).to_have_count(0)
    page.screenshot(path=screens / f"q4-sent{suffix}.png", full_page=True)

    with unscoped():
        response = QuestionnaireResponse.objects.get(measure=due["measure"])
    assert response.answers == {"worst": 7, "average": 4}
    assert str(response.score) == "5.5"
    assert errors == []
    context.close()
