"""Processing a stored event (in Celery): complete it (stage names, stage.from), match it to
automations, fire their runs, record the outcome. Safe to run twice."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from webhooks.matching import match_and_fire
from webhooks.models import InboundEvent
from webhooks.stages import complete_event

logger = logging.getLogger(__name__)


def inbound_process(*, event_id: int) -> str:
    with transaction.atomic():
        inbound = (
            InboundEvent.objects.select_for_update()
            .select_related("connection__organization")
            .filter(pk=event_id, status=InboundEvent.Status.RECEIVED)
            .first()
        )
        if inbound is None:
            return "not-claimed"
        try:
            event = complete_event(inbound.connection, inbound.event or {})
            matches = match_and_fire(inbound=inbound, event=event)
        except Exception as exc:
            logger.exception("inbound event %s failed", event_id)
            InboundEvent.objects.filter(pk=event_id).update(
                status=InboundEvent.Status.FAILED,
                error=f"{type(exc).__name__}: {exc}",
                processed_at=timezone.now(),
            )
            return InboundEvent.Status.FAILED
        fired = any(m.get("matched") for m in matches)
        status = InboundEvent.Status.PROCESSED if fired else InboundEvent.Status.IGNORED
        InboundEvent.objects.filter(pk=event_id).update(
            event=event, matches=matches, status=status, processed_at=timezone.now()
        )
    logger.info(
        "inbound event %s (%s): %s, %d automation(s) matched",
        event_id,
        event.get("type") or event.get("raw_type"),
        status,
        sum(1 for m in matches if m.get("matched")),
    )
    return status
