"""Periodic housekeeping: send runs that were never sent, take back runs whose worker died,
and purge what the retention period says we must not keep."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from automations.dispatch import runs_dispatch_due, runs_resend_stale
from automations.engine import run_fail_attempt
from automations.models import AutomationRun

logger = logging.getLogger(__name__)


def runs_sweep_pending(*, now: datetime | None = None) -> int:
    """Send pending runs left unsent (the broker was down) or sent long ago and never taken.
    Returns how many messages went out."""
    now = now or timezone.now()
    sent = runs_dispatch_due(now=now)
    sent += runs_resend_stale(now=now, older_than_seconds=settings.RUN_RESEND_AFTER_SECONDS)
    return sent


def runs_reap_stuck(
    *, now: datetime | None = None, older_than_seconds: int | None = None, limit: int = 500
) -> int:
    """Runs still `running` well past the run timeout lost their worker (killed, OOM, machine
    gone): the worker kills a run at the timeout, so one still running a minute later has no
    worker. Count it as a failed attempt: retried with backoff, or failed for good."""
    now = now or timezone.now()
    if older_than_seconds is None:
        older_than_seconds = settings.RUN_TIMEOUT_SECONDS + 60
    cutoff = now - timedelta(seconds=older_than_seconds)
    stuck = list(
        AutomationRun.objects.select_related("automation")
        .filter(status=AutomationRun.Status.RUNNING, started_at__lt=cutoff)
        .order_by("started_at")[:limit]
    )
    for run in stuck:
        outcome = run_fail_attempt(
            run=run,
            code="worker_lost",
            message="The worker running this run stopped before it finished "
            f"(still running after {settings.RUN_TIMEOUT_SECONDS} s).",
            retryable=True,
            deliveries=run.deliveries or [],
        )
        logger.warning("reaped run %s (started %s): now %s", run.pk, run.started_at, outcome)
    return len(stuck)


def runs_purge_expired(*, now: datetime | None = None) -> int:
    """Drop summaries and trigger data (which can name candidates) of runs finished before
    the retention period."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.RETENTION_HOURS)
    return (
        AutomationRun.objects.filter(finished_at__lt=cutoff)
        .filter(~Q(output_summary="") | ~Q(trigger_data={}))
        .update(output_summary="", trigger_data={})
    )
