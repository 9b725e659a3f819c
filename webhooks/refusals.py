"""Recording the deliveries the receiver refused for a known connection, so an org admin sees
why their ATS's webhooks fail (401 bad signature, ...) instead of only our logs.

Only refusals write here, never an accepted delivery. Two rules keep it harmless:

- A flood cannot fill the table: at most PER_MINUTE rows per connection and status code in
  each clock minute, counted in the cache (django.core.cache: Redis shared by every process
  when REDIS_URL is set, else per process, which still bounds it per process). When the
  cache cannot answer, nothing is recorded: an unbounded write is worse than a missing row.
- Recording never changes the answer: any failure (the cache, the insert, a connection
  deleted meanwhile) is logged and swallowed, in a savepoint of its own so a caller's
  transaction is left usable.
"""

from __future__ import annotations

import logging
import time
import uuid

from django.core.cache import cache
from django.db import transaction

from webhooks.models import WebhookRefusal

logger = logging.getLogger(__name__)

PER_MINUTE = 5
MAX_REASON_CHARS = WebhookRefusal._meta.get_field("reason").max_length


def _within_cap(public_id: uuid.UUID, status: int, *, now: float | None = None) -> bool:
    """Whether this refusal is among the first PER_MINUTE of its connection and status in
    this minute. Keyed by the connection's public id, unique across databases, so processes
    (or test runs) sharing one Redis never count each other's rows."""
    minute = int((time.time() if now is None else now) // 60)
    key = f"webhook-refusals:{public_id}:{status}:{minute}"
    # add() is atomic (SET NX): exactly one caller starts the count; the rest increment it.
    if cache.add(key, 1, timeout=120):
        return True
    try:
        return cache.incr(key) <= PER_MINUTE
    except ValueError:  # expired between add() and incr(): the next minute's count
        return cache.add(key, 1, timeout=120)


def refusal_record(*, connection_pk: int, public_id: uuid.UUID, status: int, reason: str) -> bool:
    """Record one refusal unless its connection and status are over the cap; True when a row
    was written. Never raises."""
    try:
        if not _within_cap(public_id, status):
            return False
        with transaction.atomic():
            WebhookRefusal.objects.create(
                connection_id=connection_pk,
                status_code=status,
                reason=reason[:MAX_REASON_CHARS],
            )
        return True
    except Exception:
        # The refusal is still answered; what failed is only its record.
        logger.exception("webhook refusal for connection %s (%s) not recorded", public_id, status)
        return False
