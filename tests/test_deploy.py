"""The files in deploy/ fit the code: commands exist, the settings they imply pass
`check --deploy` without a single warning, gunicorn's config loads."""

from __future__ import annotations

import configparser
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    parser.read_string(path.read_text())
    return parser


def test_there_is_a_unit_for_the_web_server_the_worker_reminders_and_backups():
    names = {path.name for path in DEPLOY.joinpath("systemd").iterdir()}
    assert {
        "rehabit-web.service",
        "rehabit-worker.service",
        "rehabit-reminders.service",
        "rehabit-reminders.timer",
        "rehabit-backup.service",
        "rehabit-backup.timer",
    } <= names


@pytest.mark.parametrize("path", UNITS, ids=[p.name for p in UNITS])
def test_every_unit_runs_a_command_that_exists(path):
    commands = get_commands()
    # Several ExecStart lines in one oneshot unit: configparser keeps the last, so read all.
    for line in re.findall(r"^ExecStart=(.+)$", path.read_text(), flags=re.MULTILINE):
        if "manage.py" in line:
            name = line.split("manage.py", 1)[1].split()[0]
            assert name in commands, f"{path.name}: no manage.py {name}"
        elif "gunicorn" in line:
            config = line.split("-c", 1)[1].split()[0]
            assert (ROOT / config).is_file(), f"{path.name}: no {config}"
    service = unit(path)["Service"]
    assert service["UMask"] == "0077"
    assert service["User"] == "rehabit"


def test_the_gunicorn_config_listens_only_on_this_machine():
    config = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert config["bind"] == "127.0.0.1:8000"
    assert config["workers"] >= 3
    assert config["forwarded_allow_ips"] == "127.0.0.1"


def test_the_proxy_example_sends_the_scheme_and_redirects_to_https():
    conf = (DEPLOY / "nginx" / "rehabit.conf").read_text()
    assert "return 301 https://$host$request_uri;" in conf
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in conf
    assert "proxy_pass http://127.0.0.1:8000;" in conf


def test_the_settings_the_deploy_notes_give_pass_check_deploy_without_a_warning():
    # The browser tests' relaxation of Django's async guard is not a server's setting.
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
        "DEBUG": "false",
        "SECRET_KEY": "k3Yq-" + "x7Rb9mQ2vL8wZp4N" * 4,
        "ALLOWED_HOSTS": "rehab.example-clinic.org",
        "CSRF_TRUSTED_ORIGINS": "https://rehab.example-clinic.org",
        "SITE_URL": "https://rehab.example-clinic.org",
        "SECURE_PROXY_SSL_HEADER": "true",
        "SECURE_SSL_REDIRECT": "true",
        "SECURE_HSTS_SECONDS": "31536000",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
        "SECURE_HSTS_PRELOAD": "true",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "no issues" in done.stdout
