"""Settings fail closed: each case imports clinic.settings in a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLEAN_ENV = {
    k: v
    for k, v in os.environ.items()
    if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "TIME_ZONE"}
}


def load_settings(**env: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import clinic.settings as s; "
        "print(s.DEBUG, s.DATABASES['default']['ENGINE'], ','.join(s.ALLOWED_HOSTS))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**CLEAN_ENV, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = load_settings(ALLOWED_HOSTS="example.org")
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


def test_it_refuses_to_start_without_allowed_hosts_when_debug_is_off():
    result = load_settings(SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS is required" in result.stderr


def test_it_keeps_debug_off_unless_asked():
    result = load_settings(SECRET_KEY="x" * 50, ALLOWED_HOSTS="example.org")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "False"


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_it_rejects_an_unclear_debug_value(value):
    result = load_settings(DEBUG=value)
    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr


def test_it_rejects_an_unknown_time_zone():
    result = load_settings(DEBUG="true", TIME_ZONE="Mars/Olympus")
    assert result.returncode != 0
    assert "is not a known time zone" in result.stderr


def test_it_uses_sqlite_by_default_and_postgres_from_database_url():
    result = load_settings(DEBUG="true")
    assert result.stdout.split()[1] == "django.db.backends.sqlite3"
    result = load_settings(DEBUG="true", DATABASE_URL="postgres://u@127.0.0.1:5432/rehabit")
    assert result.stdout.split()[1] == "django.db.backends.postgresql"


def test_it_prints_each_worker_log_line_once_in_debug():
    code = (
        "import os, django, logging; "
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'clinic.settings'; django.setup(); "
        "logging.getLogger('django.tasks').info('task line')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**CLEAN_ENV, "DEBUG": "true"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("task line") == 1
