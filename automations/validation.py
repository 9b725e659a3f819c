"""Checks shared by create and update (and the admin form): each raises one ValidationError
keyed by field, with a message that says what to do. Every field an automation stores goes
through one function here, so no surface can hand the model (or the cron math, or the
database) a value of the wrong type or size: services never raise TypeError, OverflowError,
OSError or ValueError for bad input."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts import plans
from accounts.models import Organization, validate_time_zone
from automations.models import Automation
from automations.scheduling import cron
from automations.triggers import filters
from skills.models import Skill
from skills.registry import validate_params

MIN_POLL_SECONDS = 60
# Polling less often than monthly is a schedule: use a cron trigger. Far inside the column's
# range (PositiveIntegerField, 2**31-1 on PostgreSQL) and inside what datetime can add.
MAX_POLL_SECONDS = 30 * 24 * 3600
# "N minutes before/after each interview": up to 30 days either way.
MAX_OFFSET_MINUTES = 30 * 24 * 60
MAX_RETRY_LIMIT = 10  # the model's check constraint
# The model columns' max_length.
MAX_NAME_LENGTH = Automation._meta.get_field("name").max_length
MAX_EVENT_TYPE_LENGTH = Automation._meta.get_field("event_type").max_length
# Params and filters are small JSON objects; a bound keeps a pasted megabyte out of the row.
MAX_JSON_BYTES = 16_000
MAX_CHANNELS = 20


def _error(field: str, message: str) -> ValidationError:
    return ValidationError({field: message})


def clean_int(
    value: Any, *, field: str, minimum: int, maximum: int, required: bool, hint: str
) -> int | None:
    """A whole number within [minimum, maximum]; None only when not required. bool is not a
    number here (True would pass as 1), and neither is a string or a float: every surface
    converts its own input first (forms, the API's JSON)."""
    if value is None:
        if required:
            raise _error(field, hint)
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _error(field, f"Enter a whole number. {hint}")
    if not minimum <= value <= maximum:
        raise _error(field, f"Enter a number between {minimum} and {maximum}. {hint}")
    return int(value)


def clean_text(value: Any, *, field: str, max_length: int, required: bool, hint: str) -> str:
    """Text, stripped, at most `max_length` characters (the column's)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _error(field, f"Enter text. {hint}")
    value = value.strip()
    if required and not value:
        raise _error(field, hint)
    if len(value) > max_length:
        raise _error(field, f"At most {max_length} characters (this has {len(value)}).")
    if "\x00" in value:  # PostgreSQL text refuses NUL
        raise _error(field, "Remove the NUL character.")
    return value


def clean_choice(value: Any, *, field: str, choices: list[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise _error(field, f"Choose one of {', '.join(choices)}.")
    return value


def clean_time_zone(value: Any, *, field: str = "time_zone") -> str:
    """The models' rule (accounts.models.validate_time_zone), keyed by field."""
    try:
        validate_time_zone(value)
    except ValidationError as exc:
        raise _error(field, exc.messages[0]) from None
    return value


def clean_json_object(value: Any, *, field: str, example: str) -> dict:
    """A JSON object that can be stored: serialisable, no NaN/Infinity (PostgreSQL's jsonb
    refuses them), not absurdly large or deep."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _error(field, f"Enter a JSON object, e.g. {example}.")
    try:
        size = len(json.dumps(value, allow_nan=False).encode())
    except (TypeError, ValueError, RecursionError):
        raise _error(field, f"Enter a plain JSON object, e.g. {example}.") from None
    if size > MAX_JSON_BYTES:
        raise _error(field, f"At most {MAX_JSON_BYTES} bytes of JSON (this has {size}).")
    return value


def clean_name(value: Any) -> str:
    return clean_text(
        value,
        field="name",
        max_length=MAX_NAME_LENGTH,
        required=True,
        hint="Give the automation a name.",
    )


def clean_retry_limit(value: Any) -> int:
    return clean_int(
        value,
        field="retry_limit",
        minimum=0,
        maximum=MAX_RETRY_LIMIT,
        required=True,
        hint=f"Retries must be between 0 and {MAX_RETRY_LIMIT}.",
    )


def clean_catch_up(value: Any) -> str:
    return clean_choice(value, field="catch_up", choices=Automation.CatchUp.values)


def clean_event_filter(value: Any) -> dict:
    try:
        filters.validate({} if value is None else value)
        value = clean_json_object(value, field="event_filter", example='{"stage.to": "Interview"}')
    except filters.FilterError as exc:
        raise _error("event_filter", str(exc)) from None
    return value


def clean_skill(value: Any) -> Skill:
    if not isinstance(value, Skill):
        raise _error("skill", "Choose a skill from the catalog.")
    if not value.active:
        raise _error("skill", f"The skill {value.name!r} is switched off.")
    return value


def clean_channel_specs(value: Any) -> list | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple):
        raise _error("channels", "Channels must be a list.")
    if len(value) > MAX_CHANNELS:
        raise _error("channels", f"At most {MAX_CHANNELS} channels.")
    return list(value)


def clean_settings(*, name: Any, catch_up: Any, retry_limit: Any, event_filter: Any) -> dict:
    """The fields that are not the schedule, cleaned."""
    return {
        "name": clean_name(name),
        "catch_up": clean_catch_up(catch_up),
        "retry_limit": clean_retry_limit(retry_limit),
        "event_filter": clean_event_filter(event_filter),
    }


def clean_schedule(
    *,
    trigger_type: Any,
    cron_expression: Any,
    time_zone: Any,
    poll_interval_seconds: Any,
    event_type: Any,
    offset_minutes: Any,
) -> dict[str, Any]:
    trigger_type = clean_choice(
        trigger_type, field="trigger_type", choices=Automation.TriggerType.values
    )
    time_zone = clean_time_zone(time_zone)
    out: dict[str, Any] = {
        "trigger_type": trigger_type,
        "time_zone": time_zone,
        "cron_expression": "",
        "poll_interval_seconds": None,
        "event_type": "",
        "offset_minutes": None,
    }
    if trigger_type == Automation.TriggerType.CRON:
        try:
            out["cron_expression"] = cron.normalize(cron_expression)
            never = cron.next_fire(out["cron_expression"], time_zone, timezone.now()) is None
        except cron.CronError as exc:
            raise _error("cron_expression", str(exc)) from None
        if never:
            raise _error("cron_expression", "This schedule never fires.")
    elif trigger_type == Automation.TriggerType.POLL:
        out["poll_interval_seconds"] = clean_int(
            poll_interval_seconds,
            field="poll_interval_seconds",
            minimum=MIN_POLL_SECONDS,
            maximum=MAX_POLL_SECONDS,
            required=True,
            hint=f"Poll at most every {MIN_POLL_SECONDS} seconds and at least every "
            f"{MAX_POLL_SECONDS // 86400} days, in seconds, e.g. 900.",
        )
    elif trigger_type == Automation.TriggerType.EVENT:
        out["event_type"] = clean_text(
            event_type,
            field="event_type",
            max_length=MAX_EVENT_TYPE_LENGTH,
            required=True,
            hint="Choose the ATS event, e.g. ats.candidate.stage_changed.",
        )
    elif trigger_type == Automation.TriggerType.RELATIVE:
        out["offset_minutes"] = clean_int(
            offset_minutes,
            field="offset_minutes",
            minimum=-MAX_OFFSET_MINUTES,
            maximum=MAX_OFFSET_MINUTES,
            required=True,
            hint="Say when, in minutes from the interview, e.g. -30.",
        )
        out["event_type"] = (
            clean_text(
                event_type,
                field="event_type",
                max_length=MAX_EVENT_TYPE_LENGTH,
                required=False,
                hint="e.g. ats.interview.scheduled",
            )
            or "ats.interview.scheduled"
        )
    return out


def check_plan_frequency(*, org: Organization, schedule: dict[str, Any]) -> None:
    if schedule["trigger_type"] == Automation.TriggerType.CRON:
        twice, _gap = cron.frequency(
            schedule["cron_expression"], schedule["time_zone"], timezone.now()
        )
        plans.check_schedule_frequency(org=org, fires_twice_a_day=twice)
    elif schedule["trigger_type"] == Automation.TriggerType.POLL:
        gap = timedelta(seconds=schedule["poll_interval_seconds"])
        plans.check_schedule_frequency(org=org, fires_twice_a_day=gap < timedelta(days=1))


def clean_params(*, skill: Skill, params: Any) -> dict:
    params = clean_json_object(params, field="params", example='{"days": 14}')
    try:
        return validate_params(skill=skill, params=params)
    except (ValueError, TypeError, RecursionError) as exc:
        raise _error("params", f"Invalid params for {skill.name}: {exc}") from None
