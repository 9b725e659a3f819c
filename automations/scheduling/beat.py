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

from celery.utils.time import maybe_make_aware
from django.db import DatabaseError, close_old_connections
from django.utils import timezone
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry

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

# Wall-clock time between two ticks that differs from the monotonic time by more than this
# is a clock step (NTP, a resumed VM), logged so an operator can tell why slots ran early,
# were recorded as missed, or seemed to pause.
CLOCK_JUMP_SECONDS = 30.0


class ClockSafeEntry(ModelEntry):
    """A system task's entry that survives the wall clock going back.

    django-celery-beat counts an interval from the task's `last_run_at`; after the clock
    steps back an hour, a `last_run_at` written before the step lies an hour in the future
    and the sweeper, reaper and purge would wait that hour before running again. A last run
    in the future is taken as now: the task runs one interval later, as after any run."""

    def is_due(self):
        now = maybe_make_aware(self._default_now())
        if self.last_run_at is not None and maybe_make_aware(self.last_run_at) > now:
            logger.warning(
                "periodic task %s last ran in the future (%s, now %s): the clock went back; "
                "counting its interval from now",
                self.name,
                self.last_run_at.isoformat(),
                now.isoformat(),
            )
            self.last_run_at = now
            self.model.last_run_at = now
        return super().is_due()


class ClockWatch:
    """Tells a step of the wall clock from the time that really passed (monotonic)."""

    def __init__(self) -> None:
        self.wall = time.time()
        self.mono = time.monotonic()

    def step(self) -> float:
        """Seconds the wall clock jumped since the last call (0 within CLOCK_JUMP_SECONDS)."""
        wall, mono = time.time(), time.monotonic()
        jump = (wall - self.wall) - (mono - self.mono)
        self.wall, self.mono = wall, mono
        return jump if abs(jump) > CLOCK_JUMP_SECONDS else 0.0


class AutomationScheduler(DatabaseScheduler):
    Entry = ClockSafeEntry
    last_drain = 0.0
    clock: ClockWatch | None = None

    def enabled_models_qs(self):
        return super().enabled_models_qs().exclude(task=FIRE_TASK)

    def tick(self, *args, **kwargs) -> float:
        with SCHEDULER_TICK.time():
            return self._tick(*args, **kwargs)

    def _tick(self, *args, **kwargs) -> float:
        busy = False
        self.clock = self.clock or ClockWatch()
        if jump := self.clock.step():
            # Slots that came due in a forward step run now (or are recorded as missed, by
            # their catch-up policy); after a backward step none runs twice (runs are unique
            # per slot) and each waits for its time again.
            logger.warning(
                "the system clock jumped %s by %.0f s", "forward" if jump > 0 else "back", abs(jump)
            )
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
