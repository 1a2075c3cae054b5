"""Headless Chromium (Debian's package) driven by Playwright, against the live server."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer
from django.test.testcases import LiveServerThread

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication

CHROMIUM = Path("/usr/bin/chromium")
SCREENS = Path(__file__).resolve().parents[2] / "artifacts" / "screens"
PHONE = {"width": 390, "height": 844}

# Playwright's sync API runs an event loop in this thread; the live server's
# database work happens in its own thread, so Django's async guard can be relaxed.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


class OneRequestAtATimeServer(ThreadedWSGIServer):
    """The live server, answering one request at a time.

    On SQLite the test database lives in memory and every request thread shares
    the test's one connection. Chromium asks for a page and ``/favicon.ico`` at
    once; two threads on one sqlite3 connection fail with "bad parameter or other
    API misuse" (a 500 and a flaky browser test). Connections stay threaded, so a
    browser's idle keep-alive connection never blocks the next request; only the
    application call is serialised.
    """

    application_lock = threading.Lock()

    def set_app(self, application: WSGIApplication | None) -> None:
        assert application is not None

        def one_at_a_time(environ: dict[str, Any], start_response: Any) -> Any:
            with self.application_lock:
                response = application(environ, start_response)
                # Read streamed bodies (handouts, CSV) inside the lock too, and
                # close the response there (it sends request_finished).
                try:
                    return list(response)
                finally:
                    close = getattr(response, "close", None)
                    if close is not None:
                        close()

        super().set_app(one_at_a_time)


LiveServerThread.server_class = OneRequestAtATimeServer


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    # Without the portal's service worker (tests/browser/test_offline.py has its own
    # phone with it): its background fetches of the handout and the drawings would
    # queue in front of the test's own requests on this one-at-a-time server.
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        service_workers="block",
    )
    yield context
    context.close()


@pytest.fixture
def screens() -> Path:
    SCREENS.mkdir(parents=True, exist_ok=True)
    return SCREENS
