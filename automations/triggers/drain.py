"""Processing stored events (in Celery): complete each (stage names, stage.from), match it
to automations, fire their runs, record the outcome. The events table is the queue.

No transaction is held across a network call, and each event commits on its own:

1. Claim a batch: `received -> processing` with a claim id and time, in one short
   transaction (`SELECT ... FOR UPDATE SKIP LOCKED` then one UPDATE on PostgreSQL, so any
   number of workers drain together; on SQLite the transaction takes the single write lock at
   BEGIN, and the UPDATE is conditional on `received` besides). Committed at once.
2. Per event, outside any transaction: the network part (Lever's stage names from its API).
3. Per event, one short transaction: the known application state, match, fire, status, on
   condition that this worker still holds the claim.

A worker killed after claiming leaves events `processing`; a claim older than the lease is
given back (`received`) by the next drain or the sweeper, so nothing is lost. A drain past
its time budget gives back what it claimed and has not started."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone

from automations.triggers.matching import match_and_fire
from config import logs
from webhooks.models import AtsConnection, InboundEvent
from webhooks.stages import known_state_apply, stage_names_resolve

logger = logging.getLogger(__name__)

NOT_CLAIMED = "not-claimed"


def _lease() -> timedelta:
    return timedelta(seconds=settings.INBOUND_CLAIM_LEASE_SECONDS)


def _waiting():
    return InboundEvent.objects.filter(status=InboundEvent.Status.RECEIVED)


def inbound_claim(
    *, batch: int = 50, event_id: int | None = None, now: datetime | None = None
) -> tuple[uuid.UUID, list[InboundEvent]]:
    """Claim up to `batch` waiting events (oldest first), committed before returning:
    (claim id, claimed events with their connection and organization)."""
    now = now or timezone.now()
    claim = uuid.uuid4()
    waiting = _waiting().order_by("received_at")
    if event_id is not None:
        waiting = waiting.filter(pk=event_id)
    with transaction.atomic():
        if db_connection.features.has_select_for_update_skip_locked:
            waiting = waiting.select_for_update(skip_locked=True)
        ids = list(waiting.values_list("pk", flat=True)[:batch])
        if not ids:
            return claim, []
        won = (
            _waiting()
            .filter(pk__in=ids)
            .update(status=InboundEvent.Status.PROCESSING, claimed_at=now, claim_id=claim)
        )
    if won == 0:
        return claim, []
    # Read back by claim id: only the rows this UPDATE moved are ours.
    claimed = list(
        InboundEvent.objects.select_related("connection__organization")
        .filter(claim_id=claim, status=InboundEvent.Status.PROCESSING)
        .order_by("received_at")
    )
    # One connection object per connection, so a stage-name cache filled for one event
    # serves the next of the same connection.
    shared: dict[int, AtsConnection] = {}
    for inbound in claimed:
        inbound.connection = shared.setdefault(inbound.connection_id, inbound.connection)
    return claim, claimed


def inbound_release_stale(*, now: datetime | None = None) -> int:
    """Give back events whose claim is older than the lease (their worker died)."""
    cutoff = (now or timezone.now()) - _lease()
    released = InboundEvent.objects.filter(
        status=InboundEvent.Status.PROCESSING, claimed_at__lt=cutoff
    ).update(status=InboundEvent.Status.RECEIVED, claimed_at=None, claim_id=None)
    if released:
        logger.warning("gave back %d inbound event(s) whose worker never finished", released)
    return released


def _release(claim: uuid.UUID, events: list[InboundEvent]) -> None:
    if events:
        InboundEvent.objects.filter(
            pk__in=[e.pk for e in events], claim_id=claim, status=InboundEvent.Status.PROCESSING
        ).update(status=InboundEvent.Status.RECEIVED, claimed_at=None, claim_id=None)


def inbound_process_claimed(
    *, inbound: InboundEvent, claim: uuid.UUID, unavailable: set[int] | None = None
) -> str:
    """Process one event claimed with `claim` (by `inbound_claim`): the network part first,
    outside any transaction, then one short transaction for the rest, on condition that the
    claim still holds; NOT_CLAIMED when it no longer does (the lease ran out and another
    worker took the event). `unavailable`: connections whose ATS API failed in this drain,
    not asked again."""
    unavailable = set() if unavailable is None else unavailable
    # Lines written while matching and firing say which event they belong to.
    logs.bind(event_id=inbound.pk, connection_id=inbound.connection_id)
    try:
        event = stage_names_resolve(
            inbound.connection, inbound.event or {}, unavailable=unavailable
        )
        with transaction.atomic():
            still_mine = (
                InboundEvent.objects.select_for_update()
                .filter(pk=inbound.pk, claim_id=claim, status=InboundEvent.Status.PROCESSING)
                .exists()
            )
            if not still_mine:  # our claim expired and another worker took the event
                return NOT_CLAIMED
            event, change_key = known_state_apply(inbound.connection, event)
            matches = match_and_fire(inbound=inbound, event=event, change_key=change_key)
            status, error = _outcome(matches)
            InboundEvent.objects.filter(pk=inbound.pk).update(
                event=event,
                matches=matches,
                change_key=change_key,
                status=status,
                error=error,
                processed_at=timezone.now(),
            )
    except Exception as exc:
        logger.exception("inbound event %s failed", inbound.pk)
        InboundEvent.objects.filter(pk=inbound.pk, claim_id=claim).update(
            status=InboundEvent.Status.FAILED,
            error=f"{type(exc).__name__}: processing failed (see the worker's log)",
            processed_at=timezone.now(),
        )
        return InboundEvent.Status.FAILED
    logger.info(
        "inbound event %s (%s): %s, %d automation(s) matched",
        inbound.pk,
        event.get("type") or event.get("raw_type"),
        status,
        sum(1 for m in matches if m.get("matched")),
    )
    return status


def _outcome(matches: list[dict]) -> tuple[str, str]:
    """processed if any automation fired (or acted); failed if none did and some could not
    be handled; ignored otherwise."""
    if any(m.get("matched") for m in matches):
        return InboundEvent.Status.PROCESSED, ""
    errors = sum(1 for m in matches if m.get("error"))
    if errors:
        return InboundEvent.Status.FAILED, f"{errors} automation(s) could not be matched"
    return InboundEvent.Status.IGNORED, ""


def inbound_process(*, event_id: int) -> str:
    """Process one event if it is still waiting."""
    claim, claimed = inbound_claim(batch=1, event_id=event_id)
    if not claimed:
        return NOT_CLAIMED
    status = inbound_process_claimed(inbound=claimed[0], claim=claim)
    _touch_health(claimed)
    return status


def inbound_drain(*, batch: int = 50, budget_seconds: float = 5.0) -> int:
    """Process waiting events, batch after batch, for at most `budget_seconds`. Returns how
    many were processed."""
    inbound_release_stale()
    done = 0
    started = time.monotonic()
    unavailable: set[int] = set()
    while time.monotonic() - started < budget_seconds:
        claim, claimed = inbound_claim(batch=batch)
        finished: list[InboundEvent] = []
        for index, inbound in enumerate(claimed):
            if time.monotonic() - started >= budget_seconds:
                _release(claim, claimed[index:])  # the next drain takes them at once
                break
            outcome = inbound_process_claimed(inbound=inbound, claim=claim, unavailable=unavailable)
            if outcome != NOT_CLAIMED:
                finished.append(inbound)
        _touch_health(finished)
        done += len(finished)
        if len(claimed) < batch or len(finished) < len(claimed):
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
