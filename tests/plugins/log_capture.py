"""The whole-suite leak check. Every log record of the test processes (each xdist worker and
the controller) is formatted by the real formatter (config.logs, JSON) into a file under one
capture folder; tests/live.Stack appends its processes' logs there when it stops. At the end
of the session the controller reads them all and fails the run if any line holds the test
settings' keys, a test secret (sk-test-secret-...) or a candidate's email address."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.log_leaks import patterns, scan

ENV = "SKILLOMATIC_LOG_CAPTURE_DIR"
# A full run writes far more; fewer means the capture itself is broken (a vacuous pass).
MIN_LINES_FULL_RUN = 100
FULL_RUN_TESTS = 200


def capture_dir() -> Path | None:
    value = os.environ.get(ENV)
    return Path(value) if value else None


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    # The controller makes the folder before xdist spawns workers, which inherit the variable.
    if not _is_worker(config) and ENV not in os.environ:
        os.environ[ENV] = tempfile.mkdtemp(prefix="skillomatic-logs-")
        config._log_capture_owner = True  # type: ignore[attr-defined]


class _CaptureHandler(logging.FileHandler):
    pass


def pytest_sessionstart(session: pytest.Session) -> None:
    folder = capture_dir()
    if folder is None:
        return
    import structlog

    from config.logs import formatter_config

    worker = getattr(session.config, "workerinput", {}).get("workerid", "main")
    handler = _CaptureHandler(folder / f"pytest-{worker}.log", encoding="utf-8")
    options = {k: v for k, v in formatter_config(debug=False).items() if k != "()"}
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(**options))
    logging.getLogger().addHandler(handler)
    session.config._log_capture_handler = handler  # type: ignore[attr-defined]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    handler = getattr(session.config, "_log_capture_handler", None)
    if handler is not None:
        logging.getLogger().removeHandler(handler)
        handler.close()
    if _is_worker(session.config):
        return
    folder = capture_dir()
    if folder is None:
        return
    from django.conf import settings

    checks = patterns(
        {
            "SECRET_KEY": settings.SECRET_KEY,
            "FIELD_ENCRYPTION_KEY": str(getattr(settings, "FIELD_ENCRYPTION_KEY", "") or ""),
        }
    )
    lines, leaks = scan(sorted(folder.glob("*.log")), checks)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")

    def say(text: str) -> None:
        if reporter is not None:
            reporter.write_line(text)

    for leak in leaks[:50]:
        say(f"log leak: {leak.kind} in {leak.path} line {leak.line}")
    if leaks:
        session.exitstatus = 1
    elif session.testscollected > FULL_RUN_TESTS and lines < MIN_LINES_FULL_RUN:
        say(f"log leak check: only {lines} log lines captured; the capture is broken")
        session.exitstatus = 1
    if not leaks:
        say(f"log leak check: {lines} log lines read, no secret or candidate email in them")
    if getattr(session.config, "_log_capture_owner", False) and not leaks:
        shutil.rmtree(folder, ignore_errors=True)
