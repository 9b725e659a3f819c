"""Which slots of a schedule to fire when the scheduler reaches an automation: the pure
function behind the catch-up policy, so it can be tested without a database.

After downtime the due slots can number in the millions (a minute schedule down for a year, a
poll every 60 s down for a month): they are never walked one by one. The newest slots are
found directly (poll: arithmetic; cron: cronsim's reverse iteration gives an anchor, and a
short forward walk from just before it gives the exact slots the scheduler itself would
produce), and the older ones are only counted (see `cron_count`), so the plan costs the same
whatever the downtime. Missed slots are recorded as one summary run, not one row each.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import islice

from cronsim import CronSim

from automations.models import Automation
from automations.scheduling import cron

CATCH_UP_ALL_MAX = 10  # catch_up="all" runs at most this many missed slots (the newest)
# Up to this many due slots are simply walked (the usual case is one); beyond it the plan
# jumps to the newest slots and counts the rest.
WALK_LIMIT = 64
# The forward walk that pins down the newest cron slots starts this far before the anchor
# found by reverse iteration, so a DST change between the two cannot make them disagree.
ANCHOR_MARGIN = timedelta(hours=3)


@dataclass
class SlotPlan:
    fire: list[datetime] = field(default_factory=list)
    # Due slots that are not fired: how many, the oldest and the newest of them. They become
    # one `skipped` run (error code "missed") whatever their number.
    missed_count: int = 0
    missed_from: datetime | None = None
    missed_to: datetime | None = None
    next_run_at: datetime | None = None


@dataclass
class _Due:
    """The due slots (first <= slot <= now): how many, the newest `tail` of them in order,
    and the first slot after now."""

    count: int
    tail: list[datetime]
    next_after: datetime | None


def _poll_due(first: datetime, step: timedelta, now: datetime, keep: int) -> _Due:
    last_index = (now - first) // step  # slots first + i*step for i in 0..last_index
    count = last_index + 1
    tail = [first + i * step for i in range(max(0, count - keep), count)]
    return _Due(count=count, tail=tail, next_after=first + count * step)


def _fires_after(expression: str, time_zone: str, after: datetime) -> Iterator[datetime]:
    return cron.iter_fires(expression, time_zone, after)


def _cron_due(expression: str, time_zone: str, first: datetime, now: datetime, keep: int) -> _Due:
    # `first` (the stored next_run_at) is a slot by definition; the others follow it.
    walked: list[datetime] = [first]
    for slot in _fires_after(expression, time_zone, first):
        if slot > now:
            return _Due(count=len(walked), tail=walked[-keep:], next_after=slot)
        walked.append(slot)
        if len(walked) > WALK_LIMIT:
            break
    else:
        return _Due(count=len(walked), tail=walked[-keep:], next_after=None)

    # Long downtime: jump. The `keep`-th newest slot <= now by reverse iteration is only an
    # anchor; the slots themselves come from the forward walk, the scheduler's own semantics.
    tz = cron.zone(time_zone)
    from_now = now.astimezone(tz).replace(microsecond=0) + timedelta(seconds=1)
    anchor = now
    for local_time in islice(CronSim(expression, from_now, reverse=True), keep):
        anchor = local_time.astimezone(UTC)
    start = max(first, anchor - ANCHOR_MARGIN)
    recent: list[datetime] = [first] if start == first else []
    next_after = None
    for slot in _fires_after(expression, time_zone, start - timedelta(microseconds=1)):
        if slot <= first:
            continue
        if slot > now:
            next_after = slot
            break
        recent.append(slot)
    tail = recent[-keep:]
    older = 0
    if tail[0] > first:
        older = 1 + cron_count(expression, time_zone, first, tail[0])
    return _Due(count=older + len(tail), tail=tail, next_after=next_after)


def cron_count(expression: str, time_zone: str, after: datetime, before: datetime) -> int:
    """How many fires fall strictly between `after` and `before`, without walking them one
    by one: a local day that matches the day fields and has no DST change holds exactly
    hours x minutes fires; the part-days at either end and the days next to a DST change are
    walked (at most a day's slots each). Cost: one step per day of the span."""
    if before <= after:
        return 0
    tz = cron.zone(time_zone)
    sim = CronSim(expression, datetime(2000, 1, 1, tzinfo=UTC))
    per_day = len(sim.hours) * len(sim.minutes) * len(sim.seconds)

    def day_start(day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)

    def walk(lo: datetime, hi: datetime) -> int:  # fires with lo < fire < hi
        n = 0
        for slot in _fires_after(expression, time_zone, lo):
            if slot >= hi:
                break
            n += 1
        return n

    def offset(day: date) -> timedelta | None:
        return datetime(day.year, day.month, day.day, tzinfo=tz).utcoffset()

    one_day = timedelta(days=1)
    first_day = after.astimezone(tz).date() + one_day
    last_day = before.astimezone(tz).date()  # the whole days are first_day .. last_day - 1
    if first_day >= last_day:
        return walk(after, before)
    just_before = timedelta(microseconds=1)
    total = walk(after, day_start(first_day)) + walk(day_start(last_day) - just_before, before)
    day = first_day
    previous, today = offset(day - one_day), offset(day)
    while day < last_day:
        following = day + one_day
        tomorrow = offset(following)
        if previous != today or today != tomorrow:  # a DST change on or next to this day
            total += walk(day_start(day) - just_before, day_start(following))
        elif day.month in sim.months and sim.match_day(day):
            total += per_day
        previous, today, day = today, tomorrow, following
    return total


def plan_slots(automation: Automation, *, now: datetime, grace: timedelta) -> SlotPlan:
    """The due slots are those from `automation.next_run_at` up to `now`. The catch-up policy
    decides which fire:

    - `latest`: the newest due slot (once, however long the scheduler was away);
    - `all`: the newest CATCH_UP_ALL_MAX due slots, oldest first;
    - `skip`: the newest due slot only if it is within `grace` of now (merely late, not
      missed), else none.

    Every other due slot is missed: counted in the plan, never fired.
    """
    first = automation.next_run_at
    keep = CATCH_UP_ALL_MAX + 1  # one more than can fire, so the newest missed slot is known
    if automation.trigger_type == Automation.TriggerType.POLL:
        step = timedelta(seconds=automation.poll_interval_seconds)
        due = _poll_due(first, step, now, keep)
    else:
        due = _cron_due(automation.cron_expression, automation.time_zone, first, now, keep)

    plan = SlotPlan(next_run_at=due.next_after)
    if not due.tail:
        return plan
    policy = automation.catch_up
    if policy == Automation.CatchUp.ALL:
        plan.fire = due.tail[-CATCH_UP_ALL_MAX:]
    elif policy == Automation.CatchUp.SKIP:
        newest = due.tail[-1]
        plan.fire = [newest] if now - newest <= grace else []
    else:
        plan.fire = due.tail[-1:]
    plan.missed_count = due.count - len(plan.fire)
    if plan.missed_count:
        unfired = due.tail[: len(due.tail) - len(plan.fire)]
        plan.missed_from = first
        plan.missed_to = unfired[-1]
    return plan
