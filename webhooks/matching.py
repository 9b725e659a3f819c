"""Event -> automations: the org's event automations whose type (or the provider's raw type)
and filter match get one run each, keyed by the event; relative automations schedule, move or
cancel a run around an interview. Every automation that does not match is recorded with why."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from accounts.plans import limits_for
from automations.firing import run_fire
from automations.models import Automation, AutomationRun
from webhooks import filters
from webhooks.models import InboundEvent


def _over_plan(org, automations: list[Automation]) -> set[int]:
    """Active automations beyond the plan's count (after a downgrade): the newest ones."""
    limit = limits_for(org).max_active_automations
    active = sorted(
        (a for a in automations if a.status == Automation.Status.ACTIVE), key=lambda a: a.created_at
    )
    if limit is None or len(active) <= limit:
        return set()
    return {a.pk for a in active[limit:]}


def _why_not(automation: Automation, event: dict, over_plan: set[int]) -> str:
    if automation.status == Automation.Status.PAUSED:
        return "paused"
    if automation.status == Automation.Status.PENDING_APPROVAL:
        return "pending approval"
    if automation.pk in over_plan:
        return "plan limit: more active automations than the plan allows"
    if automation.event_type not in (event.get("type"), event.get("raw_type")):
        return (
            f"wrong type: wants {automation.event_type}, event is "
            f"{event.get('type') or event.get('raw_type')}"
        )
    ok, why = filters.matches(automation.event_filter, event)
    return "" if ok else why


def match_and_fire(*, inbound: InboundEvent, event: dict) -> list[dict]:
    org = inbound.connection.organization
    candidates = list(
        Automation.objects.filter(
            organization=org,
            trigger_type__in=[Automation.TriggerType.EVENT, Automation.TriggerType.RELATIVE],
        ).select_related("organization")
    )
    over_plan = _over_plan(org, candidates)
    results = []
    for automation in candidates:
        if automation.trigger_type == Automation.TriggerType.RELATIVE:
            result = _relative(automation, event, over_plan)
            if result is not None:
                results.append(result)
            continue
        why = _why_not(automation, event, over_plan)
        if why:
            results.append({"automation": automation.pk, "matched": False, "reason": why})
            continue
        run, created = run_fire(
            automation=automation,
            key=f"event:{inbound.public_id}",
            triggered_by=AutomationRun.TriggeredBy.EVENT,
            trigger_data=event,
        )
        results.append(
            {"automation": automation.pk, "matched": True, "run": run.pk, "new": created}
        )
    return results


def _relative(automation: Automation, event: dict, over_plan: set[int]) -> dict | None:
    """ "N minutes before/after each interview": a run at start + offset, moved when the
    interview moves, cancelled when it is."""
    interview = event.get("interview") or {}
    if event.get("type") not in (
        "ats.interview.scheduled",
        "ats.interview.cancelled",
    ) or not interview.get("id"):
        return None
    key = f"relative:{event.get('provider')}:{interview['id']}"
    base = {"automation": automation.pk}
    if event["type"] == "ats.interview.cancelled":
        cancelled = AutomationRun.objects.filter(
            automation=automation, idempotency_key=key, status=AutomationRun.Status.PENDING
        ).update(
            status=AutomationRun.Status.CANCELLED,
            finished_at=timezone.now(),
            error_code="interview_cancelled",
            error_message="The interview was cancelled.",
        )
        return {**base, "matched": True, "cancelled": cancelled}
    why = _why_not(automation, {**event, "type": automation.event_type}, over_plan)
    if why:
        return {**base, "matched": False, "reason": why}
    if not interview.get("start_at"):
        return {**base, "matched": False, "reason": "the interview has no start time"}
    start = datetime.fromisoformat(interview["start_at"])
    when = start + timedelta(minutes=automation.offset_minutes or 0)
    if start < timezone.now():
        return {**base, "matched": False, "reason": "the interview has already started"}
    when = max(when, timezone.now())
    moved = AutomationRun.objects.filter(
        automation=automation, idempotency_key=key, status=AutomationRun.Status.PENDING
    ).update(scheduled_for=when, trigger_data=event, dispatched_at=None)
    if moved:
        run = AutomationRun.objects.get(automation=automation, idempotency_key=key)
        return {**base, "matched": True, "run": run.pk, "moved_to": when.isoformat()}
    run, created = run_fire(
        automation=automation,
        key=key,
        triggered_by=AutomationRun.TriggeredBy.RELATIVE,
        scheduled_for=when,
        trigger_data=event,
    )
    return {
        **base,
        "matched": True,
        "run": run.pk,
        "new": created,
        "scheduled_for": when.isoformat(),
    }
