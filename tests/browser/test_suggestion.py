"""A therapist applies a dose suggestion at 1280x800 and downloads the new handout."""

from __future__ import annotations

import datetime
import io
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from clinic.scoping import unscoped
from prescriptions.models import Plan
from tests import factories
from tests.prescriptions.test_suggestions_admin import log_days

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ready(live_server: Any, transactional_db: None) -> Plan:
    clinic = factories.make_clinic("Riverside Physio")
    therapist = factories.make_therapist(clinic, email="tess@riverside.example")
    patient = factories.make_patient(clinic, therapist, first_name="Paula", last_name="Reed")
    bridge = factories.make_exercise(None, name="Glute bridge", slug="glute-bridge", reps=10)
    plan = factories.make_plan(
        patient, therapist, [bridge], start_date=clinic.today() - datetime.timedelta(days=20)
    )
    log_days(plan, 14)
    return plan


def test_the_therapist_applies_a_suggestion_and_prints_the_new_dose(
    live_server: Any, browser: Any, screens: Path, ready: Plan
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "tess@riverside.example")
    page.fill("#id_password", "therapist-pass-123")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/admin/")
    page.goto(f"{live_server.url}/admin/prescriptions/plan/{ready.pk}/change/")
    suggestion = page.locator(".rehabit-suggestion", has_text="Glute bridge")
    expect(suggestion).to_contain_text("Progress: repetitions 10 → 12")
    expect(suggestion).to_contain_text("done in 14 of 14 sessions due (100 %)")
    suggestion.scroll_into_view_if_needed()
    page.screenshot(path=screens / "s1-plan-suggestion.png", full_page=False)

    suggestion.get_by_role("button", name="Apply Glute bridge").click()
    expect(page.get_by_text("Applied to Glute bridge: repetitions 10 → 12")).to_be_visible()
    page.screenshot(path=screens / "s2-applied.png", full_page=False)
    with unscoped():
        ready.refresh_from_db()
        assert ready.revision == 2
        assert ready.items.get().reps == 12

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download handout").first.click()
    pdf = Path(download_info.value.path()).read_bytes()
    text = " ".join(page_.extract_text() for page_ in PdfReader(io.BytesIO(pdf)).pages)
    assert "12" in text and "Glute bridge" in text
    assert "3 sets of 12" in " ".join(text.split())
    context.close()
