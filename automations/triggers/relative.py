"""Relative automations ("30 minutes before each interview"): one live run per interview, at
start + offset, that follows the interview through every event about it.

An interview can be booked, moved, cancelled and booked again under the same id, and its
events can arrive twice (webhook and poll) or out of order. The runs of one automation for
one interview form generations: `relative:<provider>:<interview id>` for the first booking,
then `...#2`, `#3`, ... Each key stays unique per automation (the run's unique constraint),
a cancelled or finished generation stays in the history as it ended, and a booking after it
starts the next one. At most one generation is pending at a time, so there is never more
than one live run; a move moves the pending one.

Events carry `occurred_at` where the ATS says when the change happened: an event older than
the last one applied to this interview's runs is stale (it arrived late) and changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from automations.firing import run_fire
from automations.models import Automation, AutomationRun
from automations.run_keys import relative_key, relative_key_base

SCHEDULED = "ats.interview.scheduled"
CANCELLED = "ats.interview.cancelled"


class CannotMatch(Exception):
    """This automation cannot be matched to this event, for a reason worth showing (its
    message holds no personal data)."""


def parse_time(value: object, *, what: str) -> datetime:
    """An aware datetime from an ISO string, or CannotMatch saying why not."""
    if not isinstance(value, str) or len(value) > 64:
        raise CannotMatch(f"{what} is not an ISO time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        raise CannotMatch(f"{what} is not an ISO time") from None
    if parsed.tzinfo is None:
        raise CannotMatch(f"{what} has no time zone")
    try:  # in UTC: PostgreSQL refuses offsets past ±15:59, which an ATS may send
        return parsed.astimezone(UTC)
    except OverflowError:
        raise CannotMatch(f"{what} is out of range") from None


def offset_from(start: datetime, offset_minutes: object) -> datetime:
    """start + offset, or CannotMatch when the stored offset cannot be applied (rows written
    before the services refused such offsets, or written around them)."""
    if not isinstance(offset_minutes, int) or isinstance(offset_minutes, bool):
        raise CannotMatch("offset_minutes is not a whole number of minutes")
    try:
        return start + timedelta(minutes=offset_minutes)
    except (OverflowError, ValueError):
        raise CannotMatch(
            f"offset_minutes={offset_minutes} puts the run outside the calendar"
        ) from None


def _generation(key: str, base: str) -> int | None:
    if key == base:
        return 1
    suffix = key[len(base) + 1 :] if key.startswith(base + "#") else ""
    return int(suffix) if suffix.isdigit() else None


def _occurred(data: object) -> datetime | None:
    value = data.get("occurred_at") if isinstance(data, dict) else None
    try:
        return parse_time(value, what="occurred_at")
    except CannotMatch:
        return None


def _started(data: object) -> datetime | None:
    interview = data.get("interview") if isinstance(data, dict) else None
    value = interview.get("start_at") if isinstance(interview, dict) else None
    try:
        return parse_time(value, what="start_at")
    except CannotMatch:
        return None


def relative_match(automation: Automation, event: dict, *, why_not: str) -> dict | None:
    """The match-list entry for this automation and an interview event (None: the event is
    not about an interview). Runs in the caller's savepoint."""
    interview = event.get("interview") or {}
    if event.get("type") not in (SCHEDULED, CANCELLED) or not interview.get("id"):
        return None
    entry = {"automation": automation.pk}
    base = relative_key_base(event.get("provider"), str(interview["id"]))
    # Locked (PostgreSQL; SQLite has one writer anyway): two events of one interview
    # processed at once take turns.
    rows = (
        AutomationRun.objects.select_for_update()
        .filter(automation=automation)
        .filter(Q(idempotency_key=base) | Q(idempotency_key__startswith=base + "#"))
        .only("pk", "idempotency_key", "status", "scheduled_for", "trigger_data")
    )
    runs = sorted(
        (r for r in rows if _generation(r.idempotency_key, base) is not None),
        key=lambda r: _generation(r.idempotency_key, base),
    )
    latest = runs[-1] if runs else None
    occurred, applied = _occurred(event), _occurred(latest.trigger_data) if latest else None
    if occurred is not None and applied is not None and occurred < applied:
        return {
            **entry,
            "matched": False,
            "reason": (
                f"stale: this event happened at {occurred.isoformat()}, before the last one "
                f"applied to this interview ({applied.isoformat()})"
            ),
            "run": latest.pk,
        }
    pending = next((r for r in runs if r.status == AutomationRun.Status.PENDING), None)
    if event["type"] == CANCELLED:
        return {**entry, **_cancel(pending, latest, event)}
    if why_not:
        return {**entry, "matched": False, "reason": why_not}
    if not interview.get("start_at"):
        return {**entry, "matched": False, "reason": "the interview has no start time"}
    start = parse_time(interview["start_at"], what="the interview's start_at")
    when = offset_from(start, automation.offset_minutes or 0)
    now = timezone.now()
    if start < now:
        # Left as it is: for an interview under way a late report changes nothing.
        started = {**entry, "matched": False, "reason": "the interview has already started"}
        return {**started, "run": pending.pk} if pending is not None else started
    fire_at = max(when, now)
    if pending is not None:
        moved = AutomationRun.objects.filter(
            pk=pending.pk, status=AutomationRun.Status.PENDING
        ).update(scheduled_for=fire_at, trigger_data=event, dispatched_at=None)
        if moved:
            return {**entry, "matched": True, "run": pending.pk, "moved_to": fire_at.isoformat()}
        # Taken by a worker in between: it is running now, a new generation follows below.
    elif (
        latest is not None
        and latest.status != AutomationRun.Status.CANCELLED
        and (_started(latest.trigger_data) == start or latest.scheduled_for == when)
    ):
        # Already ran (or is running) for this booking: the same booking reported again
        # (a poll after the webhook, a redelivery) fires nothing new.
        return {
            **entry,
            "matched": False,
            "reason": f"already {latest.status} for this interview at this time",
            "run": latest.pk,
        }
    generation = (_generation(latest.idempotency_key, base) + 1) if latest else 1
    key = relative_key(base, generation)
    run, created = run_fire(
        automation=automation,
        key=key,
        triggered_by=AutomationRun.TriggeredBy.RELATIVE,
        scheduled_for=fire_at,
        trigger_data=event,
    )
    return {
        **entry,
        "matched": True,
        "run": run.pk,
        "new": created,
        "scheduled_for": fire_at.isoformat(),
    }


def _cancel(pending: AutomationRun | None, latest: AutomationRun | None, event: dict) -> dict:
    if pending is not None:
        # The cancelling event is kept on the run: its occurred_at is what a late "scheduled"
        # (older than the cancellation) is compared with.
        cancelled = AutomationRun.objects.filter(
            pk=pending.pk, status=AutomationRun.Status.PENDING
        ).update(
            status=AutomationRun.Status.CANCELLED,
            finished_at=timezone.now(),
            error_code="interview_cancelled",
            error_message="The interview was cancelled.",
            trigger_data=event,
        )
        if cancelled:
            return {"matched": True, "cancelled": pending.pk}
    if latest is None:
        return {"matched": False, "reason": "no run for this interview: nothing to cancel"}
    return {
        "matched": False,
        "reason": f"nothing to cancel: the run for this interview is {latest.status}",
        "run": latest.pk,
    }
