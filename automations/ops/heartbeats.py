"""Heartbeats: each beat and worker process writes a ProcessHeartbeat row, so /status and
the alerts can tell a dead scheduler or an empty worker pool from a quiet one.

- The beat writes from its tick (AutomationScheduler.tick calls `beat_heartbeat`), at most
  every BEAT_HEARTBEAT_SECONDS: the row proves the tick loop turns, not only that the process
  exists.
- A worker's main process writes from a daemon thread started on `worker_ready` (its pool
  children run tasks and may all be busy for minutes; the main process is the pool's
  manager), and deletes its row on a warm shutdown.
- Both kinds of process also run the alert evaluator every ALERT_EVALUATE_SECONDS from that
  thread, under a lease row, so the alerts fire when the beat is the part that died (the
  beat's own thread evaluates "the workers are not keeping up").

Never fatal: a heartbeat that cannot be written (database down) is logged and tried again;
it must never stop the beat or a worker.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.db.models import Q
from django.utils import timezone

from automations.models import ProcessHeartbeat

logger = logging.getLogger(__name__)

BEAT_HEARTBEAT_SECONDS = 5.0
LEASE_NAME = "lease:alert-evaluator"

_beat_last = 0.0
_started_at: datetime | None = None


def process_name() -> str:
    """hostname:pid, the row's unique name (no personal data: a machine and a number)."""
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


def heartbeat_write(*, kind: str, now: datetime | None = None) -> None:
    """Upsert this process's row (one UPDATE when it exists)."""
    global _started_at
    now = now or timezone.now()
    if _started_at is None:
        _started_at = now
    name = process_name()
    if not ProcessHeartbeat.objects.filter(name=name).update(last_seen_at=now, kind=kind):
        ProcessHeartbeat.objects.update_or_create(
            name=name, defaults={"kind": kind, "last_seen_at": now, "started_at": _started_at}
        )


def heartbeat_remove() -> None:
    ProcessHeartbeat.objects.filter(name=process_name()).delete()


def beat_heartbeat() -> None:
    """From the beat's tick: at most every BEAT_HEARTBEAT_SECONDS, errors swallowed."""
    global _beat_last
    if time.monotonic() - _beat_last < BEAT_HEARTBEAT_SECONDS:
        return
    _beat_last = time.monotonic()
    try:
        heartbeat_write(kind=ProcessHeartbeat.Kind.BEAT)
    except DatabaseError:
        logger.warning("could not write the beat's heartbeat; trying again shortly")
        close_old_connections()


def lease_take(*, now: datetime | None = None, seconds: float) -> bool:
    """True for the one process that may evaluate the alerts now: a compare-and-set on the
    lease row's time, so several workers and beats evaluate once per period between them."""
    now = now or timezone.now()
    ProcessHeartbeat.objects.get_or_create(
        name=LEASE_NAME,
        defaults={
            "kind": ProcessHeartbeat.Kind.LEASE,
            "started_at": now,
            "last_seen_at": now - timedelta(days=1),
        },
    )
    # A little under the period, so the process that took it last time can take it again
    # on its next turn despite jitter. A lease taken more than a period in the future was
    # taken before the clock stepped back: free too, or no alert would be evaluated until
    # the clock caught up.
    cutoff = now - timedelta(seconds=seconds * 0.9)
    future = now + timedelta(seconds=seconds)
    return bool(
        ProcessHeartbeat.objects.filter(name=LEASE_NAME)
        .filter(Q(last_seen_at__lte=cutoff) | Q(last_seen_at__gt=future))
        .update(last_seen_at=now)
    )


def heartbeats_purge_stale(*, now: datetime) -> int:
    """Rows of processes not seen for a day (killed without a warm shutdown)."""
    deleted, _ = (
        ProcessHeartbeat.objects.exclude(kind=ProcessHeartbeat.Kind.LEASE)
        .filter(last_seen_at__lt=now - timedelta(days=1))
        .delete()
    )
    return deleted


class HeartbeatThread(threading.Thread):
    """Writes this process's heartbeat every `every` seconds (kind None: none, the beat
    writes its own from the tick) and evaluates the alerts every ALERT_EVALUATE_SECONDS when
    it takes the lease."""

    def __init__(self, *, kind: str | None, every: float) -> None:
        super().__init__(name=f"skillomatic-heartbeat-{kind or 'alerts'}", daemon=True)
        self.kind = kind
        self.every = max(1.0, every)
        self.stopping = threading.Event()

    def run(self) -> None:
        evaluate_every = settings.ALERT_EVALUATE_SECONDS
        next_evaluation = time.monotonic() + min(evaluate_every, self.every)
        while not self.stopping.is_set():
            try:
                if self.kind:
                    heartbeat_write(kind=self.kind)
                if evaluate_every > 0 and time.monotonic() >= next_evaluation:
                    next_evaluation = time.monotonic() + evaluate_every
                    if lease_take(seconds=evaluate_every):
                        from automations.ops.alerts import alerts_evaluate

                        alerts_evaluate()
            except Exception:  # the database is down, or a rule broke: never the thread
                logger.exception("heartbeat/alert evaluation failed; trying again shortly")
                close_old_connections()
            self.stopping.wait(self.every)
        connection.close()

    def stop(self) -> None:
        self.stopping.set()


_thread: HeartbeatThread | None = None


def start_thread(*, kind: str | None, every: float) -> HeartbeatThread:
    global _thread
    if _thread is None or not _thread.is_alive():
        _thread = HeartbeatThread(kind=kind, every=every)
        _thread.start()
    return _thread


def stop_thread(*, remove: bool) -> None:
    global _thread
    if _thread is not None:
        _thread.stop()
        _thread.join(timeout=5)
        _thread = None
    if remove:
        try:
            heartbeat_remove()
        except DatabaseError:
            logger.warning("could not remove this worker's heartbeat")
