"""Celery signal receivers that start and stop the heartbeat thread in beat and worker
processes (connected from AutomationsConfig.ready, so every process that loads Django has
them; a web process never gets these signals)."""

from __future__ import annotations

from celery import signals
from django.conf import settings

from automations.models import ProcessHeartbeat
from automations.ops import heartbeats


@signals.worker_ready.connect
def _worker_ready(**kwargs) -> None:
    heartbeats.start_thread(
        kind=ProcessHeartbeat.Kind.WORKER, every=settings.WORKER_HEARTBEAT_SECONDS
    )


@signals.worker_shutdown.connect
def _worker_shutdown(**kwargs) -> None:
    heartbeats.stop_thread(remove=True)


@signals.beat_init.connect
def _beat_init(**kwargs) -> None:
    # The beat's heartbeat is written by its tick; this thread only evaluates the alerts.
    heartbeats.start_thread(kind=None, every=settings.WORKER_HEARTBEAT_SECONDS)
