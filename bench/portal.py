"""Portal speed under load (issue 11), against Rehabit as production runs it.

    .venv/bin/python bench/portal.py                    # SQLite, then PostgreSQL
    .venv/bin/python bench/portal.py --db postgres --duration 10
    .venv/bin/python bench/portal.py --conn-max-age 0   # the old default, to compare
    .venv/bin/python bench/portal.py --users 100        # + POSTs of 100 patients thinking 2-5 s

Sets itself up: a throwaway SQLite file, or a database `rehabit_bench_portal_<process id>` on
the PostgreSQL server at BENCH_POSTGRES_URL (default
postgres://postgres@127.0.0.1:5432/postgres; dropped afterwards); collected
static files; DEBUG off; gunicorn with 2 sync workers. Signs in as demo
patients, stores their handouts, then drives each page with wrk (Debian's
package; `make system-packages` installs it) over 8 connections on loopback for
--duration seconds, and prints one table per database: req/s, p50, p99, non-2xx/3xx
responses and the ratio to the anchor measured in the same run (`/favicon.ico`
without a session: a view that touches neither the database nor a session).

The session POST logs a real session each time (a new idempotency key per request,
rotating over patients, days and sessions: the first pass creates logs, later ones
correct them) and the run checks that no (plan, day, session) has two rows.

The load generator shares the machine's cores with the server: compare ratios, and
note the machine's load (printed) beside the table.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import live  # noqa: E402

POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
BENCH_DB = f"rehabit_bench_portal_{os.getpid()}"  # one per run: two runs never drop each other's

# Patients, each with a running six-exercise plan done twice a day and three weeks
# of logs; printed as JSON: [[email, plan id], ...] and the clinic's today.
SEED = """
import datetime, json
from clinic.scoping import unscoped
from prescriptions.models import PlanItem, SessionLog
from tests import factories
out = []
with unscoped():
    clinic = factories.make_clinic("Riverside Physio")
    therapist = factories.make_therapist(clinic, email="tess@example.org")
    exercises = [factories.make_exercise(None) for _ in range(6)]
    today = clinic.today()
    for n in range(%(patients)d):
        patient = factories.make_patient(
            clinic, therapist, with_login=True, email=f"patient{n}@bench.example"
        )
        plan = factories.make_plan(
            patient, therapist, exercises, start_date=today - datetime.timedelta(days=30)
        )
        PlanItem.objects.filter(plan=plan).update(times_per_day=2)
        SessionLog.objects.bulk_create(
            SessionLog(
                plan=plan, date=today - datetime.timedelta(days=days_ago), session_number=1,
                pain=3, nerve_symptoms="none", effort="about_right",
            )
            for days_ago in range(8, 30)
        )
        out.append([patient.email, plan.pk])
print(json.dumps({"patients": out, "today": today.isoformat()}))
"""

DUPLICATES = """
from django.db.models import Count
from clinic.scoping import unscoped
from prescriptions.models import SessionLog
with unscoped():
    dup = (SessionLog.objects.values("plan", "date", "session_number")
           .annotate(n=Count("pk")).filter(n__gt=1).count())
    print(dup, SessionLog.objects.count())
