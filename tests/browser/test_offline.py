"""The portal offline (issue 14): Today opens from the phone, sessions logged without a
connection are kept and sent once, and nothing stays for the next person.

Chromium at 390×844 against the live server; the connection is cut with
`context.set_offline(True)`, which also cuts the service worker's own requests.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clinic.scoping import unscoped
from portal.offline import namespace
from prescriptions.models import Exercise, SessionLog
from tests import factories

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "patient-pass-123"
BRAND = "#7a2e8e"


@pytest.fixture
def plans(transactional_db: None) -> dict[str, Any]:
    clinic = factories.make_clinic("Riverside Physio")
    clinic.brand_colour = BRAND
    clinic.save()
    therapist = factories.make_therapist(clinic)
    paula = factories.make_patient(
        clinic, therapist, with_login=True, first_name="Paula", email="paula@example.org"
    )
    oscar = factories.make_patient(
        clinic, therapist, with_login=True, first_name="Oscar", email="oscar@example.org"
    )
    bridge = factories.make_exercise(None, name="Glute bridge", sets=3, reps=10)
    slider = factories.make_exercise(
        None,
        name="Seated nerve slider",
        sets=2,
        reps=10,
        category=Exercise.Category.NERVE_MOBILISATION,
    )
    start = clinic.today() - datetime.timedelta(days=20)
    paula_plan = factories.make_plan(
        paula, therapist, [bridge, slider], start_date=start, title="Paula's back plan"
    )
    oscar_plan = factories.make_plan(
        oscar, therapist, [bridge], start_date=start, title="Oscar's knee plan"
    )
    return {"paula": paula, "oscar": oscar, "paula_plan": paula_plan, "oscar_plan": oscar_plan}


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A phone whose browser runs service workers (the shared one blocks them)."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        service_workers="allow",
    )
    yield context
    context.close()


def _sign_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/portal/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(f"{base}/portal/")
    # The worker is registered, told whose pages these are, and has kept them.
    page.wait_for_selector("body[data-offline-ready=true]")


def _logs(plan: Any) -> list[SessionLog]:
    with unscoped():
        return list(SessionLog.objects.filter(plan=plan).prefetch_related("exercises"))


def _storage(page: Any) -> dict[str, Any]:
    """What the browser keeps for the portal: cache names, queued entries, the owner."""
    return page.evaluate(
        """async () => {
          const names = await caches.keys();
          const kept = {};
          for (const name of names) {
            const requests = await (await caches.open(name)).keys();
            kept[name] = requests.map((r) => new URL(r.url).pathname);
          }
          const dbs = (await indexedDB.databases()).map((d) => d.name);
          if (!dbs.includes("rehabit-offline")) return {caches: kept, queue: [], owner: null};
          const db = await new Promise((ok, fail) => {
            const r = indexedDB.open("rehabit-offline");
            r.onsuccess = () => ok(r.result);
            r.onerror = () => fail(r.error);
          });
          const read = (store, how) => new Promise((ok, fail) => {
            const r = how(db.transaction(store).objectStore(store));
            r.onsuccess = () => ok(r.result);
            r.onerror = () => fail(r.error);
          });
          const queue = await read("queue", (s) => s.getAll());
          const owner = await read("meta", (s) => s.get("owner"));
          db.close();
          return {caches: kept, queue, owner: owner || null};
        }"""
    )


@pytest.fixture
def paula_phone(live_server: Any, phone: Any, plans: dict[str, Any]) -> Iterator[Any]:
    page = phone.new_page()
    _sign_in(page, live_server.url, "paula@example.org")
    yield page


def test_it_is_an_installable_app_in_the_clinics_colour(
    paula_phone: Any, phone: Any, plans: dict[str, Any]
) -> None:
    page = paula_phone
    cdp = phone.new_cdp_session(page)
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    # Playwright's contexts are incognito windows, where Chromium never installs apps;
    # every other criterion (manifest, icons, worker) is met.
    assert [error["errorId"] for error in errors] == ["in-incognito"]
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["errors"] == []
    assert f'"theme_color": "{BRAND}"' in manifest["data"]
    assert '"name": "Riverside Physio"' in manifest["data"]
    assert page.evaluate("navigator.serviceWorker.controller.scriptURL").endswith("/portal/sw.js")


def test_today_opens_offline_and_a_session_logged_offline_is_saved_once(
    paula_phone: Any, phone: Any, plans: dict[str, Any], screens: Path
) -> None:
    page = paula_phone
    banner = page.locator("[data-offline-banner]")
    expect(banner).to_be_hidden()
    kept = _storage(page)
    [(name, paths)] = kept["caches"].items()
    assert name == "rehabit-patient-" + namespace(plans["paula"])
    plan_id = plans["paula_plan"].pk
    assert {"/portal/", "/portal/plan/", f"/portal/plan/{plan_id}/handout/"} <= set(paths)
    assert any(path.endswith(".svg") for path in paths)  # the drawings

    phone.set_offline(True)
    page.reload()
    expect(banner).to_contain_text(
        "You are offline. What you log is kept on this phone and sent when you are back online."
    )
    expect(page.get_by_role("heading", name="Paula's back plan")).to_be_visible()
    page.screenshot(path=screens / "portal-offline.png")

    page.get_by_role("link", name="I did all of these").tap()
    page.get_by_role("group", name="Pain right now (0 to 10)").get_by_text("3", exact=True).tap()
    page.get_by_role("button", name="Save this session").tap()
    queue = page.locator("[data-offline-queue]")
    expect(queue).to_contain_text("1 session waits to be sent.")
    expect(queue).to_contain_text("Waiting to be sent")
    expect(page.get_by_text("This session is kept on this phone")).to_be_visible()
    expect(page.locator("form.session-form")).to_be_hidden()
    page.screenshot(path=screens / "portal-offline-queue.png")
    assert _logs(plans["paula_plan"]) == []

    # My plan and the handout open from the phone too.
    page.get_by_role("link", name="My plan").tap()
    expect(page.get_by_role("heading", name="Paula's back plan").first).to_be_visible()
    handout = page.evaluate(
        f"fetch('/portal/plan/{plan_id}/handout/').then((r) => r.headers.get('Content-Type'))"
    )
    assert handout == "application/pdf"

    phone.set_offline(False)
    page.get_by_role("link", name="Today").tap()
    expect(queue).to_contain_text("Sent at")
    expect(queue).not_to_contain_text("wait")
    [log] = _logs(plans["paula_plan"])
    assert log.pain == 3
    with unscoped():
        assert sorted(row.sets_done for row in log.exercises.all()) == [2, 3]


def test_the_same_form_queued_from_two_tabs_is_saved_once(
    paula_phone: Any, phone: Any, plans: dict[str, Any], live_server: Any
) -> None:
    first = paula_phone
    phone.set_offline(True)
    first.reload()
    first.get_by_role("group", name="Pain right now (0 to 10)").get_by_text("5", exact=True).tap()
    first.get_by_label("Anything to tell your therapist? (optional)").fill("Tight calf")
    first.wait_for_function(
        "() => Object.values(localStorage).some((v) => v.includes('Tight calf'))"
    )
    second = phone.new_page()
    second.goto(f"{live_server.url}/portal/")
    expect(second.get_by_text("We kept what you entered.")).to_be_visible()

    first.get_by_role("button", name="Save this session").tap()
    expect(first.locator("[data-offline-queue]")).to_contain_text("1 session waits to be sent.")
    second.get_by_role("button", name="Save this session").tap()
    expect(second.locator("[data-offline-queue]")).to_contain_text("1 session waits to be sent.")
    assert len(_storage(second)["queue"]) == 1

    phone.set_offline(False)
    second.evaluate("window.dispatchEvent(new Event('online'))")
    expect(second.locator("[data-offline-queue]")).to_contain_text("Sent at")
    [log] = _logs(plans["paula_plan"])
    assert (log.pain, log.comment) == (5, "Tight calf")


def test_signing_out_leaves_nothing_for_the_next_patient(
    paula_phone: Any, phone: Any, plans: dict[str, Any], live_server: Any
) -> None:
    page = paula_phone
    phone.set_offline(True)
    page.reload()
    page.get_by_role("group", name="Pain right now (0 to 10)").get_by_text("6", exact=True).tap()
    page.get_by_role("button", name="Save this session").tap()
    expect(page.locator("[data-offline-queue]")).to_contain_text("1 session waits to be sent.")
    # Signed out without a connection: everything goes from the phone at once...
    page.get_by_role("button", name="Sign out").tap()
    expect(
        page.get_by_text("You are signed out. Nothing of yours is kept on this phone.")
    ).to_be_visible()
    assert _storage(page)["caches"] == {}
    assert _storage(page)["queue"] == []
    # ...and nobody signed in gets a kept page: the phone says it is signed out.
    page.goto(f"{live_server.url}/portal/plan/")
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    expect(page.get_by_text("Paula's back plan")).to_have_count(0)

    # Back online, the server's sign-in is ended before anything else is asked.
    phone.set_offline(False)
    page.goto(f"{live_server.url}/portal/")
    page.wait_for_url("**/portal/login/?next=/portal/")
    _sign_in(page, live_server.url, "oscar@example.org")
    expect(page.get_by_role("heading", name="Oscar's knee plan")).to_be_visible()
    kept = _storage(page)
    assert list(kept["caches"]) == ["rehabit-patient-" + namespace(plans["oscar"])]
    assert kept["queue"] == []
    assert kept["owner"]["ns"] == namespace(plans["oscar"])
    phone.set_offline(True)
    page.reload()
    expect(page.get_by_text("Paula", exact=False)).to_have_count(0)
    expect(page.get_by_role("heading", name="Oscar's knee plan")).to_be_visible()
    phone.set_offline(False)
    assert _logs(plans["paula_plan"]) == []


def test_a_session_kept_past_its_last_editable_day_is_shown_not_dropped(
    paula_phone: Any, phone: Any, plans: dict[str, Any]
) -> None:
    page = paula_phone
    phone.set_offline(True)
    page.reload()
    page.get_by_role("group", name="Pain right now (0 to 10)").get_by_text("4", exact=True).tap()
    page.get_by_role("button", name="Save this session").tap()
    queue = page.locator("[data-offline-queue]")
    expect(queue).to_contain_text("1 session waits to be sent.")
    # The phone stayed offline for more than a week: the kept session is for a day
    # that can no longer be changed.
    old = plans["paula"].clinic.today() - datetime.timedelta(days=8)
    page.evaluate(
        """([plan, day]) => new Promise((ok, fail) => {
          const open = indexedDB.open("rehabit-offline");
          open.onsuccess = () => {
            const store = open.result.transaction("queue", "readwrite").objectStore("queue");
            const all = store.getAll();
            all.onsuccess = () => {
              const entry = all.result[0];
              entry.url = `/portal/log/${plan}/${day}/1/`;
              entry.day = day;
              store.put(entry).onsuccess = () => { open.result.close(); ok(); };
            };
          };
          open.onerror = () => fail(open.error);
        })""",
        [plans["paula_plan"].pk, old.isoformat()],
    )
    phone.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(queue).to_contain_text("Not saved: Only today and the 7 days before it can be changed.")
    expect(queue).not_to_contain_text("wait")
    assert _logs(plans["paula_plan"]) == []
    queue.get_by_role("button", name="Remove").tap()
    expect(queue).to_be_hidden()
    assert _storage(page)["queue"] == []
