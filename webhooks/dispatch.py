"""Waking the workers for stored events. The receiver only stores (a Celery message per
delivery would cost it more than verifying and storing); the scheduler's tick sends one
`drain` message while events are waiting, at most once a second per scheduler, and each
drain processes a batch after batch (automations/triggers/drain.py)."""

from __future__ import annotations

import logging

from config.celery import app as celery_app
from webhooks.models import InboundEvent

logger = logging.getLogger(__name__)

DRAIN_TASK = "webhooks.drain_inbound_events"


def inbound_waiting() -> bool:
    return InboundEvent.objects.filter(status=InboundEvent.Status.RECEIVED).exists()


def inbound_request_drain() -> bool:
    """Send one drain message if events are waiting. True if one was sent."""
    if not inbound_waiting():
        return False
    try:
        celery_app.send_task(DRAIN_TASK, queue=celery_app.conf.task_default_queue)
    except Exception as exc:  # the next tick (or the sweeper) tries again
        logger.warning("could not send a drain message (%s: %s)", type(exc).__name__, exc)
        return False
    return True
