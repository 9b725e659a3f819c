"""Event -> automations: the org's event automations whose type (or the provider's raw type)
and filter match get one run each, keyed by the event; relative automations schedule, move or
cancel a run around an interview. Every automation that does not match is recorded with why.

Each automation is matched and fired in its own savepoint: one automation that cannot be
handled (a stored value no computation accepts, a filter of the wrong shape) gets an `error`
on its entry of the match list and the others go on."""

from __future__ import annotations

import logging

from django.db import transaction

from accounts.plans import limits_for
from automations.firing import run_fire
from automations.models import Automation, AutomationRun
from automations.run_caps import is_storm_pause
from automations.run_keys import change_event_key, event_key
from automations.triggers import filters
from automations.triggers.relative import CannotMatch, relative_match
from webhooks.models import AtsConnection, InboundEvent

logger = logging.getLogger(__name__)


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
        if is_storm_pause(automation.paused_reason):
            # Paused by the event-storm guard (automations/run_caps.py): the event is kept
            # and its entry says why no run came of it.
            return f"paused by the event-storm guard: {automation.paused_reason}"
        return "paused"
    if automation.status == Automation.Status.PENDING_APPROVAL:
        return "pending approval"
    if automation.status != Automation.Status.ACTIVE:
        # Rejected, or any state added later: only an active automation fires.
        return automation.get_status_display().lower()
    if automation.pk in over_plan:
        return "plan limit: more active automations than the plan allows"
    if automation.event_type not in (event.get("type"), event.get("raw_type")):
        return (
            f"wrong type: wants {automation.event_type}, event is "
            f"{event.get('type') or event.get('raw_type')}"
        )
    ok, why = filters.matches(automation.event_filter, event)
    return "" if ok else why


def match_and_fire(*, inbound: InboundEvent, event: dict, change_key: str = "") -> list[dict]:
    """One entry per automation of the org: matched (with its run) or why not, or the error
    that kept it from being handled. Call it inside a transaction."""
    org = inbound.connection.organization
    candidates = list(
        Automation.objects.filter(
            organization=org,
            trigger_type__in=[Automation.TriggerType.EVENT, Automation.TriggerType.RELATIVE],
        ).select_related("organization")
    )
    over_plan = _over_plan(org, candidates)
    key = _event_key(inbound, change_key)
    results = []
    for automation in candidates:
        try:
            with transaction.atomic():
                result = _one(automation, event, over_plan, key=key, own_key=_own_key(inbound))
        except CannotMatch as exc:
            result = {"automation": automation.pk, "matched": False, "error": str(exc)}
        except Exception as exc:
            # Logged with its traceback for us; the entry names only the kind of failure (an
            # exception's text may quote the event, i.e. a candidate's data).
            logger.exception("inbound event %s: automation %s failed", inbound.pk, automation.pk)
            result = {
                "automation": automation.pk,
                "matched": False,
                "error": f"internal error ({type(exc).__name__}); the others were matched",
            }
        if result is not None:
            results.append(result)
    return results


def _event_key(inbound: InboundEvent, change_key: str) -> str:
    """The run's idempotency key for an event automation. In `both` mode one change arrives
    twice (the webhook's delivery and the poll's), as two stored events: keyed by the change
    itself, both fire one run. Otherwise by the stored event (a redelivered message, or a
    replayed delivery the store dropped, fires nothing new)."""
    if change_key and inbound.connection.mode == AtsConnection.Mode.BOTH:
        return change_event_key(change_key)
    return _own_key(inbound)


def _own_key(inbound: InboundEvent) -> str:
    return event_key(inbound.public_id)


def _one(
    automation: Automation, event: dict, over_plan: set[int], *, key: str, own_key: str
) -> dict | None:
    if automation.trigger_type == Automation.TriggerType.RELATIVE:
        # A relative automation has no event type of its own: interviews are its events.
        why = _why_not(automation, {**event, "type": automation.event_type}, over_plan)
        return relative_match(automation, event, why_not=why)
    why = _why_not(automation, event, over_plan)
    if why:
        return {"automation": automation.pk, "matched": False, "reason": why}
    run, created = run_fire(
        automation=automation,
        key=key,
        triggered_by=AutomationRun.TriggeredBy.EVENT,
        trigger_data=event,
    )
    result = {"automation": automation.pk, "matched": True, "run": run.pk, "new": created}
    if not created and key != own_key:
        result["duplicate"] = "this change already fired this run (seen by webhook and poll)"
    return result
