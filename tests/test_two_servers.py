"""More than one web server: two gunicorn servers on two ports, each with its own
empty media folder, sharing nothing but one PostgreSQL database (README, "More
than one server").

A logo uploaded through the first is served by the second; a handout rendered by
the first server's task worker is downloaded through the second (which is told
never to render one itself); a sign-in on one is valid on the other; failed
sign-ins on both count towards one lockout. Neither media folder gets a file.

Runs in the PostgreSQL run of `.ci/run` (skipped on SQLite, where a second
machine could not share the database file).
"""

from __future__ import annotations

import hashlib
import importlib
import io
import os
import re
import uuid
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from PIL import Image
from pypdf import PdfReader

from tests import live

pytestmark = [pytest.mark.live, pytest.mark.postgres]

ADMIN_EMAIL = "ada@example.org"
ADMIN_PASSWORD = "therapist-pass-123"
FAILURE_LIMIT = 3

ADD_CLINIC_ADMIN = f"""
from clinic.models import Clinic, Therapist
from clinic.scoping import unscoped
from tests import factories
with unscoped():
    clinic = Clinic.objects.get()
    factories.make_therapist(clinic, email="{ADMIN_EMAIL}", role=Therapist.Role.CLINIC_ADMIN)
    print(clinic.pk)
"""

QUEUE_RENDER = """
from clinic.scoping import unscoped
from prescriptions.models import Plan
from prescriptions.tasks import queue_render
with unscoped():
    queue_render(Plan.objects.get(pk=%d))
"""

STORED = """
import hashlib
from clinic.scoping import unscoped
from clinic.models import StoredFile
from prescriptions.models import Handout
with unscoped():
    for handout in Handout.objects.all():
        content = bytes(StoredFile.objects.get(name=handout.pdf.name).content)
        print("handout", handout.plan_id, hashlib.sha256(content).hexdigest())
"""


