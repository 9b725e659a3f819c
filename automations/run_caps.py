"""Runaway protection (issue 13): the caps a run must pass to be admitted, in one place.

automations/firing.py asks `run_admission` for every run it creates (schedule, poll, event,
relative, run now, rerun), so every trigger kind obeys the same caps:

- the automation's `max_runs_per_hour` (default 60),
- the org's plan `max_runs_per_day`,
- the event-storm guard: an automation matched by more than the plan's
  `max_events_per_minute` events in a minute is paused (once, by a conditional status change)
  and the org's admins are told (once, by the process that paused it).

A run held back is still created, as `skipped` with the cap's error code and a message naming
the cap, its number and when it frees up, so the history and "why didn't it fire?" show it.

Run now and reruns are capped too: a person clicks them rarely, but a runaway script calling
the API's run-now in a loop is exactly what the hourly and daily caps are for. Test runs
(the builder's "Test", triggered_by=test) are neither counted nor capped: they deliver
nothing and someone is waiting for the answer.

The org's cap on concurrent runs is checked where a run starts (automations/engine.py,
`concurrency_hold`), since "concurrent" means running, not created.

Counting is in the database, so it is shared by every process (the cache is per process
without Redis): each count is one query on an index that starts with the automation or the
organization and created_at, and stops at the cap (LIMIT), so its cost is bounded by the cap,
not by the history."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Count, Q

from accounts.audit import audit_changes, audit_record
from accounts.plans import PLANS, limits_for
from automations.models import Automation, AutomationRun
from config import plain_sql

logger = logging.getLogger(__name__)

CAP_HOURLY = "cap_hourly"
CAP_DAILY = "cap_daily"
CAP_CONCURRENT = "cap_concurrent"
CAP_STORM = "cap_storm"
CAP_CODES = (CAP_HOURLY, CAP_DAILY, CAP_CONCURRENT, CAP_STORM)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)
# A storm pause's reason starts "Paused: 512 matching events in one minute", which is how the
# matcher and "why didn't it fire?" tell it from a person's pause.
STORM_PAUSE_PREFIX = "Paused: "
STORM_PAUSE = re.compile(r"Paused: \d+ matching events in one minute")


def is_storm_pause(reason: str) -> bool:
    return bool(STORM_PAUSE.match(reason or ""))


Run = AutomationRun
UNCOUNTED = Q(status=Run.Status.SKIPPED) | Q(triggered_by=Run.TriggeredBy.TEST)


@dataclass(frozen=True)
class Held:
    """Why a run was not admitted: its error code and message."""

    code: str
    message: str


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def counted_runs():
    """Runs that count towards a cap: admitted ones (not skipped, not tests)."""
    return Run.objects.exclude(UNCOUNTED)


def run_admission(*, automation: Automation, triggered_by: str, now: datetime) -> Held | None:
    """None if a new run of `automation` may run; else the cap that holds it back. May pause
    the automation (event storm). Two queries for an admitted run (one for an event run with
    hourly counting folded into its storm count)."""
    if triggered_by == Run.TriggeredBy.TEST:
        return None
    org = automation.organization
    limits = limits_for(org)
    hourly_cap = automation.max_runs_per_hour
    if triggered_by == Run.TriggeredBy.EVENT:
        # One query on (automation, -created_at): the last hour's admitted runs and the last
        # minute's event runs of any outcome (an event held back by a cap is still an event).
        counts = Run.objects.filter(
            automation_id=automation.pk, created_at__gte=now - HOUR
        ).aggregate(
            hour=Count("pk", filter=~UNCOUNTED),
            minute=Count(
                "pk",
                filter=Q(triggered_by=Run.TriggeredBy.EVENT, created_at__gte=now - MINUTE),
            ),
        )
        if counts["minute"] >= limits.max_events_per_minute:
            return _storm(
                automation, events=counts["minute"] + 1, limit=limits.max_events_per_minute
            )
        in_hour = counts["hour"]
    else:
        in_hour = (
            counted_runs()
            .filter(automation_id=automation.pk, created_at__gte=now - HOUR)
            .order_by()[:hourly_cap]
            .count()
        )
    if in_hour >= hourly_cap:
        frees = _frees_at(counted_runs().filter(automation_id=automation.pk), now - HOUR, HOUR)
        return Held(
            CAP_HOURLY,
            f"This automation already ran {in_hour} times in the last hour, its cap "
            f"of {hourly_cap} runs an hour; runs are admitted again from {_when(frees)}.",
        )
    daily_cap = limits.max_runs_per_day
    in_day = (
        counted_runs()
        .filter(organization_id=automation.organization_id, created_at__gte=now - DAY)
        .order_by()[:daily_cap]
        .count()
    )
    if in_day >= daily_cap:
        frees = _frees_at(
            counted_runs().filter(organization_id=automation.organization_id), now - DAY, DAY
        )
        return Held(
            CAP_DAILY,
            f"{org.name} already ran {in_day} runs in the last 24 hours, the "
            f"{limits.name} plan's cap of {daily_cap:,} runs a day; runs are admitted again "
            f"from {_when(frees)}.",
        )
    return None


def _frees_at(runs, since: datetime, window: timedelta) -> datetime:
    """When the oldest run in the window leaves it (only asked when a cap is reached)."""
    oldest = (
        runs.filter(created_at__gte=since)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return (oldest or since) + window


def _storm(automation: Automation, *, events: int, limit: int) -> Held:
    reason = (
        f"{STORM_PAUSE_PREFIX}{events} matching events in one minute (limit {limit}); "
        "check the webhook or the filter, then resume it."
    )
    # Only event automations get here: they have no periodic task to disable.
    # A conditional status change: of the processes that see the storm at once, exactly one
    # pauses the automation, and only that one tells the admins.
    won = Automation.objects.filter(pk=automation.pk, status=Automation.Status.ACTIVE).update(
        status=Automation.Status.PAUSED, paused_reason=reason[:300], next_run_at=None
    )
    if won:
        automation.status = Automation.Status.PAUSED
        automation.paused_reason = reason[:300]
        automation.next_run_at = None
        audit_record(
            org=automation.organization,
            actor=None,
            action="automation.pause",
            target=automation,
            changes=audit_changes({"status": "active"}, {"status": "paused"}),
            note=reason,
            surface="system",
        )
        logger.warning(
            "automation %s paused: event storm (%s events a minute)", automation.pk, events
        )
        from delivery.notify import notify_admins_automation_paused

        transaction.on_commit(
            lambda: notify_admins_automation_paused(automation=automation, reason=reason)
        )
    return Held(
        CAP_STORM,
        f"More than {limit} matching events in one minute (an event storm); the "
        "automation was paused. Resume it once the cause is fixed.",
    )


# The engine counts an org's running runs up to one past the largest cap of any plan (the
# count stops there, so its cost is bounded by the cap, not by how many are running).
RUNNING_COUNT_LIMIT = max(plan.max_concurrent_runs for plan in PLANS.values()) + 1


def running_runs_sql() -> str:
    """A scalar subquery with one parameter, a run's id: how many runs (tests aside) that
    run's org has running, up to RUNNING_COUNT_LIMIT. The engine sends it in the statement
    that loads the run it has just claimed."""
    table = plain_sql.table(Run)
    org, status, trigger = (
        plain_sql.column(Run, n) for n in ("organization", "status", "triggered_by")
    )
    pk = plain_sql.column(Run, "pk")
    return (
        f"SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE {org} = "
        f"(SELECT {org} FROM {table} WHERE {pk} = %s) AND {status} = '{Run.Status.RUNNING}' "
        f"AND {trigger} <> '{Run.TriggeredBy.TEST}' LIMIT {RUNNING_COUNT_LIMIT}) running"
    )


def concurrency_hold(*, run: AutomationRun, running: int | None = None) -> Held | None:
    """Called by the engine just after it claimed `run` (set it running): None if the org is
    within its cap on concurrent runs, counting this run; else the cap. Claim first, count
    after: each worker counts after its own claim is committed, so of workers racing for the
    last slot the last to claim sees them all, and no set of runs past the cap all proceed
    (at worst both racers back off and are re-sent). `running`: the count, when the caller
    read it (running_runs_sql, sent after its claim committed); else counted here."""
    if run.triggered_by == Run.TriggeredBy.TEST:
        return None
    org = run.automation.organization
    cap = limits_for(org).max_concurrent_runs
    if running is None:
        running = (
            Run.objects.filter(organization_id=run.organization_id, status=Run.Status.RUNNING)
            .exclude(triggered_by=Run.TriggeredBy.TEST)
            .order_by()[: cap + 1]
            .count()
        )
    if running <= cap:
        return None
    limits = limits_for(org)
    return Held(
        CAP_CONCURRENT,
        f"{org.name} had {cap} runs running at once, the {limits.name} plan's cap "
        f"of {cap} concurrent runs, for longer than this run could wait.",
    )


def admission_bulk(runs: list[AutomationRun], *, now: datetime) -> None:
    """The same caps for a batch of unsaved runs (the scheduler's herd of slots, a bulk
    rerun): runs past a cap are marked skipped in place, in order. Four queries for the whole
    batch, whatever its size: the automations' hourly caps, the orgs' plans, and one grouped
    count each for the hour and the day. (No storm guard: a batch is never events.)"""
    from accounts.models import Organization

    todo = [
        r for r in runs if r.status != Run.Status.SKIPPED and r.triggered_by != Run.TriggeredBy.TEST
    ]
    if not todo:
        return
    automation_ids = {r.automation_id for r in todo}
    org_ids = {r.organization_id for r in todo}
    hourly_caps = dict(
        Automation.objects.filter(pk__in=automation_ids).values_list("pk", "max_runs_per_hour")
    )
    orgs = Organization.objects.in_bulk(org_ids)
    # Counted per automation and member: an org-wide automation makes one run per member a
    # slot, and its hourly cap is each member's (a 100-member Monday report is not 100 runs
    # over a cap of 60). An owner-only automation's runs all have for_user None.
    in_hour = {
        (automation_id, for_user_id): n
        for automation_id, for_user_id, n in counted_runs()
        .filter(automation_id__in=automation_ids, created_at__gte=now - HOUR)
        .order_by()
        .values("automation_id", "for_user_id")
        .annotate(n=Count("pk"))
        .values_list("automation_id", "for_user_id", "n")
    }
    in_day = dict(
        counted_runs()
        .filter(organization_id__in=org_ids, created_at__gte=now - DAY)
        .order_by()
        .values("organization_id")
        .annotate(n=Count("pk"))
        .values_list("organization_id", "n")
    )
    frees: dict[tuple, datetime] = {}
    for run in todo:
        org = orgs[run.organization_id]
        limits = limits_for(org)
        hourly_cap = hourly_caps.get(run.automation_id, 60)
        held: Held | None = None
        hour_key = (run.automation_id, run.for_user_id)
        hour_n = in_hour.get(hour_key, 0)
        day_n = in_day.get(run.organization_id, 0)
        if hour_n >= hourly_cap:
            key = ("a", *hour_key)
            if key not in frees:
                frees[key] = _frees_at(
                    counted_runs().filter(
                        automation_id=run.automation_id, for_user_id=run.for_user_id
                    ),
                    now - HOUR,
                    HOUR,
                )
            held = Held(
                CAP_HOURLY,
                f"This automation already ran {hour_n} times in the last hour, its "
                f"cap of {hourly_cap} runs an hour; runs are admitted again from "
                f"{_when(frees[key])}.",
            )
        elif day_n >= limits.max_runs_per_day:
            key = ("o", run.organization_id)
            if key not in frees:
                frees[key] = _frees_at(
                    counted_runs().filter(organization_id=run.organization_id), now - DAY, DAY
                )
            held = Held(
                CAP_DAILY,
                f"{org.name} already ran {day_n} runs in the last 24 hours, the "
                f"{limits.name} plan's cap of {limits.max_runs_per_day:,} runs a day; runs "
                f"are admitted again from {_when(frees[key])}.",
            )
        if held:
            run.status = Run.Status.SKIPPED
            run.error_code = held.code
            run.error_message = held.message
            run.finished_at = now
            continue
        in_hour[hour_key] = hour_n + 1
        in_day[run.organization_id] = day_n + 1
