"""Which slots of a schedule to fire when the scheduler reaches an automation: the pure
function behind the catch-up policy, so it can be tested without a database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from automations import cron
from automations.models import Automation

CATCH_UP_ALL_MAX = 10  # catch_up="all" runs at most this many missed slots
MAX_SLOTS_SCANNED = 1000  # a minute schedule down for a week is not walked slot by slot


@dataclass
class SlotPlan:
    fire: list[datetime] = field(default_factory=list)
    missed: list[datetime] = field(default_factory=list)  # recorded as skipped runs
    more_missed: int = 0  # missed slots beyond what was scanned (not recorded one by one)
    next_run_at: datetime | None = None


def _slots(automation: Automation, first: datetime, now: datetime):
    if automation.trigger_type == Automation.TriggerType.POLL:
        step = timedelta(seconds=automation.poll_interval_seconds)
        slot = first
        while True:
            yield slot
            slot = slot + step
    else:
        yield first
        yield from cron.iter_fires(automation.cron_expression, automation.time_zone, first)


def plan_slots(automation: Automation, *, now: datetime, grace: timedelta) -> SlotPlan:
    """Slots from `automation.next_run_at` up to `now`: fire those within `grace` of now;
    older ones were missed (the scheduler was down) and follow the catch-up policy."""
    plan = SlotPlan()
    due: list[datetime] = []
    for slot in _slots(automation, automation.next_run_at, now):
        if slot > now:
            plan.next_run_at = slot
            break
        if len(due) >= MAX_SLOTS_SCANNED:
            # Down for very long: stop walking slot by slot and resume from now. (If the
            # schedule ends, next_run_at stays None and the automation never fires again.)
            plan.more_missed = 1
            plan.next_run_at = _next_after(automation, now)
            break
        due.append(slot)

    on_time = [s for s in due if now - s <= grace]
    missed = [s for s in due if now - s > grace]
    policy = automation.catch_up
    if policy == Automation.CatchUp.LATEST and missed and not on_time:
        plan.fire = [missed[-1]]
        plan.missed = missed[:-1]
    elif policy == Automation.CatchUp.ALL:
        plan.fire = missed[-CATCH_UP_ALL_MAX:] + on_time
        plan.missed = missed[:-CATCH_UP_ALL_MAX] if len(missed) > CATCH_UP_ALL_MAX else []
    else:
        plan.fire = on_time
        plan.missed = missed
    return plan


def _next_after(automation: Automation, now: datetime) -> datetime | None:
    if automation.trigger_type == Automation.TriggerType.POLL:
        return now + timedelta(seconds=automation.poll_interval_seconds)
    return cron.next_fire(automation.cron_expression, automation.time_zone, now)


def slot_key(automation: Automation, slot: datetime) -> str:
    prefix = "poll" if automation.trigger_type == Automation.TriggerType.POLL else "cron"
    return f"{prefix}:{slot.strftime('%Y-%m-%dT%H:%M:%SZ')}"