"""

POST_SCRIPT = """
local bodies = %(bodies)s
local counter = 0
local hex = "0123456789abcdef"
function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) %% 100000)
  counter = math.random(0, #bodies - 1)
end
local function uuid()
  local t = {}
  for i = 1, 32 do
    local r = math.random(1, 16)
    t[i] = hex:sub(r, r)
  end
  t[13] = "4"
  local s = table.concat(t)
  return s:sub(1, 8) .. "-" .. s:sub(9, 12) .. "-" .. s:sub(13, 16) .. "-" .. s:sub(17, 20)
    .. "-" .. s:sub(21, 32)
end
function request()
  counter = counter + 1
  local r = bodies[(counter %% #bodies) + 1]
  local body = r.body:gsub("IDEMPOTENCYKEY", uuid())
  return wrk.format("POST", r.path, {
    ["Cookie"] = r.cookie,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end
"""


@dataclass
class Row:
    page: str
    rps: float
    p50_ms: float
    p99_ms: float
    bad: int


def _ms(text: str) -> float:
    value = float(re.sub(r"[a-z]+$", "", text))
    if text.endswith("us"):
        return value / 1000
    if text.endswith("ms"):
        return value
    if text.endswith("s"):
        return value * 1000
    return value


def wrk(
    url: str, *, duration: int, connections: int, headers: list[str], script: Path | None = None
) -> Row:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s"]
    for header in headers:
        command += ["-H", header]
    if script is not None:
        command += ["-s", str(script)]
    out = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=duration + 60
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s*50%\s+(\S+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s*99%\s+(\S+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    bad_match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    bad = int(bad_match.group(1)) if bad_match else 0
    errors = re.search(r"Socket errors:.*", out)
    if errors:
        print(f"    ({url}: {errors.group(0)})")
    return Row("", rps, p50, p99, bad)


def thinking_users(url: str, bodies: list[dict[str, str]], *, users: int, duration: int) -> Row:
    """Issue 17.6: `users` patients, each thinking 2 to 5 s, then posting a session on
    a new connection and reading the answer, for `duration` seconds.

    Not wrk: wrk opens its connections ahead of the think time, and a sync gunicorn
    worker that has accepted an idle connection waits for the request on it, so
    wrk measured the think time of the connections queued before (p50 about 1.2 s at
    20 req/s, on SQLite and PostgreSQL alike). A phone sends its request when the
    patient presses Save, and in production a proxy (deploy/nginx) hands gunicorn
    whole requests only; a new connection per request is that, seen from gunicorn.
    """
    import asyncio
    import random
    import uuid

    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    latencies: list[float] = []
    bad = 0

    async def post(item: dict[str, str]) -> None:
        nonlocal bad
        body = item["body"].replace("IDEMPOTENCYKEY", str(uuid.uuid4())).encode()
        head = (
            f"POST {item['path']} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Cookie: {item['cookie']}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        started = time.monotonic()
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(head + body)
        await writer.drain()
        status_line = await reader.readline()
        await reader.read()  # to the end: the connection closes after the answer
        writer.close()
        latencies.append(time.monotonic() - started)
        status = int(status_line.split()[1]) if status_line else 0
        if not 200 <= status < 400:
            bad += 1

    async def patient(deadline: float) -> None:
        while True:
            await asyncio.sleep(random.uniform(2, 5))
            if time.monotonic() >= deadline:
                return
            await post(random.choice(bodies))

    async def run() -> None:
        deadline = time.monotonic() + duration
        await asyncio.gather(*(patient(deadline) for _ in range(users)))

    started = time.monotonic()
    asyncio.run(run())
    elapsed = time.monotonic() - started
    ordered = sorted(latencies)

    def percentile(p: float) -> float:
        return 1000 * ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else 0.0

    return Row("", len(ordered) / elapsed, percentile(0.50), percentile(0.99), bad)


def _cookie(browser: live.Browser) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in browser.jar)


def run_site(env: dict[str, str], folder: Path, args: argparse.Namespace) -> list[Row]:
    seeded = json.loads(
        live.manage(env, "shell", "-c", SEED % {"patients": args.patients}).splitlines()[-1]
    )
    patients: list[tuple[str, int]] = [tuple(p) for p in seeded["patients"]]
    today = seeded["today"]
    rows: list[Row] = []
    with live.gunicorn(env, folder / "gunicorn.log", workers=args.workers) as server:
        browsers = []
        for email, _plan in patients:
            browser = live.Browser(server.url)
            browser.sign_in(email=email)
            browsers.append(browser)
        first, plan_id = browsers[0], patients[0][1]
        assert first.request(f"/portal/plan/{plan_id}/handout/").status == 200  # stored now
        cookie = f"Cookie: {_cookie(first)}"

        bodies = []
        for browser, (_email, plan) in zip(browsers, patients, strict=True):
            for days_ago in range(7):
                day = (
                    datetime.date.fromisoformat(today) - datetime.timedelta(days=days_ago)
                ).isoformat()
                for session in (1, 2):
                    path = f"/portal/log/{plan}/{day}/{session}/"
                    fields = live.filled_session_form(browser, path, "")
                    fields["idempotency_key"] = "IDEMPOTENCYKEY"
                    body = urllib.parse.urlencode(fields)
                    bodies.append({"path": path, "body": body, "cookie": _cookie(browser)})
        script = folder / "post.lua"
        lua_bodies = (
            "{"
            + ",".join(
                f"{{path={json.dumps(b['path'])}, body={json.dumps(b['body'])}, "
                f"cookie={json.dumps(b['cookie'])}}}"
                for b in bodies
            )
            + "}"
        )
        script.write_text(POST_SCRIPT % {"bodies": lua_bodies})

        pages = [
            ("anchor: /favicon.ico without a session", "/favicon.ico", [], None),
            ("Today", "/portal/", [cookie], None),
            ("My plan", "/portal/plan/", [cookie], None),
            ("History", "/portal/history/", [cookie], None),
            ("cached handout PDF", f"/portal/plan/{plan_id}/handout/", [cookie], None),
            ("session log POST (new key each time)", "/portal/", [], script),
            ("/favicon.ico with a session cookie", "/favicon.ico", [cookie], None),
        ]
        for label, path, headers, lua in pages:
            row = wrk(
                server.url + path,
                duration=args.duration,
                connections=args.connections,
                headers=headers,
                script=lua,
            )
            row.page = label
            rows.append(row)
            print(f"  {label}: {row.rps:.0f} req/s, p99 {row.p99_ms:.1f} ms", flush=True)
        if args.users:
            # Issue 17.6: simulated patients who think 2 to 5 s between sessions.
            row = thinking_users(
                server.url, bodies, users=args.users, duration=max(args.duration, 30)
            )
            row.page = f"session log POST, {args.users} patients thinking 2–5 s (a connection each)"
            rows.append(row)
            print(f"  {row.page}: {row.rps:.0f} req/s, p99 {row.p99_ms:.1f} ms", flush=True)
    duplicates, total = live.manage(env, "shell", "-c", DUPLICATES).split()[-2:]
    print(f"  session logs: {total} rows, {duplicates} (plan, day, session) with two rows")
    return rows


def print_table(title: str, rows: list[Row]) -> None:
    anchor = rows[0].rps
    print(f"\n{title}")
    print("| page | req/s | p50 ms | p99 ms | non-2xx/3xx | ratio to anchor |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row.page} | {row.rps:,.0f} | {row.p50_ms:.1f} | {row.p99_ms:.1f} | {row.bad} "
            f"| {100 * row.rps / anchor:.1f} % |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--patients", type=int, default=8)
    parser.add_argument(
        "--users", type=int, default=100, help="patients with think time for the last row (0: skip)"
    )
    parser.add_argument("--conn-max-age", default=None, help="DATABASE_CONN_MAX_AGE to run with")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench/portal.py needs wrk: apt-get install wrk (or make system-packages)")

    with tempfile.TemporaryDirectory(prefix="rehabit-bench-") as tmp:
        folder = Path(tmp)
        static = folder / "static"
        live.collect_static(static)
        databases = ["sqlite", "postgres"] if args.db == "both" else [args.db]
        for db in databases:
            site = folder / db
            site.mkdir()
            if db == "sqlite":
                url = f"sqlite:///{site / 'rehabit.sqlite3'}"
            else:
                url = POSTGRES.rsplit("/", 1)[0] + f"/{BENCH_DB}"
                _postgres(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
                _postgres(f'CREATE DATABASE "{BENCH_DB}"')
            env = live.base_env(url, site / "media", static)
            if args.conn_max_age is not None:
                env["DATABASE_CONN_MAX_AGE"] = args.conn_max_age
            try:
                live.manage(env, "migrate", "--noinput", "-v", "0")
                print(f"{db}: load average {os.getloadavg()[0]:.1f} at start", flush=True)
                started = time.monotonic()
                rows = run_site(env, site, args)
                load = os.getloadavg()[0]
                print_table(
                    f"{db}, {args.workers} workers, {args.connections} connections, "
                    f"{args.duration} s a page (load average {load:.1f}, "
                    f"{time.monotonic() - started:.0f} s)",
                    rows,
                )
            finally:
                if db == "postgres":
                    _postgres(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def _postgres(sql: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(sql)


if __name__ == "__main__":
    main()
