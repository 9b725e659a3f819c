"""What the webhooks app keeps past the retention period (RETENTION_HOURS): of each stored
event, only what dedupe and history need (its delivery id, types, status, times, the ids in
the canonical event and which automations it matched); never the candidate's name, email or
anything else a provider sent (the raw body, headers, the canonical event's other fields,
match reasons that can quote event values, error texts that can quote the body)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from config.batching import in_batches
from webhooks.models import AtsConnection, InboundEvent, WebhookRefusal

REDACTED = "redacted"
# Per canonical-event section, the fields that are ids, times or pipeline names: kept.
_KEEP = {
    "candidate": ("id",),
    "application": ("id", "job_id"),
    "interview": ("id", "start_at"),
    "stage": ("from", "to"),
}
_KEEP_TOP = ("type", "provider", "delivery_id", "occurred_at", "raw_type")
_KEEP_MATCH = ("automation", "matched", "run", "new", "cancelled")
EXPIRED_ERROR = "Removed after the retention period."


def redact_event(event: Any) -> dict:
    """The canonical event without personal data, marked so the purge skips it next time.
    delivery_id stays: a provider's id, a body hash, or for polled events one built from ids."""
    event = event if isinstance(event, dict) else {}
    out: dict[str, Any] = {key: event.get(key) for key in _KEEP_TOP if key in event}
    for section, keys in _KEEP.items():
        part = event.get(section)
        if isinstance(part, dict):
            out[section] = {key: part.get(key) for key in keys if key in part}
    out[REDACTED] = True
    return out


def redact_matches(matches: Any) -> list:
    """Which automation matched and which run it fired; the reasons (which quote filter
    values and event fields) go."""
    if not isinstance(matches, list):
        return []
    return [
        {key: m[key] for key in _KEEP_MATCH if key in m} for m in matches if isinstance(m, dict)
    ]


def _cutoff(now: datetime | None) -> datetime:
    return (now or timezone.now()) - timedelta(hours=settings.RETENTION_HOURS)


def inbound_purge_expired(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Redact events received before the retention cutoff; returns how many rows changed.

    An event still waiting to be processed keeps its canonical event (the table is the queue
    and the processor reads only that) but loses its raw body and headers; it is redacted in
    full at the first purge after it is processed."""
    cutoff = _cutoff(now)
    waiting = InboundEvent.objects.filter(
        received_at__lt=cutoff, status=InboundEvent.Status.RECEIVED
    ).filter(Q(raw_body__isnull=False) | ~Q(headers={}))
    done = in_batches(
        waiting,
        lambda pks: InboundEvent.objects.filter(pk__in=pks).update(raw_body=None, headers={}),
        batch_size=batch_size,
    )
    # Rows already redacted carry the marker in `event`; older purges only cleared raw_body.
    todo = (
        InboundEvent.objects.filter(received_at__lt=cutoff)
        .exclude(status=InboundEvent.Status.RECEIVED)
        .filter(Q(event__isnull=True) | ~Q(event__has_key=REDACTED))
    )

    def redact(pks: list[int]) -> int:
        rows = list(InboundEvent.objects.filter(pk__in=pks).only("pk", "event", "matches", "error"))
        for row in rows:
            row.event = redact_event(row.event)
            row.matches = redact_matches(row.matches)
            row.error = EXPIRED_ERROR if row.error else ""
            row.raw_body = None
            row.headers = {}
        # One statement per batch (CASE WHEN), not one per row.
        InboundEvent.objects.bulk_update(rows, ["event", "matches", "error", "raw_body", "headers"])
        return len(rows)

    return done + in_batches(todo, redact, batch_size=batch_size)


def connection_errors_purge_expired(*, now: datetime | None = None) -> int:
    """A connection's last error can quote an ATS API answer (candidate data)."""
    cutoff = _cutoff(now)
    return (
        AtsConnection.objects.filter(last_error_at__lt=cutoff)
        .exclude(last_error="")
        .exclude(last_error=EXPIRED_ERROR)
        .update(last_error=EXPIRED_ERROR)
    )


def refusals_purge_expired(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Refused deliveries are kept for the connection's health only as long as events are:
    deleted past the retention period, in bounded batches."""
    expired = WebhookRefusal.objects.filter(received_at__lt=_cutoff(now))
    return in_batches(
        expired,
        lambda pks: WebhookRefusal.objects.filter(pk__in=pks).delete()[0],
        batch_size=batch_size,
    )


def webhooks_purge_expired(*, now: datetime | None = None) -> int:
    """Everything the webhooks app purges; returns rows changed."""
    return (
        inbound_purge_expired(now=now)
        + connection_errors_purge_expired(now=now)
        + refusals_purge_expired(now=now)
    )
