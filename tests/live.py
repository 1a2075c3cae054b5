"""Rehabit as production runs it, for the fault tests and the benchmarks: its own
database (an SQLite file or a PostgreSQL database), DEBUG off, collected static
files with the manifest storage, and gunicorn serving it on a free loopback port.

Nothing here is imported by the apps.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
PATIENT_EMAIL = "paula@example.org"
PATIENT_PASSWORD = "patient-pass-123"

# The rows the fault tests and benchmarks need, made with the test factories.
SEED = """
import datetime
from clinic.scoping import unscoped
from tests import factories
with unscoped():
    clinic = factories.make_clinic("Riverside Physio")
    therapist = factories.make_therapist(clinic, email="tess@example.org")
    patient = factories.make_patient(
        clinic, therapist, with_login=True, email="%(email)s", first_name="Paula",
        last_name="Reed",
    )
    exercises = [factories.make_exercise(None) for _ in range(6)]
    start = clinic.today() - datetime.timedelta(days=20)
    plan = factories.make_plan(patient, therapist, exercises, start_date=start)
    print(plan.pk)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def base_env(database_url: str, media_root: Path, static_root: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE", "PYTEST", "SQLITE"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="clinic.settings",
        DEBUG="false",
        SECRET_KEY="live-server-tests-only",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_COOKIES="false",
        DATABASE_URL=database_url,
        MEDIA_ROOT=str(media_root),
        STATIC_ROOT=str(static_root),
        TASKS_BACKEND="django.tasks.backends.immediate.ImmediateBackend",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    return env


def manage(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def collect_static(static_root: Path) -> None:
    env = base_env("sqlite:///:memory:", static_root.parent / "unused-media", static_root)
    manage(env, "collectstatic", "--noinput", "-v", "0")


def prepare_database(env: dict[str, str]) -> int:
    """Migrate and seed; the plan's id."""
    manage(env, "migrate", "--noinput", "-v", "0")
    out = manage(env, "shell", "-c", SEED % {"email": PATIENT_EMAIL})
    return int(out.strip().splitlines()[-1])


@dataclass
class Server:
    url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def gunicorn(
    env: dict[str, str], log: Path, *, workers: int = 1, timeout: int = 30
) -> Iterator[Server]:
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                GUNICORN,
                "clinic.wsgi",
                f"--bind=127.0.0.1:{port}",
                f"--workers={workers}",
                f"--timeout={timeout}",
                "--worker-class=sync",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", env, process, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start:\n{server.log_text()}") from None
                time.sleep(0.2)
        yield server
    finally:
        server.stop()


# --- A small browser -----------------------------------------------------------------


class _Form(HTMLParser):
    """The fields of the first form on a page: name -> value; for radio groups and
    selects, the last choice (on the session form: every set done)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in {"checkbox"} and "checked" not in a:
                return
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
        elif tag == "option" and self._select:
            self.fields[self._select] = a.get("value", "")
        elif tag == "textarea" and a.get("name"):
            self.fields[a["name"]] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str
    content: bytes = b""


@dataclass
class Browser:
    base: str
    jar: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)

    def __post_init__(self) -> None:
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: object, **kwargs: object) -> None:
                return None

        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect()
        )

    def request(
        self,
        path: str,
        data: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        *,
        body: bytes | None = None,
    ) -> Reply:
        """GET, or POST `data` as a form (or `body` as it is, with its own Content-Type)."""
        if data is not None:
            body = urllib.parse.urlencode(data).encode()
        request = urllib.request.Request(self.base + path, data=body, headers=headers or {})  # noqa: S310
        if body is not None:
            request.add_header("Referer", self.base + path)
        try:
            with self.opener.open(request, timeout=60) as response:
                content = response.read()
                text = content.decode(errors="replace")
                return Reply(response.status, dict(response.headers), text, content)
        except urllib.error.HTTPError as error:
            content = error.read()
            return Reply(error.code, dict(error.headers), content.decode(errors="replace"), content)

    def form(self, path: str) -> dict[str, str]:
        reply = self.request(path)
        assert reply.status == 200, (path, reply.status, reply.text[:500])
        parser = _Form()
        parser.feed(reply.text)
        return parser.fields

    def sign_in(self, email: str = PATIENT_EMAIL, password: str = PATIENT_PASSWORD) -> None:
        fields = self.form("/portal/login/")
        reply = self.request(
            "/portal/login/",
            {**fields, "username": email, "password": password},
        )
        assert reply.status == 302, reply.text[:2000]


def log_path(plan_id: int, day: str) -> str:
    return f"/portal/log/{plan_id}/{day}/1/"


def filled_session_form(browser: Browser, path: str, comment: str) -> dict[str, str]:
    fields = browser.form(path)
    fields.update(pain="3", nerve_symptoms="none", effort="about_right", comment=comment)
    fields.pop("symptoms_lasted", None)
    return fields


@contextmanager
def small_tmpfs(mount: Path, size: str) -> Iterator[Path]:
    """A small file system of its own at `mount` (a new folder), to fill up. A test
    that uses it is skipped, with the reason, where it cannot be mounted: it needs
    root, as `.ci/run` runs the tests."""
    import pytest  # here, not at the top: the benchmarks use this module too

    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small tmpfs to fill (.ci/run runs as root)")
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)  # noqa: S607


def fill_disk(folder: Path, leave_bytes: int = 0) -> None:
    """Fill the file system under `folder` until `leave_bytes` are left."""
    free = shutil.disk_usage(folder).free - leave_bytes
    with (folder / "filler").open("wb") as f:
        chunk = b"\0" * 65536
        while free > 0:
            try:
                written = f.write(chunk[: min(len(chunk), free)])
                f.flush()
            except OSError:
                break
            free -= written


def today_in(env: dict[str, str]) -> str:
    return manage(
        env,
        "shell",
        "-c",
        "from clinic.scoping import unscoped\nfrom clinic.models import Clinic\n"
        "with unscoped(): print(Clinic.objects.get().today().isoformat())",
    ).split()[-1]


def count_rows(env: dict[str, str], model: str = "SessionLog") -> int:
    out = manage(
        env,
        "shell",
        "-c",
        f"from clinic.scoping import unscoped\nfrom prescriptions.models import {model}\n"
        f"with unscoped(): print({model}.objects.count())",
    )
    return int(out.split()[-1])


def mentions(text: str, *words: str) -> bool:
    flat = re.sub(r"\s+", " ", text)
    return all(word in flat for word in words)
