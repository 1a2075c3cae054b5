"""Plan builder figures: library search and filter time on the server, queries per
request, and (with --browser) how soon the builder page is usable in Chromium.

    DJANGO_SETTINGS_MODULE=clinic.settings_test .venv/bin/python bench/builder.py
    DJANGO_SETTINGS_MODULE=clinic.settings_test .venv/bin/python bench/builder.py --browser

Sets itself up: a throwaway SQLite database in a temporary directory, the shipped
library (48 exercises when this was written) and 450 exercises of one clinic, with
realistic names, purposes and steps. Each search is a full request through the
test client (middleware, sign-in, scoping, JSON), timed over --runs runs; the
figure the issue sets is at most 50 ms per answer. --browser serves the app on
127.0.0.1 and opens the builder for a plan of 12 exercises in headless Chromium:
the time from navigation until the library's cards are painted and every plan row
shows its read-back (the issue: at most 1 s).

Figures (4 Dec 2026, 2 cores at load average 18): 15-21 ms CPU per search request,
median wall 50-81 ms, p95 at most 113 ms; 9 queries each (one reads the library);
the page for 12 exercises usable in 0.61 s median. Before the library was read as
plain values (model instances for all 498 rows, choice labels via get_FOO_display):
about 35-40 ms CPU for the search alone.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CLINIC_EXERCISES = 450
WORDS = [
    "hamstring",
    "nerve",
    "bridge",
    "stretch",
    "calf",
    "hip",
    "knee",
    "balance",
    "step",
    "slider",
    "core",
    "back",
]
SEARCHES: list[tuple[str, dict[str, Any]]] = [
    ("everything", {}),
    ("a word", {"q": "bridge"}),
    ("a partial word", {"q": "hamstr"}),
    ("accents and case", {"q": "ÜBUNG knie"}),
    ("two words", {"q": "nerve slider"}),
    ("one filter", {"category": "strengthening"}),
    ("three filters", {"category": "strengthening", "equipment": "mat", "difficulty": "2"}),
    ("words and filters", {"q": "stretch", "body_region": "back_of_thigh", "own": "1"}),
    ("no match", {"q": "zebra crossing"}),
]


def setup(tmp: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings_test")
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop in this thread
    import django
    from django.conf import settings

    django.setup()
    settings.MEDIA_ROOT = tmp / "media"
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def make_data() -> dict[str, Any]:
    from clinic.scoping import unscoped
    from prescriptions.library import loader
    from prescriptions.models import Exercise
    from tests import factories

    with unscoped():
        loader.load_library()
        shipped = Exercise.objects.filter(clinic=None).count()
        clinic = factories.make_clinic("Riverside Physiotherapy")
        therapist = factories.make_therapist(clinic, email="bench@riverside.example")
        categories = list(Exercise.Category.values)
        regions = list(Exercise.BodyRegion.values)
        equipment = list(Exercise.Equipment.values)
        Exercise.objects.bulk_create(
            Exercise(
                clinic=clinic,
                name=f"{WORDS[n % len(WORDS)].title()} drill {n} for Übung {n % 7}",
                slug=f"clinic-drill-{n}",
                category=categories[n % len(categories)],
                body_region=regions[n % len(regions)],
                equipment=equipment[n % len(equipment)],
                difficulty=1 + n % 3,
                purpose=f"Works the {WORDS[(n + 3) % len(WORDS)]} and the Knie gently.",
                steps="\n".join(
                    [
                        "Start in a comfortable position with your back supported.",
                        f"Move slowly through the {WORDS[(n + 5) % len(WORDS)]} exercise.",
                        "Hold the end position, breathing normally, then return.",
                        "Repeat on the other side if your therapist asked you to.",
                    ]
                ),
                sets=2,
                reps=10,
            )
            for n in range(CLINIC_EXERCISES)
        )
        patient = factories.make_patient(clinic, therapist, first_name="Alex", last_name="Morgan")
        plan = factories.make_plan(
            patient, therapist, list(Exercise.objects.filter(clinic=None))[:12]
        )
    return {"shipped": shipped, "therapist": therapist, "plan": plan}


def bench_search(data: dict[str, Any], runs: int) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    client = Client()
    client.force_login(data["therapist"].user)
    url = reverse("admin:prescriptions_plan_builder_library")
    # The library is the patient's clinic's: every request names the patient.
    patient = {"patient": data["plan"].patient_id}
    client.get(url, patient)  # warm up: imports, translations, the first session write
    total = data["shipped"] + CLINIC_EXERCISES
    print(f"Library: {data['shipped']} shipped + {CLINIC_EXERCISES} clinic = {total} exercises")
    print(
        f"{'search':<20} {'found':>5} {'median ms':>9} {'p95 ms':>7} {'max ms':>7} "
        f"{'cpu ms':>6} {'queries':>7}"
    )
    worst = worst_cpu = 0.0
    for label, params in SEARCHES:
        times, cpu = [], []
        for _ in range(runs):
            start, start_cpu = time.perf_counter(), time.process_time()
            response = client.get(url, {**patient, **params})
            times.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, {**patient, **params})
        found = response.json()["total"]
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        worst = max(worst, p95)
        worst_cpu = max(worst_cpu, statistics.median(cpu))
        print(
            f"{label:<20} {found:>5} {statistics.median(times):>9.1f} {p95:>7.1f} "
            f"{times[-1]:>7.1f} {statistics.median(cpu):>6.1f} {len(queries):>7}"
        )
    # On a machine shared with other work, wall time includes waiting for a core;
    # CPU time is what one request costs (the work is single-threaded).
    print(
        f"Slowest p95: {worst:.1f} ms wall, slowest median {worst_cpu:.1f} ms CPU "
        "(target: at most 50 ms)"
    )


def bench_browser(data: dict[str, Any], runs: int) -> None:
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.wsgi import get_wsgi_application
    from django.urls import reverse
    from playwright.sync_api import expect, sync_playwright

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = make_server(
        "127.0.0.1", 0, StaticFilesHandler(get_wsgi_application()), handler_class=Quiet
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    therapist, plan = data["therapist"], data["plan"]
    user = therapist.user
    user.set_password("bench-password-123")
    user.save()
    page_url = base + reverse("admin:prescriptions_plan_builder", args=[plan.pk])
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(base + "/admin/login/")
        page.fill("#id_username", user.email)
        page.fill("#id_password", "bench-password-123")
        page.click("input[type=submit]")
        page.wait_for_url(base + "/admin/")
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            page.goto(page_url)
            expect(page.locator(".pb-card").first).to_be_visible()
            expect(page.locator(".pb-row")).to_have_count(12)
            expect(page.locator(".pb-row .pb-readback").last).not_to_be_empty()
            times.append(time.perf_counter() - start)
        browser.close()
    server.shutdown()
    print(
        f"Builder page, plan of 12, library painted and every row read back: median "
        f"{statistics.median(times):.2f} s, max {max(times):.2f} s over {runs} loads "
        "(target: at most 1 s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--browser", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        setup(Path(tmp))
        data = make_data()
        bench_search(data, args.runs)
        if args.browser:
            bench_browser(data, max(3, args.runs // 6))


if __name__ == "__main__":
    main()
