"""Sending runs to the workers. A message carries only the run id.

Runs are claimed (row-locked), published, and only then marked `dispatched_at`, all in one
transaction: if the broker refuses a message, or the process dies while publishing, the
unsent runs are still unmarked (the transaction rolls back on death) and the next tick, any
other scheduler, or the sweeper sends them. A message sent twice is harmless: the worker's
claim runs a run once."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from automations.models import AutomationRun
from config.celery import app as celery_app

logger = logging.getLogger(__name__)

EXECUTE_TASK = "automations.execute_run"
PUBLISH_BATCH = 500


def publish_ids(task: str, ids: list[int]) -> list[int]:
    """Put one `task(id)` message per id on the broker; return the ids that went out (a
    prefix of `ids`: publishing stops at the first broker failure)."""
    run_ids = ids
    sent: list[int] = []
    if not run_ids:
        return sent
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
                        celery_app.send_task(task, args=[run_id], producer=producer, queue=queue)
                sent.extend(chunk)
    except Exception as exc:  # any broker failure: the rest stay unsent, and are sent later
        logger.warning(
            "broker refused %d %s message(s) (%s: %s); they are sent again later",
            len(run_ids) - len(sent),
            task,
            type(exc).__name__,
            exc,
        )
    return sent


def _claim_publish_mark(claimable, *, now: datetime, limit: int, order: str) -> list[int]:
    with transaction.atomic():
        ids = list(
            claimable.select_for_update(skip_locked=True)
            .order_by(order)
            .values_list("pk", flat=True)[:limit]
        )
        sent = publish_ids(EXECUTE_TASK, ids)
        if sent:
            AutomationRun.objects.filter(pk__in=sent).update(dispatched_at=now)
    return sent


def runs_send(run_ids: Iterable[int]) -> int:
    """Send these runs now, if they are still pending and unsent."""
    now = timezone.now()
    claimable = AutomationRun.objects.filter(
        pk__in=list(run_ids), status=AutomationRun.Status.PENDING, dispatched_at__isnull=True
    )
    return len(_claim_publish_mark(claimable, now=now, limit=1000, order="pk"))


def runs_dispatch_due(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Claim pending runs that are due and not yet sent, and send them. Safe with several
    schedulers: rows are claimed with SKIP LOCKED (PostgreSQL) or under SQLite's single
    writer lock."""
    now = now or timezone.now()
    claimable = AutomationRun.objects.filter(
        status=AutomationRun.Status.PENDING, dispatched_at__isnull=True, scheduled_for__lte=now
    )
    return len(_claim_publish_mark(claimable, now=now, limit=limit, order="scheduled_for"))


def runs_resend_stale(
    *, now: datetime | None = None, older_than_seconds: int, limit: int = 1000
) -> int:
    """Send again pending runs whose message went out long ago and was never taken (lost with
    a crashed broker or worker)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=older_than_seconds)
    # Sent "in the future": before the clock stepped back. Sending it again is harmless (a
    # worker claims a run once), waiting for the clock to catch up is not.
    future = now + timedelta(seconds=older_than_seconds)
    claimable = AutomationRun.objects.filter(
        Q(status=AutomationRun.Status.PENDING)
        & (Q(dispatched_at__lt=cutoff) | Q(dispatched_at__gt=future))
    )
    sent = _claim_publish_mark(claimable, now=now, limit=limit, order="dispatched_at")
    if sent:
        logger.warning("re-sent %d run(s) pending since before %s", len(sent), cutoff)
    return len(sent)
