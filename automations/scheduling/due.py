"""Turning due automations into runs: what AutomationScheduler does on each tick.

A batch claims due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL; compare-and-set on
`next_run_at` elsewhere), creates their runs (idempotent per slot through the run's unique
key), and advances `next_run_at`, all in one transaction. The cost of a tick is proportional
to the rows that are due, never to the number of automations.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from automations.audience import audience_user_ids_bulk
from automations.firing import runs_fire_bulk
from automations.models import Automation, AutomationRun
from automations.run_keys import member_key, missed_key, slot_key
from automations.scheduling.slots import SlotPlan, plan_slots

logger = logging.getLogger(__name__)

CLAIM_FIELDS = (
    "id",
    "organization_id",
    "trigger_type",
    "cron_expression",
    "time_zone",
    "poll_interval_seconds",
    "catch_up",
    "next_run_at",
    "status",
    "audience",
)
# An automation whose schedule cannot be computed is pushed back this far, so one bad row
# never makes the scheduler fail over and over.
BAD_ROW_BACKOFF = timedelta(hours=1)


@dataclass
class FireStats:
    claimed: int = 0
    fired: int = 0
    missed: int = 0
    batches: int = 0
    more_due: bool = False


def _triggered_by(automation: Automation) -> str:
    if automation.trigger_type == Automation.TriggerType.POLL:
        return AutomationRun.TriggeredBy.POLL
    return AutomationRun.TriggeredBy.SCHEDULE


def _claim(now: datetime, batch_size: int, only_ids: list[int] | None) -> list[Automation]:
    due = (
        Automation.objects.filter(status=Automation.Status.ACTIVE, next_run_at__lte=now)
        .order_by("next_run_at")
        .only(*CLAIM_FIELDS)
    )
    if only_ids is not None:
        due = due.filter(pk__in=only_ids)
    if connection.features.has_select_for_update_skip_locked:
        return list(due.select_for_update(skip_locked=True)[:batch_size])
    return list(due[:batch_size])


def fire_batch(
    *, now: datetime, batch_size: int, grace: timedelta, only_ids: list[int] | None = None
) -> FireStats:
    stats = FireStats(batches=1)
    cas = not connection.features.has_select_for_update_skip_locked
    # A herd shares a few schedules: compute each (schedule, slot) once per batch.
    plans: dict[tuple, SlotPlan | None] = {}
    with transaction.atomic():
        rows = _claim(now, batch_size, only_ids)
        runs: list[AutomationRun] = []
        advanced: dict[datetime | None, list[int]] = defaultdict(list)
        # Org-wide rows (rare) get their members in two queries for the whole batch; an
        # owner-only batch makes none.
        wide = [a for a in rows if a.audience != Automation.Audience.OWNER]
        members = audience_user_ids_bulk(wide) if wide else {}
        for automation in rows:
            old = automation.next_run_at
            key = (
                automation.trigger_type,
                automation.cron_expression,
                automation.time_zone,
                automation.poll_interval_seconds,
                automation.catch_up,
                old,
            )
            if key not in plans:
                try:
                    plans[key] = plan_slots(automation, now=now, grace=grace)
                except Exception:
                    logger.exception(
                        "automation %s: schedule failed; retrying in an hour", automation.pk
                    )
                    plans[key] = None
            plan = plans[key]
            new = plan.next_run_at if plan is not None else now + BAD_ROW_BACKOFF
            if cas:
                # Compare-and-set: only the process that moves next_run_at off `old` owns
                # this slot; another scheduler that read the same row gets 0 rows.
                won = Automation.objects.filter(
                    pk=automation.pk, status=Automation.Status.ACTIVE, next_run_at=old
                ).update(next_run_at=new)
                if not won:
                    continue
            else:
                advanced[new].append(automation.pk)
            stats.claimed += 1
            if plan is None:
                continue
            runs.extend(_runs_for(automation, plan, now, members.get(automation.pk)))
            stats.fired += len(plan.fire)
            stats.missed += plan.missed_count
        # One UPDATE per distinct new time (a herd has few), rather than a CASE per row.
        for new, ids in advanced.items():
            Automation.objects.filter(pk__in=ids).update(next_run_at=new)
        if runs:
            runs_fire_bulk(runs)
    stats.more_due = len(rows) >= batch_size
    return stats


def _runs_for(
    automation: Automation, plan, now: datetime, member_ids: list[int] | None = None
) -> list[AutomationRun]:
    """The slots' runs: one each, or for an org-wide automation one per member per slot
    (`member_ids`; an audience left empty falls back to one run, for the owner)."""
    triggered_by = _triggered_by(automation)
    if member_ids:
        runs = [
            AutomationRun(
                automation_id=automation.pk,
                organization_id=automation.organization_id,
                idempotency_key=member_key(slot_key(automation, slot), user_id),
                triggered_by=triggered_by,
                scheduled_for=slot,
                trigger_data={"slot": slot.isoformat()},
                for_user_id=user_id,
            )
            for slot in plan.fire
            for user_id in member_ids
        ]
    else:
        runs = [
            AutomationRun(
                automation_id=automation.pk,
                organization_id=automation.organization_id,
                idempotency_key=slot_key(automation, slot),
                triggered_by=triggered_by,
                scheduled_for=slot,
                trigger_data={"slot": slot.isoformat()},
            )
            for slot in plan.fire
        ]
    if plan.missed_count:
        runs.append(_missed_summary(automation, plan, now, triggered_by))
    return runs


def _missed_summary(automation: Automation, plan: SlotPlan, now: datetime, triggered_by: str):
    """One `skipped` run for a whole spell of missed slots, however many."""
    count, first, last = plan.missed_count, plan.missed_from, plan.missed_to
    slots = "1 slot" if count == 1 else f"{count} slots"
    span = _when(first) if first == last else f"from {_when(first)} to {_when(last)}"
    ran = (
        f"the newest due slot{'s' if len(plan.fire) > 1 else ''} ran instead"
        if plan.fire
        else "none ran"
    )
    return AutomationRun(
        automation_id=automation.pk,
        organization_id=automation.organization_id,
        idempotency_key=missed_key(automation, first),
        triggered_by=triggered_by,
        scheduled_for=last,
        status=AutomationRun.Status.SKIPPED,
        error_code="missed",
        error_message=f"{slots} missed {span} while the scheduler was not running; "
        f"catch-up policy '{automation.catch_up}': {ran}.",
        finished_at=now,
        missed_count=count,
        missed_from=first,
        missed_to=last,
    )


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def automations_fire_due(
    *,
    now: datetime | None = None,
    batch_size: int | None = None,
    time_budget: float = 2.0,
    after_batch=None,
) -> FireStats:
    """Fire every due automation, batch after batch, for at most `time_budget` seconds (the
    scheduler then sends the runs and comes straight back for the rest)."""
    now = now or timezone.now()
    batch_size = batch_size or settings.SCHEDULER_BATCH_SIZE
    grace = timedelta(seconds=settings.SCHEDULER_MISFIRE_GRACE_SECONDS)
    total = FireStats(batches=0)
    started = time.monotonic()
    while True:
        stats = fire_batch(now=now, batch_size=batch_size, grace=grace)
        if after_batch is not None and stats.fired:
            after_batch()  # e.g. send this batch's runs while the next is claimed
        total.claimed += stats.claimed
        total.fired += stats.fired
        total.missed += stats.missed
        total.batches += 1
        total.more_due = stats.more_due
        if not stats.more_due or time.monotonic() - started > time_budget:
            break
    if total.fired or total.missed:
        logger.info(
            "scheduler fired %d slot(s), recorded %d missed, in %d batch(es)",
            total.fired,
            total.missed,
            total.batches,
        )
    return total


def automations_due_count(*, now: datetime) -> int:
    """Automations due and not yet fired (the scheduler's backlog, for /metrics)."""
    return Automation.objects.filter(status=Automation.Status.ACTIVE, next_run_at__lte=now).count()


def seconds_until_next_due(*, now: datetime) -> float | None:
    """Seconds until the earliest automation or pending run comes due (None: nothing is
    scheduled). Two index-only lookups."""
    next_automation = (
        Automation.objects.filter(status=Automation.Status.ACTIVE, next_run_at__isnull=False)
        .order_by("next_run_at")
        .values_list("next_run_at", flat=True)
        .first()
    )
    next_run = (
        AutomationRun.objects.filter(
            status=AutomationRun.Status.PENDING, dispatched_at__isnull=True
        )
        .order_by("scheduled_for")
        .values_list("scheduled_for", flat=True)
        .first()
    )
    times = [t for t in (next_automation, next_run) if t is not None]
    if not times:
        return None
    return max(0.0, (min(times) - now).total_seconds())
