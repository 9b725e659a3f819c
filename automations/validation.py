"""Checks shared by create and update: each raises ValidationError keyed by field, with a
message that says what to do."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts import plans
from accounts.models import Organization
from automations import cron
from automations.models import Automation
from skills.models import Skill
from skills.registry import validate_params

MIN_POLL_SECONDS = 60


def clean_schedule(
    *,
    trigger_type: str,
    cron_expression: str,
    time_zone: str,
    poll_interval_seconds: int | None,
    event_type: str,
    offset_minutes: int | None,
) -> dict[str, Any]:
    if trigger_type not in Automation.TriggerType.values:
        raise ValidationError(
            {"trigger_type": f"Choose one of {', '.join(Automation.TriggerType.values)}."}
        )
    try:
        cron.zone(time_zone)
    except cron.CronError as exc:
        raise ValidationError({"time_zone": str(exc)}) from None
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
        except cron.CronError as exc:
            raise ValidationError({"cron_expression": str(exc)}) from None
        if cron.next_fire(out["cron_expression"], time_zone, timezone.now()) is None:
            raise ValidationError({"cron_expression": "This schedule never fires."})
    elif trigger_type == Automation.TriggerType.POLL:
        if not poll_interval_seconds or poll_interval_seconds < MIN_POLL_SECONDS:
            raise ValidationError(
                {"poll_interval_seconds": f"Poll at most every {MIN_POLL_SECONDS} seconds."}
            )
        out["poll_interval_seconds"] = int(poll_interval_seconds)
    elif trigger_type == Automation.TriggerType.EVENT:
        if not event_type:
            raise ValidationError(
                {"event_type": "Choose the ATS event, e.g. ats.candidate.stage_changed."}
            )
        out["event_type"] = event_type
    elif trigger_type == Automation.TriggerType.RELATIVE:
        if offset_minutes is None:
            raise ValidationError(
                {"offset_minutes": "Say when, in minutes from the interview, e.g. -30."}
            )
        out["offset_minutes"] = int(offset_minutes)
        out["event_type"] = event_type or "ats.interview.scheduled"
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


def clean_params(*, skill: Skill, params: dict | None) -> dict:
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ValidationError({"params": 'Params must be a JSON object, e.g. {"days": 14}.'})
    try:
        return validate_params(skill=skill, params=params)
    except ValueError as exc:
        raise ValidationError({"params": f"Invalid params for {skill.name}: {exc}"}) from None
