"""Database and disk faults, reproduced against Rehabit as production runs it
(gunicorn, DEBUG off, its own database; tests/live.py): each answers with a
friendly 503 and `Retry-After`, never a 400 or a 500, and loses no entry.

The faults are real: another SQLite writer holding the lock, a full disk (a small
tmpfs, mounted where the tests run as root, as `.ci/run` does; skipped with the
reason elsewhere), PostgreSQL connections terminated by the server, a database
server that does not answer.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import live

pytestmark = pytest.mark.live

POSTGRES = os.environ.get("FAULTS_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="module")
def static_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("static")
    live.collect_static(root)
    return root


def sqlite_site(folder: Path, static_root: Path, **env: str) -> tuple[dict[str, str], int, Path]:
    db = folder / "rehabit.sqlite3"
    site_env = live.base_env(f"sqlite:///{db}", folder / "media", static_root)
    site_env.update(env)
    plan_id = live.prepare_database(site_env)
    return site_env, plan_id, db


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A small file system of its own, to fill up."""
    with live.small_tmpfs(tmp_path / "disk", size="16m") as mount:
        yield mount


def assert_unavailable(reply: live.Reply) -> None:
    assert reply.status == 503, (reply.status, reply.text[:3000])
    assert reply.headers.get("Retry-After") == "30"


# --- SQLite held by another writer ---------------------------------------------------


def test_a_locked_sqlite_database_is_a_503_with_the_form_kept(tmp_path, static_root):
    # Rehabit waits 2 s here (SQLITE_BUSY_TIMEOUT; 20 s by default).
    env, plan_id, db = sqlite_site(tmp_path, static_root, SQLITE_BUSY_TIMEOUT="2")
    day = live.today_in(env)
    with live.gunicorn(env, tmp_path / "gunicorn.log") as server:
        browser = live.Browser(server.url)
        browser.sign_in()
        path = live.log_path(plan_id, day)
        data = live.filled_session_form(browser, path, "Knees fine, left calf tight")
        locker = sqlite3.connect(db, isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")
        try:
            pages = [browser.request(p) for p in ("/portal/", "/portal/plan/", "/portal/history/")]
            post = browser.request(path, data)
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        # Reads do not wait for the writer: they write nothing.
        assert [p.status for p in pages] == [200, 200, 200]
        # The write waited, then got the 503, with the patient's answers still on the page.
        assert_unavailable(post)
        assert "Knees fine, left calf tight" in post.text
        assert live.mentions(post.text, "could not be saved just now")
        assert live.count_rows(env) == 0
        # Once the writer is done, the same form is saved, once.
        assert browser.request(path, data).status == 302
        assert browser.request(path, data).status in {302, 400}
    assert live.count_rows(env) == 1


def test_a_short_hold_is_waited_out(tmp_path, static_root):
    env, plan_id, db = sqlite_site(tmp_path, static_root, SQLITE_BUSY_TIMEOUT="4")
    day = live.today_in(env)
    with live.gunicorn(env, tmp_path / "gunicorn.log") as server:
        browser = live.Browser(server.url)
        browser.sign_in()
        path = live.log_path(plan_id, day)
        data = live.filled_session_form(browser, path, "")
        locker = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        locker.execute("BEGIN IMMEDIATE")
        release = threading.Timer(1.5, lambda: locker.execute("ROLLBACK"))
        release.start()
        started = time.monotonic()
        reply = browser.request(path, data)
        waited = time.monotonic() - started
        release.join()
        locker.close()
    assert reply.status == 302, reply.text[:2000]
    assert waited >= 1.0
    assert live.count_rows(env) == 1


# --- SQLite on a full disk ------------------------------------------------------------


def test_a_full_disk_keeps_every_read_and_answers_writes_with_a_503(tmpfs, static_root, tmp_path):
    # Every request renews the session here (at most once a minute by default), so
    # that the reads below try to write it, and must not fail when they cannot.
    env, plan_id, _db = sqlite_site(tmpfs, static_root, SESSION_RENEW_SECONDS="0")
    day = live.today_in(env)
    with live.gunicorn(env, tmp_path / "gunicorn.log") as server:
        browser = live.Browser(server.url)
        browser.sign_in()
        path = live.log_path(plan_id, day)
        data = live.filled_session_form(browser, path, "Did it after work")
        live.fill_disk(tmpfs)
        pages = {
            p: browser.request(p).status
            for p in ("/portal/", "/portal/plan/", "/portal/history/", "/portal/settings/")
        }
        sign_in_page = live.Browser(server.url).request("/portal/login/")
        post = browser.request(path, data)
        (tmpfs / "filler").unlink()
        assert pages == dict.fromkeys(pages, 200)
        assert sign_in_page.status == 200
        assert_unavailable(post)
        assert "Did it after work" in post.text
        assert live.count_rows(env) == 0
        # Room again: saved.
        assert browser.request(path, data).status == 302
    assert live.count_rows(env) == 1
    log = server.log_text()
    assert "Internal Server Error" not in log
    assert "could not be saved" in log  # the failed renewals, logged


# --- PostgreSQL ------------------------------------------------------------------------


def _postgres(sql: str, database: str = "postgres") -> None:
    psycopg = pytest.importorskip("psycopg")
    url = POSTGRES.rsplit("/", 1)[0] + f"/{database}"
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
            conn.execute(sql)
    except psycopg.OperationalError as error:
        pytest.skip(f"no PostgreSQL server to test against: {error}")


@pytest.fixture
def postgres_site(tmp_path: Path, static_root: Path) -> Iterator[tuple[dict[str, str], str]]:
    name = f"rehabit_faults_{os.getpid()}"
    _postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _postgres(f'CREATE DATABASE "{name}"')
    url = POSTGRES.rsplit("/", 1)[0] + f"/{name}"
    env = live.base_env(url, tmp_path / "media", static_root)
    # Persistent connections, as production runs: a dropped one was a 500.
    env["DATABASE_CONN_MAX_AGE"] = "600"
    try:
        live.prepare_database(env)
        yield env, name
    finally:
        _postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_terminated_postgres_connections_are_replaced(postgres_site, tmp_path):
    env, name = postgres_site
    with live.gunicorn(env, tmp_path / "gunicorn.log", workers=2) as server:
        browser = live.Browser(server.url)
        browser.sign_in()
        assert [browser.request("/portal/").status for _ in range(4)] == [200] * 4
        _postgres(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "  # noqa: S608
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )
        after = [browser.request("/portal/").status for _ in range(4)]
    assert after == [200] * 4, server.log_text()[-3000:]


def test_an_unreachable_database_is_a_503_logged_once(tmp_path, static_root):
    url = f"postgres://postgres@127.0.0.1:{live.free_port()}/nowhere"
    env = live.base_env(url, tmp_path / "media", static_root)
    with live.gunicorn(env, tmp_path / "gunicorn.log") as server:
        reply = live.Browser(server.url).request(
            "/portal/", headers={"Cookie": "sessionid=abcdefghijklmnopqrstuvwxyz012345"}
        )
        time.sleep(0.5)
    assert_unavailable(reply)
    assert live.mentions(reply.text, "Rehabit is busy for a moment", "try again in a minute")
    log = server.log_text()
    assert log.count("Service Unavailable: /portal/") == 1, log
    assert "connection" in log.lower()
