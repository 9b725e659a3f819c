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
from automations.models import Automation, AutomationDraft, AutomationRun, IdempotencyRecord
from config.batching import in_batches

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


RUN_REMOVED = "Removed after the retention period."
_KEEP_DELIVERY = ("kind", "channel", "status", "attempts", "permanent")
_LAST_ERROR = "Last error:"


def _redact_deliveries(deliveries) -> list:
    """Per channel: kind, channel name, status, attempts; not the detail or error text (which
    quote what the receiver answered). Marked, so the next purge skips the row."""
    if not isinstance(deliveries, list):
        return []
    return [
        {**{k: d[k] for k in _KEEP_DELIVERY if k in d}, "redacted": True}
        for d in deliveries
        if isinstance(d, dict)
    ]


def runs_purge_expired(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Drop what can name candidates from runs finished before the retention period: trigger
    data (the canonical event), summaries, error messages and per-channel details. Kept: ids,
    key, status, times, counts, the output hash, the error code.

    Only finished runs: a run still pending (a relative run waiting for an interview weeks
    away, or a retry) keeps its trigger_data until it finishes, because its skill needs it;
    it is purged at the first purge after the retention period following its end."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.RETENTION_HOURS)
    todo = AutomationRun.objects.filter(
        finished_at__lt=cutoff, status__in=AutomationRun.FINISHED
    ).filter(
        ~Q(output_summary="")
        | ~Q(trigger_data={})
        | (~Q(error_message="") & ~Q(error_message=RUN_REMOVED))
        | (~Q(deliveries=[]) & ~Q(deliveries__0__has_key="redacted"))
    )

    def redact(pks: list[int]) -> int:
        rows = list(
            AutomationRun.objects.filter(pk__in=pks).only("pk", "deliveries", "error_message")
        )
        for run in rows:
            run.output_summary = ""
            run.trigger_data = {}
            run.error_message = RUN_REMOVED if run.error_message else ""
            run.deliveries = _redact_deliveries(run.deliveries)
        fields = ["output_summary", "trigger_data", "error_message", "deliveries"]
        AutomationRun.objects.bulk_update(rows, fields)
        return len(rows)

    return in_batches(todo, redact, batch_size=batch_size)


def automations_purge_expired_reasons(*, now: datetime | None = None) -> int:
    """An automation the engine paused says why, quoting its last run's error (which can
    quote a receiver's answer); past the retention period the quote goes, the reason stays."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.RETENTION_HOURS)
    rows = list(
        Automation.objects.filter(updated_at__lt=cutoff, paused_reason__contains=_LAST_ERROR).only(
            "pk", "paused_reason"
        )[:1000]
    )
    for automation in rows:
        head = automation.paused_reason.split(_LAST_ERROR, 1)[0].strip()
        automation.paused_reason = f"{head} The last error was {RUN_REMOVED.lower()}"[:300]
    Automation.objects.bulk_update(rows, ["paused_reason"])
    return len(rows)


def idempotency_purge_expired(*, now: datetime | None = None) -> int:
    """The API's stored Idempotency-Key answers (automations/api/idempotency.py) past
    API_IDEMPOTENCY_HOURS: a retry after that is a new request."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def drafts_purge_expired(*, now: datetime | None = None) -> int:
    """Plain-English drafts past their expiry, confirmed or not: what a person typed is
    theirs, and a confirmed draft's automation keeps everything it needs."""
    now = now or timezone.now()
    deleted, _ = AutomationDraft.objects.filter(expires_at__lt=now).delete()
    return deleted


def purge_expired_data(*, now: datetime | None = None) -> int:
    """The one retention purge (the `automations.purge_expired_data` task): every app's copies
    of personal data past RETENTION_HOURS. Returns rows changed."""
    from automations.ops.alerts import alerts_purge_resolved
    from automations.ops.heartbeats import heartbeats_purge_stale
    from delivery.retention import delivery_purge_expired
    from webhooks.retention import webhooks_purge_expired

    now = now or timezone.now()
    return (
        runs_purge_expired(now=now)
        + automations_purge_expired_reasons(now=now)
        + delivery_purge_expired(now=now)
        + webhooks_purge_expired(now=now)
        + idempotency_purge_expired(now=now)
        + drafts_purge_expired(now=now)
        # Not personal data, only kept tidy: heartbeats of dead processes, old alerts.
        + heartbeats_purge_stale(now=now)
        + alerts_purge_resolved(now=now)
    )
