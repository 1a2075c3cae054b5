"""Each portal page in process: milliseconds, CPU and SQL statements per request.

    .venv/bin/python bench/portal_profile.py                  # SQLite
    .venv/bin/python bench/portal_profile.py --db postgres
    .venv/bin/python bench/portal_profile.py --profile        # + each page's top functions
    .venv/bin/python bench/portal_profile.py --page today --profile --top 40

Production settings (DEBUG off, the manifest static storage after collectstatic,
persistent connections, the database media storage) on a throwaway SQLite file or
a PostgreSQL database `rehabit_bench_profile_<process id>` at BENCH_POSTGRES_URL
(dropped afterwards). A signed-in patient with a six-exercise plan done twice a day and
three weeks of logs; every request goes through Django's whole middleware stack
(Django's test client, which is the WSGI handler without a socket). No load
generator and no server: the figures say where a request's time goes, not how
many a machine serves (bench/portal.py measures that).

Prints, per page, the median, 90th percentile and longest wall time, the median
CPU time, the statements per request and the longest garbage collection pause
(GC ms); --profile adds cProfile's top functions by own time and by cumulative
time.
Before the pages are measured, what is alive is frozen out of the garbage
collector's view, as clinic.wsgi does in a worker (--no-freeze leaves it in).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import gc
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import live  # noqa: E402

POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
# One database per run: two runs at once (several people profiling on one machine) must
# not drop each other's database.
BENCH_DB = f"rehabit_bench_profile_{os.getpid()}"


def _seed() -> dict[str, Any]:
    from clinic.scoping import unscoped
    from prescriptions.models import PlanItem, SessionLog
    from tests import factories

    with unscoped():
        clinic = factories.make_clinic("Riverside Physio")
        therapist = factories.make_therapist(clinic, email="tess@example.org")
        exercises = [factories.make_exercise(None) for _ in range(6)]
        today = clinic.today()
        patient = factories.make_patient(
            clinic, therapist, with_login=True, email="patient@bench.example"
        )
        plan = factories.make_plan(
            patient, therapist, exercises, start_date=today - datetime.timedelta(days=30)
        )
        PlanItem.objects.filter(plan=plan).update(times_per_day=2)
        SessionLog.objects.bulk_create(
            SessionLog(
                plan=plan,
                date=today - datetime.timedelta(days=days_ago),
                session_number=1,
                pain=3,
                nerve_symptoms="none",
                effort="about_right",
            )
            for days_ago in range(8, 30)
        )
        return {"user": patient.user, "plan": plan, "today": today}


class Counter:
    """Counts the statements the database runs (connection.execute_wrapper)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        self.count += 1
        return execute(sql, *args)


