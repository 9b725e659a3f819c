"""A deployment that forgets DEBUG, SECRET_KEY or FIELD_ENCRYPTION_KEY must not come up on
public development keys: settings refuse to load, saying how to make each key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.test import RequestFactory
from django.views.debug import get_default_exception_reporter_filter

ROOT = Path(__file__).resolve().parent.parent
GOOD_SECRET = "a-long-random-secret-key-for-this-test-only-0123456789"


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    """Load the real settings (config.settings, not the tests') in a fresh process with only
    the given environment."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


LOAD = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"


def test_debug_is_off_unless_asked_for():
    key = Fernet.generate_key().decode()
    out = _run(LOAD, SECRET_KEY=GOOD_SECRET, FIELD_ENCRYPTION_KEY=key)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({}, ["SECRET_KEY must be set when DEBUG=False", "FIELD_ENCRYPTION_KEY must be set"]),
        ({"FIELD_ENCRYPTION_KEY": "K"}, ["SECRET_KEY must be set", "not a valid Fernet key"]),
        ({"SECRET_KEY": GOOD_SECRET}, ["FIELD_ENCRYPTION_KEY must be set"]),
        ({"SECRET_KEY": GOOD_SECRET, "FIELD_ENCRYPTION_KEY": "not-a-key"}, ["not a valid"]),
        (
            {"SECRET_KEY": "short", "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode()},
            ["at least 32"],
        ),
        ({"DEBUG": "false"}, ["SECRET_KEY must be set", "FIELD_ENCRYPTION_KEY must be set"]),
    ],
    ids=[
        "nothing",
        "bad-fernet-no-secret",
        "no-fernet",
        "bad-fernet",
        "short-secret",
        "debug-false",
    ],
)
def test_production_refuses_to_start_without_usable_keys(env, says):
    out = _run(LOAD, **env)
    assert out.returncode != 0
    for text in says:
        assert text in out.stderr
    assert "Make one with: python -c" in out.stderr


def test_manage_check_refuses_too():
    out = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0 and "SECRET_KEY must be set when DEBUG=False" in out.stderr


def test_the_local_demo_still_runs_with_debug_on():
    out = _run(LOAD, DEBUG="true")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"


def test_error_reports_hide_connection_urls(settings):
    settings.DATABASE_URL = "postgres://app:hunter2@db.internal:5432/skillomatic"
    settings.REDIS_URL = "redis://:hunter3@cache.internal:6379/0"
    report_filter = get_default_exception_reporter_filter()
    shown = report_filter.get_safe_settings()
    assert "hunter2" not in str(shown) and "hunter3" not in str(shown)
    request = RequestFactory().get("/", REDIS_URL="redis://:hunter4@cache.internal:6379/0")
    assert "hunter4" not in str(report_filter.get_safe_request_meta(request))
