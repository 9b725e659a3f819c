"""The fault suite's stack: real PostgreSQL and Redis of its own (tests/faults/__main__.py),
two worker processes, two beats and gunicorn, with the product's recovery loops turned to
seconds (sweeper, reaper, resend) so a recovery is seen within a test."""

from __future__ import annotations

import os
import time

import pytest
from django.db import OperationalError, close_old_connections

from tests.faults.invariants import CountingListener, Figures
from tests.live import Stack

REPORT: list[Figures] = []


def pytest_collection_modifyitems(config, items):
    if os.environ.get("FAULT_PG_DIR"):
        return
    skip = pytest.mark.skip(reason="FAULT SUITE SKIPPED: run it with `make faults`")
    for item in items:
        item.add_marker(skip)


def pytest_terminal_summary(terminalreporter):
    if not REPORT:
        return
    terminalreporter.section("fault suite invariants (lost, duplicates, stuck, unexplained: 0)")
    for figures in REPORT:
        terminalreporter.write_line(figures.line())


def record(figures: Figures) -> Figures:
    REPORT.append(figures)
    print(figures.line())
    return figures


def db_retry(predicate):
    """A wait_for predicate that survives the database going away under it."""

    def attempt():
        try:
            return predicate()
        except OperationalError:
            close_old_connections()
            from django.db import connection

            connection.close()
            return False

    return attempt


@pytest.fixture
def listener():
    server = CountingListener()
    yield server
    server.stop()


@pytest.fixture
def stack(celery_queue, tmp_path, settings):
    live = Stack(queue=celery_queue, smtp_port=1, tmp=tmp_path)
    live.env.update(
        MAINTENANCE_EVERY_SECONDS="3",
        RUN_RESEND_AFTER_SECONDS="10",
        # Above a hanging channel's three 3 s tries; the reaper takes back a dead worker's run
        # after this + 60 s.
        RUN_TIMEOUT_SECONDS="20",
        ALLOWED_OUTBOUND_HOSTS="127.0.0.1",
        OUTBOUND_TOTAL_TIMEOUT="3",
        OUTBOUND_READ_TIMEOUT="3",
        SCHEDULER_BATCH_SIZE="20",
        INBOUND_CLAIM_LEASE_SECONDS="10",
        DB_CONNECT_TIMEOUT="2",
        DB_CONN_MAX_AGE="0",
    )
    settings.ALLOWED_OUTBOUND_HOSTS = ["127.0.0.1"]
    yield live
    live.stop()


def settle(seconds: float) -> None:
    """Lets the recovery loops turn a few more times before the invariants are counted (a
    duplicate would show up in this window)."""
    time.sleep(seconds)
