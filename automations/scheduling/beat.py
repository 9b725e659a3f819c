"""AutomationScheduler: the beat scheduler that fires automations.

It subclasses django-celery-beat's DatabaseScheduler, which still runs the system tasks
(sweeper, reaper, purge, pollers) from their PeriodicTask rows. The automations' own
PeriodicTask records are left out of the parent's schedule: loading them all and re-checking
every one on each tick is what makes the stock scheduler slow at scale. Instead each tick
fires the automations whose `next_run_at` has come (an indexed query over due rows only),
sends due pending runs, and sleeps until the next due time, at most a few seconds.

Several beat processes may run at once: claims are row-locked (SKIP LOCKED) or
compare-and-set, and runs are unique per slot.
"""

from __future__ import annotations

import logging
import time

from django.db import DatabaseError, close_old_connections
from django.utils import timezone
from django_celery_beat.schedulers import DatabaseScheduler

from automations.dispatch import runs_dispatch_due
from automations.ops.heartbeats import beat_heartbeat
from automations.scheduling.due import (
    automations_due_count,
    automations_fire_due,
    seconds_until_next_due,
)
from automations.scheduling.schedule_records import FIRE_TASK
from config.metrics import SCHEDULER_DUE_BACKLOG, SCHEDULER_TICK
from webhooks.dispatch import inbound_request_drain

logger = logging.getLogger(__name__)


# While ATS events are waiting, wake the workers at most this often.
DRAIN_EVERY_SECONDS = 1.0


class AutomationScheduler(DatabaseScheduler):
    last_drain = 0.0

    def enabled_models_qs(self):
        return super().enabled_models_qs().exclude(task=FIRE_TASK)

    def tick(self, *args, **kwargs) -> float:
        with SCHEDULER_TICK.time():
            return self._tick(*args, **kwargs)

    def _tick(self, *args, **kwargs) -> float:
        busy = False
        beat_heartbeat()  # /status and the beat_silent alert: this loop still turns
        try:
            busy = self.fire_automations()
        except DatabaseError:
            logger.exception("scheduler tick failed; retrying shortly")
            close_old_connections()
            return 1.0
        interval = super().tick(*args, **kwargs)
        if busy:
            return 0.0
        try:
            until_due = seconds_until_next_due(now=timezone.now())
        except DatabaseError:
            close_old_connections()
            until_due = None
        if until_due is not None:
            interval = min(interval, until_due)
        return max(0.0, min(interval, self.max_interval))

    def fire_automations(self) -> bool:
        """One round: fire due automations, send due runs, wake the workers for stored ATS
        events. True if more is waiting."""
        now = timezone.now()
        stats = automations_fire_due(now=now, after_batch=lambda: runs_dispatch_due(now=now))
        # Counted only when the round stopped with more due (its time budget ran out): else
        # every due row was claimed, and counting would cost a query on every idle tick.
        SCHEDULER_DUE_BACKLOG.set(automations_due_count(now=now) if stats.more_due else 0)
        sent = runs_dispatch_due(now=now)
        if time.monotonic() - self.last_drain >= DRAIN_EVERY_SECONDS and inbound_request_drain():
            self.last_drain = time.monotonic()
        return stats.more_due or sent >= 1000
