"""A patient's first day on a phone, then the therapist's view in the admin."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest

from clinic.invitations import invite_patient
from clinic.scoping import unscoped
from prescriptions.models import Exercise, SessionLog
from tests import factories

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

PASSWORD = "hamstring-home-2026"
ILLUSTRATIONS = (
    Path(__file__).resolve().parents[2] / "prescriptions/static/prescriptions/illustrations"
)


def _illustration_pending(url: str) -> bool:
    """A shipped drawing that is not in the repository yet (the illustrations work)."""
    marker = "/static/prescriptions/illustrations/"
    return marker in url and not (ILLUSTRATIONS / url.split(marker)[1]).exists()


COMMENT = "Stretch felt easier than yesterday"


@pytest.fixture
def journey(live_server: Any, transactional_db: None) -> dict[str, Any]:
    clinic = factories.make_clinic("Riverside Physio", phone="01632 960 123")
    therapist = factories.make_therapist(clinic, email="tess@riverside.example")
    patient = factories.make_patient(
        clinic, therapist, first_name="Paula", last_name="Reed", email="paula@example.org"
    )
    stretch = factories.make_exercise(
        None,
        name="Standing hamstring stretch",
        slug="standing-hamstring-stretch",
        category=Exercise.Category.STATIC_STRETCH,
        reps=None,
        sets=2,
        hold_seconds=30,
        side=Exercise.Side.EACH,
        purpose="Lengthens the back of the thigh.",
        steps="Put your heel on a low step.\nKeep the knee straight.\nLean forward from the hips.",
        cautions="Stop short of pain.",
    )
    bridge = factories.make_exercise(
        None, name="Glute bridge", slug="glute-bridge", sets=3, reps=10
    )
    start = clinic.today() - datetime.timedelta(days=6)
    plan = factories.make_plan(
        patient, therapist, [stretch, bridge], start_date=start, title="Hamstring syndrome plan"
    )
    link = invite_patient(patient=patient, invited_by=therapist.user, send_email=False)
    return {
        "patient": patient,
        "plan": plan,
        "stretch": plan.items.get(exercise=stretch),
        "bridge": plan.items.get(exercise=bridge),
        "welcome": live_server.url + link.removeprefix("http://testserver"),
    }


def test_a_patient_logs_a_session_and_the_therapist_sees_it(
    live_server: Any, browser: Any, phone: Any, screens: Path, journey: dict[str, Any]
) -> None:
    page = phone.new_page()
    errors: list[str] = []
    # CSP violations and script errors show up on the console; missing files as responses.
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "response",
        lambda response: (
            errors.append(f"{response.status} {response.url}")
            if response.status >= 400 and not _illustration_pending(response.url)
            else None
        ),
    )

    # Accept the invitation and choose a password.
    page.goto(journey["welcome"])
    page.screenshot(path=screens / "01-welcome.png", full_page=True)
    page.fill("#id_new_password1", PASSWORD)
    page.fill("#id_new_password2", PASSWORD)
    page.get_by_role("button", name="Save my password").click()
    page.wait_for_url(f"{live_server.url}/portal/")
    expect(page.get_by_text("Your password is set")).to_be_visible()
    page.screenshot(path=screens / "02-today.png", full_page=True)

    # The timer appears with JavaScript.
    expect(page.get_by_role("button", name="Start the timer (30-second holds)")).to_be_visible()

    # Record today's session: one tap per answer, on large buttons.
    stretch, bridge = journey["stretch"], journey["bridge"]

    def choose(group: str, choice: str) -> None:
        page.get_by_role("group", name=group).get_by_text(choice, exact=True).tap()

    choose("Standing hamstring stretch: sets done, left side", "All 2")
    choose("Standing hamstring stretch: sets done, right side", "1 of 2")
    choose("Glute bridge: sets done", "All 3")
    choose("Pain right now (0 to 10)", "3")
    choose("How hard did it feel?", "About right")
    page.get_by_label("Anything to tell your therapist? (optional)").fill(COMMENT)
    page.screenshot(path=screens / "03-today-filled.png", full_page=True)
    page.get_by_role("button", name="Save this session").click()
    page.wait_for_url(f"{live_server.url}/portal/")
    expect(page.get_by_text("Well done! Your session is saved.")).to_be_visible()
    page.screenshot(path=screens / "04-today-done.png", full_page=True)

    with unscoped():
        log = SessionLog.objects.get(plan=journey["plan"])
        rows = {row.item_id: row for row in log.exercises.all()}
    assert (log.pain, log.effort, log.comment) == (3, "about_right", COMMENT)
    assert (rows[stretch.pk].sets_left, rows[stretch.pk].sets_right) == (2, 1)
    assert rows[bridge.pk].sets_done == 3

    # History shows today as done and the session in the list.
    page.get_by_role("link", name="History").click()
    page.wait_for_url(f"{live_server.url}/portal/history/")
    expect(page.locator("td.day-done")).to_have_count(1)
    expect(page.get_by_text(COMMENT)).to_be_visible()
    expect(page.locator(".pain-chart svg")).to_have_count(1)
    page.screenshot(path=screens / "05-history.png", full_page=True)

    # My plan, and the handout download.
    page.get_by_role("link", name="My plan").click()
    page.wait_for_url(f"{live_server.url}/portal/plan/")
    expect(page.get_by_text("Stop short of pain.")).to_be_visible()
    page.screenshot(path=screens / "06-plan.png", full_page=True)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the printable handout (PDF)").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    assert Path(download.path()).read_bytes().startswith(b"%PDF")

    page.get_by_role("link", name="Settings").click()
    page.wait_for_url(f"{live_server.url}/portal/settings/")
    page.screenshot(path=screens / "07-settings.png", full_page=True)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live_server.url}/portal/login/")
    page.screenshot(path=screens / "08-login.png", full_page=True)
    assert errors == []

    # The therapist sees the entry on the plan page in the admin.
    admin = browser.new_context(viewport={"width": 1280, "height": 900})
    desk = admin.new_page()
    desk.goto(f"{live_server.url}/admin/login/")
    desk.fill("#id_username", "tess@riverside.example")
    desk.fill("#id_password", "therapist-pass-123")
    desk.get_by_role("button", name="Log in").click()
    desk.wait_for_url(f"{live_server.url}/admin/")
    desk.goto(f"{live_server.url}/admin/prescriptions/plan/{journey['plan'].pk}/change/")
    body = desk.content()
    assert COMMENT in body
    # One of the 7 daily sessions since the plan started (adherence engineer's plan panel).
    assert "14 %" in body or "14%" in body
    desk.screenshot(path=screens / "09-admin-plan.png", full_page=True)
    desk.goto(f"{live_server.url}/admin/clinic/patient/")
    row = desk.locator("#result_list tbody tr", has_text="Paula")
    assert "14" in row.locator("td.field-adherence_7_days").inner_text()
    assert "3/10" in row.locator("td.field-latest_pain_score").inner_text()
    assert row.locator("td.field-last_log").inner_text().strip() not in ("", "-", "–")
    desk.screenshot(path=screens / "10-admin-patients.png", full_page=True)
    admin.close()
