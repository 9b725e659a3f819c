"""Automations in plain English, for people: "At 09:00 on Monday (America/Los_Angeles)",
"When a candidate moves stage, if stage.to is 'Onsite'", "30 minutes before each interview".
The dashboard's lists, the builder's preview and "why didn't it fire?" all say it this way.
Cron wording comes from cronsim (automations.scheduling.cron.describe), the library that
fires the schedule, so the words and the firing cannot disagree."""

from __future__ import annotations

from typing import Protocol

from automations.models import Automation
from automations.scheduling import cron

EVENT_LABELS = {
    "ats.candidate.created": "a new candidate is added",
    "ats.application.created": "a new application comes in",
    "ats.candidate.stage_changed": "a candidate moves stage",
    "ats.interview.scheduled": "an interview is scheduled",
    "ats.interview.cancelled": "an interview is cancelled",
    "ats.offer.created": "an offer is made",
    "ats.offer.accepted": "a candidate accepts an offer",
    "ats.candidate.hired": "a candidate is hired",
    "ats.candidate.rejected": "a candidate is rejected",
}


class _Trigger(Protocol):
    trigger_type: str
    cron_expression: str
    time_zone: str
    event_type: str
    event_filter: dict
    offset_minutes: int | None
    poll_interval_seconds: int | None


def event_label(event_type: str) -> str:
    """'a candidate moves stage', or the provider's own event name as it is."""
    return EVENT_LABELS.get(event_type, f"the ATS sends '{event_type}'")


def duration_words(seconds: int) -> str:
    """900 -> '15 minutes', 3600 -> 'hour', 7200 -> '2 hours', 86400 -> 'day'."""
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds % size == 0:
            count = seconds // size
            return unit if count == 1 else f"{count} {unit}s"
    return f"{seconds} seconds"


def filter_words(event_filter: dict) -> str:
    """{"stage.to": "Onsite"} -> "stage.to is 'Onsite'"; operators in words."""
    parts = []
    for path, condition in (event_filter or {}).items():
        if isinstance(condition, dict):
            op = next((k for k in condition if k != "case_sensitive"), "equals")
            wanted = condition.get(op)
            if op == "in" and isinstance(wanted, list):
                parts.append(f"{path} is one of {', '.join(repr(w) for w in wanted)}")
            elif op == "contains":
                parts.append(f"{path} contains {wanted!r}")
            else:
                parts.append(f"{path} is {wanted!r}")
        else:
            parts.append(f"{path} is {condition!r}")
    return " and ".join(parts)


def trigger_words(automation: _Trigger) -> str:
    """The trigger in one sentence. Takes an Automation or an AutomationSpec."""
    kind = automation.trigger_type
    if kind == Automation.TriggerType.CRON:
        return f"{cron.describe(automation.cron_expression)} ({automation.time_zone})"
    if kind == Automation.TriggerType.POLL:
        every = duration_words(automation.poll_interval_seconds or 0)
        return f"Every {every}, checking the ATS for changes"
    if kind == Automation.TriggerType.EVENT:
        words = f"When {event_label(automation.event_type)}"
        condition = filter_words(automation.event_filter)
        return f"{words}, if {condition}" if condition else words
    if kind == Automation.TriggerType.RELATIVE:
        minutes = automation.offset_minutes or 0
        when = "At the start of" if minutes == 0 else duration_words(abs(minutes) * 60)
        if minutes == 0:
            return f"{when} each interview"
        side = "before" if minutes < 0 else "after"
        return f"{when[0].upper()}{when[1:]} {side} each interview"
    return kind