class GarbagePauses:
    """The longest garbage collection since `longest` was last set to 0, in ms."""

    def __init__(self) -> None:
        self.longest = 0.0
        self.started = 0.0
        gc.callbacks.append(self)

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
        else:
            self.longest = max(self.longest, 1000 * (time.perf_counter() - self.started))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--requests", type=int, default=200, help="per page")
    parser.add_argument("--page", action="append", help="only these pages (by key)")
    parser.add_argument("--profile", action="store_true", help="print the top functions")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--no-freeze", action="store_true", help="leave the garbage collector as Python sets it"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="rehabit-profile-") as tmp:
        folder = Path(tmp)
        static = folder / "static"
        live.collect_static(static)
        if args.db == "sqlite":
            url = f"sqlite:///{folder / 'rehabit.sqlite3'}"
        else:
            url = POSTGRES.rsplit("/", 1)[0] + f"/{BENCH_DB}"
            _postgres(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
            _postgres(f'CREATE DATABASE "{BENCH_DB}"')
        try:
            os.environ.update(live.base_env(url, folder / "media", static))
            # The test client's host name, beside the production ones.
            os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
            run(args)
        finally:
            if args.db == "postgres":
                from django.db import connections

                connections.close_all()
                _postgres(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from clinic.gcfreeze import freeze_long_lived

    call_command("migrate", "--noinput", verbosity=0)
    seeded = _seed()
    plan, today = seeded["plan"], seeded["today"]
    client = Client()
    client.force_login(seeded["user"])

    handout = f"/portal/plan/{plan.pk}/handout/"
    assert client.get(handout).status_code == 200  # rendered and stored now
    # A real new session each time: a new key, rotating over the editable days and
    # both sessions (the first pass creates logs, later ones correct them).
    form = live._Form()
    form.feed(client.get(f"/portal/log/{plan.pk}/{today.isoformat()}/1/").content.decode())
    fields = {**form.fields, "pain": "3", "nerve_symptoms": "none", "effort": "about_right"}
    fields.pop("symptoms_lasted", None)
    posts = [
        f"/portal/log/{plan.pk}/{(today - datetime.timedelta(days=days)).isoformat()}/{n}/"
        for days in range(7)
        for n in (1, 2)
    ]
    counter = {"post": 0}

    def post() -> Any:
        counter["post"] += 1
        path = posts[counter["post"] % len(posts)]
        # As bench/portal.py's wrk sends it: a form's urlencoded body, with the cookies
        # of the signed-in page and no messages cookie (the redirect's target, which
        # reads and clears it, is not followed; left in the jar, its messages would pile
        # up to the cookie's size limit and be re-signed on every POST).
        client.cookies.pop("messages", None)
        body = urlencode({**fields, "idempotency_key": str(uuid.uuid4())})
        return client.post(path, body, content_type="application/x-www-form-urlencoded")

    pages: dict[str, tuple[str, Callable[[], Any]]] = {
        "today": ("Today", lambda: client.get("/portal/")),
        "plan": ("My plan", lambda: client.get("/portal/plan/")),
        "history": ("History", lambda: client.get("/portal/history/")),
        "handout": ("cached handout PDF", lambda: client.get(handout)),
        "post": ("session log POST", post),
        "favicon": ("/favicon.ico with a session", lambda: client.get("/favicon.ico")),
    }
    chosen = args.page or list(pages)
    # As a worker does once its application is loaded (clinic.wsgi): what is alive
    # now stays out of the garbage collector's passes. --no-freeze shows the cost.
    if not args.no_freeze:
        freeze_long_lived()
    pauses = GarbagePauses()
    print(
        f"{args.db}, {args.requests} requests a page, load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    print("| page | ms (median) | ms (p90) | ms (max) | CPU ms (median) | statements | GC ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    profiles = {}
    for key in chosen:
        label, request = pages[key]
        for _ in range(5):  # warm: templates compiled, connection open
            response = request()
            assert response.status_code in (200, 302), (key, response.status_code)
        walls, cpus, statements = [], [], []
        pauses.longest = 0.0
        profiler = cProfile.Profile() if args.profile else None
        for _ in range(args.requests):
            counting = Counter()
            with connection.execute_wrapper(counting):
                wall, cpu = time.perf_counter(), time.process_time()
                if profiler is not None:
                    profiler.enable()
                response = request()
                if profiler is not None:
                    profiler.disable()
                walls.append(1000 * (time.perf_counter() - wall))
                cpus.append(1000 * (time.process_time() - cpu))
            statements.append(counting.count)
            assert response.status_code in (200, 302), (key, response.status_code)
        walls.sort()
        counts = sorted(set(statements))
        shown = str(counts[0]) if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
        print(
            f"| {label} | {statistics.median(walls):.2f} | {walls[int(0.9 * len(walls))]:.2f} "
            f"| {walls[-1]:.2f} | {statistics.median(cpus):.2f} | {shown} "
            f"| {pauses.longest:.1f} |",
            flush=True,
        )
        if profiler is not None:
            profiles[label] = profiler
    for label, profiler in profiles.items():
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats(order).print_stats(args.top)
            print(f"\n## {label}: top {args.top} by {order}\n")
            print(_trim(out.getvalue()))


def _trim(text: str) -> str:
    # Paths relative to the checkout and the virtual environment, for reading.
    lines = [line.replace(str(ROOT) + "/", "") for line in text.splitlines()]
    site = next((line for line in lines if "site-packages/" in line), None)
    if site is not None:
        prefix = site[: site.index("site-packages/") + len("site-packages/")].split()[-1]
        lines = [line.replace(prefix, "") for line in lines]
    start = next((n for n, line in enumerate(lines) if "ncalls" in line), 0)
    return "\n".join(lines[start:])


def _postgres(sql: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(sql)


if __name__ == "__main__":
    main()
