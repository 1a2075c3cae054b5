"""WCAG 2.2 AA in the portal and the admin: axe-core on every page a patient or a
therapist uses, and the portal's reflow at 320 px and at 200 % zoom on a phone."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest

from clinic.models import Therapist
from clinic.scoping import scope
from prescriptions.models import Exercise, SessionLog
from prescriptions.recording import record_session
from tests import factories
from tests.browser.axe import describe, run_axe, serious

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PATIENT_PASSWORD = "patient-pass-123"
THERAPIST_PASSWORD = "therapist-pass-123"


@pytest.fixture
def clinic_data(transactional_db: None) -> dict[str, Any]:
    # A long word in the name: at 200 % zoom it must not be broken in the middle.
    clinic = factories.make_clinic("Riverside Physiotherapy")
    therapist = factories.make_therapist(clinic, email="tess@riverside.example")
    patient = factories.make_patient(
        clinic,
        therapist,
        with_login=True,
        first_name="Paula",
        last_name="Reed",
        email="paula@example.org",
    )
    stretch = factories.make_exercise(
        None,
        name="Standing hamstring stretch",
        category=Exercise.Category.STATIC_STRETCH,
        reps=None,
        sets=2,
        hold_seconds=30,
        side=Exercise.Side.EACH,
    )
    bridge = factories.make_exercise(None, name="Glute bridge", sets=3, reps=10)
    own = factories.make_exercise(clinic, name="Wall sit (own)", sets=3, reps=10)
    plan = factories.make_plan(
        patient,
        therapist,
        [stretch, bridge, own],
        start_date=clinic.today() - datetime.timedelta(days=10),
        title="Hamstring syndrome plan",
    )
    template = factories.make_template(clinic, [stretch, bridge], name="Hamstring protocol")
    # A questionnaire due now (asked at the start), for the portal's questionnaire pages.
    factories.make_measure(plan, "nprs", every_weeks=2)
    clinic_admin = factories.make_therapist(
        clinic, email="ada@riverside.example", role=Therapist.Role.CLINIC_ADMIN
    )
    with scope(clinic):
        record_session(
            plan=plan,
            date=clinic.today() - datetime.timedelta(days=2),
            session_number=1,
            idempotency_key=uuid.uuid4(),
            pain=4,
            nerve_symptoms=SessionLog.NerveSymptoms.NONE,
            symptoms_lasted=False,
            symptoms_minutes=None,
            effort=SessionLog.Effort.ABOUT_RIGHT,
            comment="Felt a pull behind the knee",
            sets={},
        )
    return {
        "clinic": clinic,
        "patient": patient,
        "plan": plan,
        "template": template,
        "own": own,
        "day": clinic.today(),
        "clinic_admin": clinic_admin,
    }


def _sign_in_patient(page: Any, base: str) -> None:
    page.goto(f"{base}/portal/login/")
    page.fill("#id_username", "paula@example.org")
    page.fill("#id_password", PATIENT_PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(f"{base}/portal/")


def _portal_pages(data: dict[str, Any]) -> list[str]:
    plan, day = data["plan"], data["day"]
    earlier = (day - datetime.timedelta(days=2)).isoformat()
    return [
        "/portal/",
        f"/portal/log/{plan.pk}/{earlier}/1/",
        "/portal/plan/",
        "/portal/history/",
        "/portal/settings/",
    ]


def _findings(page: Any, url: str) -> str:
    page.goto(url)
    return describe(serious(run_axe(page)))


def test_every_portal_page_passes_axe(live_server: Any, phone: Any, clinic_data: Any) -> None:
    page = phone.new_page()
    base = live_server.url
    found = {}
    for path in ["/portal/login/", "/portal/password-reset/"]:
        found[path] = _findings(page, base + path)
    _sign_in_patient(page, base)
    for path in _portal_pages(clinic_data):
        found[path] = _findings(page, base + path)
    # The questionnaire: a question, then the answers to check before sending.
    page.goto(f"{base}/portal/")
    page.get_by_role("button", name="Start the questionnaire").click()
    page.get_by_text("Question 1 of 2").wait_for()
    found["questionnaire: a question"] = describe(serious(run_axe(page)))
    page.get_by_label("7", exact=True).check()
    page.get_by_role("button", name="Next question").click()
    page.get_by_text("Question 2 of 2").wait_for()
    page.get_by_label("4", exact=True).check()
    page.get_by_role("button", name="Next: check your answers").click()
    page.get_by_text("Please check your answers").wait_for()
    found["questionnaire: check the answers"] = describe(serious(run_axe(page)))
    failing = {path: text for path, text in found.items() if text}
    assert failing == {}, "\n".join(f"{p}:\n{t}" for p, t in failing.items())


def test_every_admin_page_a_therapist_uses_passes_axe(
    live_server: Any, browser: Any, clinic_data: Any
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    base = live_server.url
    found = {"/admin/login/": _findings(page, f"{base}/admin/login/")}
    page.fill("#id_username", "tess@riverside.example")
    page.fill("#id_password", THERAPIST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/admin/")
    patient, plan, template, own = (
        clinic_data["patient"],
        clinic_data["plan"],
        clinic_data["template"],
        clinic_data["own"],
    )
    pages = [
        "/admin/",
        "/admin/clinic/patient/",
        "/admin/clinic/patient/add/",
        f"/admin/clinic/patient/{patient.pk}/change/",
        "/admin/prescriptions/plan/",
        "/admin/prescriptions/plan/add/",
        f"/admin/prescriptions/plan/{plan.pk}/change/",
        "/admin/prescriptions/plantemplate/",
        "/admin/prescriptions/plantemplate/add/",
        f"/admin/prescriptions/plantemplate/{template.pk}/change/",
        "/admin/prescriptions/exercise/",
        "/admin/prescriptions/exercise/add/",
        f"/admin/prescriptions/exercise/{own.pk}/change/",
        "/admin/prescriptions/sessionlog/",
        # The plan builder (new and saved plan) and the hand-over page after saving.
        f"/admin/prescriptions/plan/builder/?patient={patient.pk}",
        f"/admin/prescriptions/plan/{plan.pk}/builder/",
        f"/admin/prescriptions/plan/{plan.pk}/handover/",
        # The History pages, with the plan and the record as they were on a day.
        f"/admin/prescriptions/plan/{plan.pk}/history/?on={clinic_data['day'].isoformat()}",
        f"/admin/clinic/patient/{patient.pk}/history/?on={clinic_data['day'].isoformat()}",
    ]
    for path in pages:
        found[path] = _findings(page, base + path)
    context.close()
    failing = {path: text for path, text in found.items() if text}
    assert failing == {}, "\n".join(f"{p}:\n{t}" for p, t in failing.items())


def test_every_admin_page_a_clinic_administrator_uses_passes_axe(
    live_server: Any, browser: Any, clinic_data: Any
) -> None:
    """The pages only a clinic's administrator sees: the audit trail, the exports, the
    data-rights erasure, the clinic's settings and its therapists."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    base = live_server.url
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", "ada@riverside.example")
    page.fill("#id_password", THERAPIST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/admin/")
    patient, clinic = clinic_data["patient"], clinic_data["clinic"]
    pages = [
        "/admin/clinic/auditentry/",
        "/admin/exports/",
        f"/admin/clinic/patient/{patient.pk}/erase/",
        f"/admin/clinic/clinic/{clinic.pk}/change/",
        "/admin/clinic/therapist/",
        f"/admin/clinic/therapist/{clinic_data['clinic_admin'].pk}/change/",
    ]
    found = {}
    for path in pages:
        response = page.goto(base + path)
        assert response is not None and response.status == 200, path
        found[path] = describe(serious(run_axe(page)))
    context.close()
    failing = {path: text for path, text in found.items() if text}
    assert failing == {}, "\n".join(f"{p}:\n{t}" for p, t in failing.items())


def _overflow(page: Any) -> list[str]:
    """Elements that reach past the right edge of the viewport (horizontal scrolling)."""
    return list(
        page.evaluate(
            """() => {
                const edge = document.documentElement.clientWidth + 1;
                return [...document.querySelectorAll("body *")]
                    .filter((e) => e.getBoundingClientRect().right > edge
                        && getComputedStyle(e).position !== "absolute")
                    .slice(0, 5)
                    .map((e) => `${e.tagName.toLowerCase()}.${e.className} ends at `
                        + Math.round(e.getBoundingClientRect().right));
            }"""
        )
    )


# The words of an element's text that the browser laid out over more than one line.
WORDS_SPLIT_OVER_LINES = """(selector) => {
  const element = document.querySelector(selector);
  const node = element.querySelector("bdi") || element;
  const text = node.firstChild;
  const split = [];
  for (const match of text.textContent.matchAll(/\\S+/g)) {
    const range = document.createRange();
    range.setStart(text, match.index);
    range.setEnd(text, match.index + match[0].length);
    const tops = new Set(Array.from(range.getClientRects(), (r) => Math.round(r.top)));
    if (tops.size > 1) split.push(match[0]);
  }
  return split;
}"""


@pytest.mark.parametrize(
    ("width", "scale"),
    [(320, 1), (195, 2)],
    ids=["320px", "phone-at-200-percent-zoom"],
)
def test_the_portal_reflows_without_sideways_scrolling(
    live_server: Any, browser: Any, clinic_data: Any, width: int, scale: int
) -> None:
    # 200 % zoom on a 390 px phone lays the page out in 195 CSS pixels.
    context = browser.new_context(
        viewport={"width": width, "height": 700},
        device_scale_factor=scale,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    base = live_server.url
    _sign_in_patient(page, base)
    found = {}
    for path in _portal_pages(clinic_data):
        page.goto(base + path)
        width_used = page.evaluate("document.documentElement.scrollWidth")
        if width_used > width:
            found[path] = (width_used, _overflow(page))
    # The menu's last entry (Sign out is in the header) is on the screen.
    page.goto(f"{base}/portal/")
    for name in ("Today", "My plan", "History", "Settings"):
        box = page.get_by_role("link", name=name, exact=True).bounding_box()
        assert box is not None and box["x"] + box["width"] <= width, name
    sign_out = page.get_by_role("button", name="Sign out").bounding_box()
    assert sign_out is not None and sign_out["x"] + sign_out["width"] <= width
    # The clinic's name breaks between words, never inside one.
    split_words = page.evaluate(WORDS_SPLIT_OVER_LINES, ".portal-brand")
    assert split_words == [], split_words
    context.close()
    assert found == {}
