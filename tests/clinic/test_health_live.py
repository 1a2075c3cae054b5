"""/healthz from a running server whose database does not answer: 503, never a 500."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.mark.parametrize(
    "database_url",
    [
        # A port where nothing listens.
        pytest.param("postgres://postgres@127.0.0.1:{dead}/test", id="postgres-port-closed"),
        # An SQLite file in a folder that does not exist.
        pytest.param("sqlite:///{tmp}/missing/folder/db.sqlite3", id="sqlite-unopenable"),
    ],
)
def test_it_answers_503_naming_the_database(tmp_path, database_url):
    port, dead = free_port(), free_port()
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "health-test-only",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url.format(dead=dead, tmp=tmp_path),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "1",
            "clinic.wsgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, headers, body = get(f"http://127.0.0.1:{port}/healthz")
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert status == 503, stderr.decode()[-2000:]
    answer = json.loads(body)
    # Uploads and handouts are kept in the database by default: no database, no media.
    assert answer["failing"] == ["database", "migrations", "worker", "media"]
    assert answer["checks"]["database"] == "failing: no answer"
    assert answer["checks"]["media"] == "failing: database unavailable"
    assert headers["Retry-After"] == "30"
    assert "no-store" in headers["Cache-Control"]
