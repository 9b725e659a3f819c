"""Bad automation input, as a table every surface that validates an automation is fed (the
services, the admin form; the API when it comes): each case must give the same field key and
the same message everywhere, because every surface calls automations.validation's
automation_spec_clean.

A case's `values` are what an API's JSON would carry (typed); `form` the admin form's text
where it is not just `values` written as text. A value may be a callable taking the Context
(for rows the case needs: channels, a switched-off skill)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from accounts.models import Organization

SKILL = "stale-candidates"  # its params schema has an integer "days"

# A good automation of each trigger kind that every plan allows (daily at most).
GOOD: dict[str, dict[str, Any]] = {
    "cron": {"trigger_type": "cron", "cron_expression": "0 9 * * 1"},
    "event": {"trigger_type": "event", "event_type": "ats.candidate.stage_changed"},
    "poll": {"trigger_type": "poll", "poll_interval_seconds": 86400},
    "relative": {"trigger_type": "relative", "offset_minutes": -30},
}
COMMON: dict[str, Any] = {
    "name": "Validated",
    "params": {"days": 10},
    "time_zone": "UTC",
    "event_filter": {},
    "catch_up": "latest",
    "retry_limit": 3,
}


@dataclass
class Context:
    org: Organization
    owner: Any


@dataclass(frozen=True)
class BadInput:
    id: str
    values: dict[str, Any]
    # The spec's error key -> a part of its message. Usually one; a case may break several
    # fields at once, and every one must be reported.
    expected: dict[str, str]
    trigger: str = "cron"
    plan: str = Organization.Plan.PRO
    form: dict[str, Any] = field(default_factory=dict)


def _many_channels(ctx: Context) -> list:
    from delivery.models import DeliveryChannel

    return [
        DeliveryChannel.objects.create(
            organization=ctx.org, owner=ctx.owner, kind="in_app", name=f"inbox {i}", config={}
        )
        for i in range(21)
    ]


def _switched_off_skill(ctx: Context):
    from skills.models import Skill

    return Skill.objects.create(
        slug="retired", name="Retired", description="x", mode="deterministic", active=False
    )


CASES: list[BadInput] = [
    BadInput("empty name", {"name": ""}, {"name": "Give the automation a name."}),
    BadInput("blank name", {"name": "   "}, {"name": "Give the automation a name."}),
    BadInput("name too long", {"name": "x" * 201}, {"name": "At most 200 characters"}),
    BadInput("bad cron", {"cron_expression": "0 25 * * *"}, {"cron_expression": "not a valid"}),
    BadInput("cron of 4 fields", {"cron_expression": "0 9 * *"}, {"cron_expression": "5 fields"}),
    BadInput(
        "cron too frequent for the plan",
        {"cron_expression": "0 * * * *"},
        {"cron_expression": "at most once a day"},
        plan=Organization.Plan.FREE,
    ),
    BadInput("unknown time zone", {"time_zone": "Moon/Base"}, {"time_zone": "not a known"}),
    BadInput(
        "event without event type",
        {"event_type": ""},
        {"event_type": "Choose the ATS event"},
        trigger="event",
    ),
    BadInput(
        "unknown event type",
        {"event_type": "ats.candidate.moved"},
        {"event_type": "Unknown event type"},
        trigger="event",
    ),
    BadInput(
        "offset out of bounds",
        {"offset_minutes": 10**6},
        {"offset_minutes": "between -43200 and 43200"},
        trigger="relative",
    ),
    BadInput(
        "offset not a number",
        {"offset_minutes": "abc"},
        {"offset_minutes": "Enter a whole number."},
        trigger="relative",
    ),
    BadInput(
        "offset not whole",
        {"offset_minutes": "1.5"},
        {"offset_minutes": "Enter a whole number."},
        trigger="relative",
    ),
    BadInput(
        "offset missing",
        {"offset_minutes": None},
        {"offset_minutes": "Say when"},
        trigger="relative",
    ),
    BadInput(
        "poll interval too small",
        {"poll_interval_seconds": 59},
        {"poll_interval_seconds": "between 60 and"},
        trigger="poll",
    ),
    BadInput(
        "poll too frequent for the plan",
        {"poll_interval_seconds": 900},
        {"poll_interval_seconds": "at most once a day"},
        trigger="poll",
        plan=Organization.Plan.FREE,
    ),
    BadInput("params not JSON", {"params": "{not json"}, {"params": "Enter a JSON object"}),
    BadInput("params a list", {"params": [1]}, {"params": "Enter a JSON object"}),
    BadInput(
        "params failing the skill schema",
        {"params": {"days": "ten"}},
        {"params": "is not of type 'integer'"},
    ),
    BadInput(
        "bad filter operator",
        {"event_filter": {"stage.to": {"startswith": "Int"}}},
        {"event_filter": "use one of contains, equals, in"},
        trigger="event",
    ),
    BadInput(
        "filter 'in' without a list",
        {"event_filter": {"stage.to": {"in": "x"}}},
        {"event_filter": "'in' takes a list"},
        trigger="event",
    ),
    BadInput("bad catch-up", {"catch_up": "never"}, {"catch_up": "Choose one of latest"}),
    BadInput("retry limit 99", {"retry_limit": 99}, {"retry_limit": "between 0 and 10"}),
    BadInput("retry limit abc", {"retry_limit": "abc"}, {"retry_limit": "Enter a whole number."}),
    BadInput("unknown trigger", {"trigger_type": "weekly"}, {"trigger_type": "Choose one of"}),
    BadInput("too many channels", {"channels": _many_channels}, {"channels": "At most 20"}),
    BadInput("skill switched off", {"skill": _switched_off_skill}, {"skill": "switched off"}),
    BadInput(
        "every bad field at once",
        {"name": "", "retry_limit": 99, "time_zone": "Moon/Base", "catch_up": "never"},
        {
            "name": "Give the automation a name.",
            "retry_limit": "between 0 and 10",
            "time_zone": "not a known",
            "catch_up": "Choose one of latest",
        },
    ),
]


def resolve(values: dict[str, Any], ctx: Context) -> dict[str, Any]:
    return {k: v(ctx) if callable(v) else v for k, v in values.items()}


def as_form_text(name: str, value: Any) -> Any:
    """How the admin form would carry `value`: ids for rows, JSON for objects, "" for None."""
    if value is None:
        return ""
    if hasattr(value, "pk"):
        return value.pk
    if isinstance(value, list) and all(hasattr(v, "pk") for v in value):
        return [v.pk for v in value]
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value if isinstance(value, str) else str(value)
