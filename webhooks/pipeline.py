"""Processing stored events (in Celery): complete each (stage names, stage.from), match it
to automations, fire their runs, record the outcome. The events table is the queue: workers
claim waiting events with SKIP LOCKED, so any number of them drain it together, and a
redelivered message finds nothing left to do."""

from __future__ import annotations

import logging
import time

from django.db import transaction
from django.utils import timezone

from webhooks.matching import match_and_fire
from webhooks.models import AtsConnection, InboundEvent
from webhooks.stages import complete_event

logger = logging.getLogger(__name__)


def _waiting():
    return InboundEvent.objects.select_related("connection__organization").filter(
        status=InboundEvent.Status.RECEIVED
    )


def _process_locked(inbound: InboundEvent) -> str:
    """Process one claimed event inside the caller's transaction (its own savepoint, so a
    failure marks only this event failed)."""
    try:
        with transaction.atomic():
            event = complete_event(inbound.connection, inbound.event or {})
            matches = match_and_fire(inbound=inbound, event=event)
    except Exception as exc:
        logger.exception("inbound event %s failed", inbound.pk)
        InboundEvent.objects.filter(pk=inbound.pk).update(
            status=InboundEvent.Status.FAILED,
            error=f"{type(exc).__name__}: {exc}",
            processed_at=timezone.now(),
        )
        return InboundEvent.Status.FAILED
    fired = any(m.get("matched") for m in matches)
    status = InboundEvent.Status.PROCESSED if fired else InboundEvent.Status.IGNORED
    InboundEvent.objects.filter(pk=inbound.pk).update(
        event=event, matches=matches, status=status, processed_at=timezone.now()
    )
    logger.info(
        "inbound event %s (%s): %s, %d automation(s) matched",
        inbound.pk,
        event.get("type") or event.get("raw_type"),
        status,
        sum(1 for m in matches if m.get("matched")),
    )
    return status


def inbound_process(*, event_id: int) -> str:
    """Process one event if it is still waiting."""
    with transaction.atomic():
        inbound = (
            _waiting().select_for_update(skip_locked=True, of=("self",)).filter(pk=event_id).first()
        )
        if inbound is None:
            return "not-claimed"
        status = _process_locked(inbound)
    _touch_health([inbound])
    return status


def inbound_drain(*, batch: int = 50, budget_seconds: float = 5.0) -> int:
    """Process waiting events, batch after batch, for at most `budget_seconds`. Returns how
    many were processed."""
    done = 0
    started = time.monotonic()
    while time.monotonic() - started < budget_seconds:
        with transaction.atomic():
            claimed = list(
                _waiting()
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("received_at")[:batch]
            )
            for inbound in claimed:
                _process_locked(inbound)
        _touch_health(claimed)
        done += len(claimed)
        if len(claimed) < batch:
            break
    return done


def _touch_health(events: list[InboundEvent]) -> None:
    """The connection's last event time, off the receiver's hot path."""
    latest: dict[int, object] = {}
    for inbound in events:
        latest[inbound.connection_id] = max(
            inbound.received_at, latest.get(inbound.connection_id, inbound.received_at)
        )
    for connection_id, when in latest.items():
        AtsConnection.objects.filter(pk=connection_id).update(last_event_at=when)
