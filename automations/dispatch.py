"""Sending runs to the workers. A message carries only the run id. A run is marked with
`dispatched_at` before its message goes out and unmarked if the broker refuses it, so a run
whose message could not be sent is sent again (next tick, or the sweeper), never lost."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from automations.models import AutomationRun
from config.celery import app as celery_app

logger = logging.getLogger(__name__)

EXECUTE_TASK = "automations.execute_run"
PUBLISH_BATCH = 500


def _publish(run_ids: list[int]) -> int:
    """Put one message per run on the broker. Returns how many went out; the rest are
    unmarked so they are sent again later."""
    if not run_ids:
        return 0
    sent = 0
    try:
        # A fresh connection from the current settings rather than the pooled producer, so
        # a broker that comes back (or is reconfigured) is picked up at once.
        with celery_app.connection_for_write() as conn:
            producer = celery_app.amqp.Producer(conn)
            queue = celery_app.conf.task_default_queue
            # Pipelined on Redis (one round trip per PUBLISH_BATCH messages); transports
            # without batching publish each message at once.
            for start in range(0, len(run_ids), PUBLISH_BATCH):
                chunk = run_ids[start : start + PUBLISH_BATCH]
                with producer.batch(PUBLISH_BATCH):
                    for run_id in chunk:
                        celery_app.send_task(
                            EXECUTE_TASK, args=[run_id], producer=producer, queue=queue
                        )
                sent += len(chunk)
    except Exception as exc:  # any broker failure: keep the runs, send them later
        unsent = run_ids[sent:]
        AutomationRun.objects.filter(pk__in=unsent, status=AutomationRun.Status.PENDING).update(
            dispatched_at=None
        )
        logger.warning(
            "broker refused %d run message(s) (%s: %s); they stay pending and are sent again",
            len(unsent),
            type(exc).__name__,
            exc,
        )
    return sent


def runs_send(run_ids: Iterable[int]) -> int:
    """Send these runs now, if they are still pending."""
    ids = list(run_ids)
    now = timezone.now()
    pending = list(
        AutomationRun.objects.filter(pk__in=ids, status=AutomationRun.Status.PENDING).values_list(
            "pk", flat=True
        )
    )
    AutomationRun.objects.filter(pk__in=pending).update(dispatched_at=now)
    return _publish(pending)


def runs_dispatch_due(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Claim pending runs that are due and not yet sent, and send them. Safe with several
    schedulers: rows are claimed with SKIP LOCKED (PostgreSQL) or under SQLite's single
    writer lock."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            AutomationRun.objects.select_for_update(skip_locked=True)
            .filter(
                status=AutomationRun.Status.PENDING,
                dispatched_at__isnull=True,
                scheduled_for__lte=now,
            )
            .order_by("scheduled_for")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            AutomationRun.objects.filter(pk__in=ids).update(dispatched_at=now)
    return _publish(ids)


def runs_resend_stale(
    *, now: datetime | None = None, older_than_seconds: int, limit: int = 1000
) -> int:
    """Send again pending runs whose message went out long ago and was never taken (lost with
    a crashed broker or worker). A duplicate message is harmless: the claim runs it once."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=older_than_seconds)
    with transaction.atomic():
        ids = list(
            AutomationRun.objects.select_for_update(skip_locked=True)
            .filter(status=AutomationRun.Status.PENDING, dispatched_at__lt=cutoff)
            .order_by("dispatched_at")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            AutomationRun.objects.filter(pk__in=ids).update(dispatched_at=now)
    if ids:
        logger.warning("re-sending %d run(s) pending since before %s", len(ids), cutoff)
    return _publish(ids)