class ModelForm(HTMLParser):
    """What a browser would send back from the admin form `form_id`, unchanged:
    each field's current value (checked boxes, selected options, textarea text)."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._first_option: str | None = None
        self._selected = False
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        name = a.get("name", "")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in {"file", "submit", "button", "image"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in a:
                return
            self.fields.append((name, a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select" and name:
            self._select, self._first_option, self._selected = name, None, False
        elif tag == "option" and self._select:
            if self._first_option is None:
                self._first_option = a.get("value", "")
            if "selected" in a:
                self.fields.append((self._select, a.get("value", "")))
                self._selected = True
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields.append((name, ""))

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            name, text = self.fields[-1]
            self.fields[-1] = (name, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select:
            if not self._selected and self._first_option is not None:
                self.fields.append((self._select, self._first_option))
            self._select = None
        elif tag == "textarea":
            self._textarea = None


Files = dict[str, tuple[str, bytes, str]]


def multipart(fields: list[tuple[str, str]], files: Files) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields:
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        parts.append(f"{head}{value}\r\n".encode())
    for name, (filename, content, content_type) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
        )
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def logo_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 40), "#0b6e69").save(buffer, "PNG")
    return buffer.getvalue()


def admin_sign_in(browser: live.Browser) -> None:
    fields = browser.form("/admin/login/")
    reply = browser.request(
        "/admin/login/", {**fields, "username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert reply.status == 302, reply.text[:2000]


def portal_sign_in(browser: live.Browser, password: str) -> live.Reply:
    fields = browser.form("/portal/login/")
    return browser.request(
        "/portal/login/", {**fields, "username": live.PATIENT_EMAIL, "password": password}
    )


@pytest.fixture
def database_url() -> Iterator[str]:
    if connection.vendor != "postgresql":
        pytest.skip("two servers share a PostgreSQL database (the PostgreSQL run of .ci/run)")
    psycopg = pytest.importorskip("psycopg")
    s = connection.settings_dict
    auth = quote(s["USER"] or "postgres") + (f":{quote(s['PASSWORD'])}" if s["PASSWORD"] else "")
    server = f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}"
    name = f"rehabit_two_servers_{os.getpid()}"

    def run(sql: str) -> None:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(sql)

    run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    run(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_env(database_url: str, media: Path, static_root: Path) -> dict[str, str]:
    env = live.base_env(database_url, media, static_root)
    env.pop("MEDIA_STORAGE", None)  # the default: in the database
    env.update(
        TASKS_BACKEND="django_tasks_db.DatabaseBackend",
        # The web servers never render a handout: what they serve is the worker's.
        HANDOUT_WEB_RENDER_MAX_EXERCISES="0",
        AXES_FAILURE_LIMIT=str(FAILURE_LIMIT),
    )
    return env


def test_two_servers_share_files_sign_ins_and_lockouts(database_url, tmp_path):
    static_root = tmp_path / "static"
    live.collect_static(static_root)
    media_a, media_b = tmp_path / "media-a", tmp_path / "media-b"
    env_a = server_env(database_url, media_a, static_root)
    env_b = server_env(database_url, media_b, static_root)
    plan_id = live.prepare_database(env_a)
    clinic_id = int(live.manage(env_a, "shell", "-c", ADD_CLINIC_ADMIN).split()[-1])

    with (
        live.gunicorn(env_a, tmp_path / "a.log") as server_a,
        live.gunicorn(env_b, tmp_path / "b.log") as server_b,
    ):
        # A logo uploaded through the first server...
        admin_a = live.Browser(server_a.url)
        admin_sign_in(admin_a)
        change = f"/admin/clinic/clinic/{clinic_id}/change/"
        page = admin_a.request(change)
        assert page.status == 200, page.text[:2000]
        form = ModelForm("clinic_form")
        form.feed(page.text)
        body, content_type = multipart(
            [*form.fields, ("_continue", "1")], {"logo": ("logo.png", logo_png(), "image/png")}
        )
        saved = admin_a.request(change, headers={"Content-Type": content_type}, body=body)
        assert saved.status == 302, saved.text[:3000]

        # ...is shown by the second: its admin page links it, and it serves the bytes.
        admin_b = live.Browser(server_b.url, jar=admin_a.jar)
        shown = admin_b.request(change)
        assert shown.status == 200, "signed in on the first server, so on the second too"
        (logo_url,) = set(re.findall(r'href="(/media/clinics/logos/[^"]+)"', shown.text))
        logo = admin_b.request(logo_url)
        assert logo.status == 200
        assert logo.content == logo_png()

        # A handout rendered by the first server's task worker...
        live.manage(env_a, "shell", "-c", QUEUE_RENDER % plan_id)
        live.manage(env_a, "db_worker", "--batch", "--no-startup-delay")
        stored = live.manage(env_a, "shell", "-c", STORED).splitlines()
        (handout_line,) = [line for line in stored if line.startswith(f"handout {plan_id} ")]

        # ...is downloaded through the second, with the logo on its first page.
        patient_b = live.Browser(server_b.url)
        assert portal_sign_in(patient_b, live.PATIENT_PASSWORD).status == 302
        pdf = patient_b.request(f"/portal/plan/{plan_id}/handout/")
        assert pdf.status == 200, pdf.text[:2000]
        assert pdf.headers["Content-Type"] == "application/pdf"
        assert handout_line.split()[-1] == hashlib.sha256(pdf.content).hexdigest()
        assert PdfReader(io.BytesIO(pdf.content)).pages[0].images

        # A patient's sign-in on one server is valid on the other.
        patient_a = live.Browser(server_a.url, jar=patient_b.jar)
        assert patient_a.request("/portal/").status == 200

        # Failed sign-ins on both servers count towards one lockout: the third
        # locks, though neither server has seen three.
        stranger_a, stranger_b = live.Browser(server_a.url), live.Browser(server_b.url)
        assert portal_sign_in(stranger_a, "wrong-password").status == 200
        assert portal_sign_in(stranger_b, "wrong-password").status == 200
        assert portal_sign_in(stranger_a, "wrong-password").status == 429
        for browser in (stranger_a, stranger_b):
            refused = portal_sign_in(browser, live.PATIENT_PASSWORD)
            assert refused.status == 429, "the right password is refused while locked out"

    # Nothing was written to either server's disk.
    for media in (media_a, media_b):
        assert not media.exists() or not any(media.rglob("*")), list(media.rglob("*"))


CACHE_USES = re.compile(
    r"from django\.core\.cache import|from django\.core import cache|import django\.core\.cache"
    r"|cache_page|\{%\s*cache\b|caches\["
)


def test_nothing_relies_on_the_per_process_cache():
    """Django's cache is per process (LocMemCache): whatever relied on it would
    differ between servers. So nothing does: sessions and lockouts are rows. The
    one user, the portal's cached page fragments, keys each fragment by everything
    it shows (portal.fragments), so a server's own copy is the one any other server
    would render (tests/portal/test_fragments.py changes each input)."""
    from axes.conf import settings as axes_settings
    from django.conf import settings

    root = Path(__file__).resolve().parent.parent
    sources = [
        path
        for folder in ("clinic", "prescriptions", "portal", "templates")
        for path in (root / folder).rglob("*")
        if path.suffix in {".py", ".html", ".txt"}
    ]
    assert len(sources) > 100
    users = [str(p.relative_to(root)) for p in sources if CACHE_USES.search(p.read_text())]
    assert users == ["portal/fragments.py"]
    from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

    engine = importlib.import_module(settings.SESSION_ENGINE)
    assert issubclass(engine.SessionStore, DatabaseSessionStore)
    assert engine.SessionStore.get_model_class()._meta.db_table == "django_session"
    assert axes_settings.AXES_HANDLER == "axes.handlers.database.AxesDatabaseHandler"
