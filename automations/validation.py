"""The one validation path for automations: `automation_spec_clean` turns raw input from any
surface (the admin, the dashboard, the API, natural-language drafts, templates) into a typed
`AutomationSpec`, or raises ONE ValidationError keyed by field that holds every field's
error, not just the first. `automation_create`, `automation_update` and the admin form all
call it, so a bad value gets the same key and the same message whichever surface sent it.

Values are taken as they are: a number must be an int, params a dict. A surface converts its
own transport first (a form's text: `automation_raw_from_form`; the API's JSON is already
typed), passing on anything it cannot convert unchanged, so that the message for "abc" is the
one below, never the transport's own. Nothing here writes, and no bad value reaches the model,
the cron math or the database as a TypeError, OverflowError, OSError or ValueError.

What is not about the input stays in the services: who may act, and the plan's count of
active automations (it needs the org row locked)."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any, Protocol

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from accounts import plans
from accounts.models import Organization, validate_time_zone
from automations.models import (
    MAX_OFFSET_MINUTES,
    MAX_POLL_SECONDS,
    MAX_RETRY_LIMIT,
    MIN_POLL_SECONDS,
    Automation,
)
from automations.scheduling import cron
from automations.triggers import filters
from delivery.channel_services import channel_spec_check
from skills.models import Skill
from skills.registry import validate_params
from webhooks.providers.common import CANONICAL_TYPES

__all__ = [
    "MAX_CHANNELS",
    "MAX_OFFSET_MINUTES",
    "MAX_POLL_SECONDS",
    "MAX_RETRY_LIMIT",
    "MIN_POLL_SECONDS",
    "AutomationSpec",
    "automation_raw_from_form",
    "automation_spec_clean",
    "check_plan_frequency",
]

# The model columns' max_length.
MAX_NAME_LENGTH = Automation._meta.get_field("name").max_length
MAX_EVENT_TYPE_LENGTH = Automation._meta.get_field("event_type").max_length
# Params and filters are small JSON objects; a bound keeps a pasted megabyte out of the row.
MAX_JSON_BYTES = 16_000
MAX_CHANNELS = 20
# Canonical types share this prefix; anything else is a provider's own event name (matched on
# the stored event's raw_type), which we cannot list.
CANONICAL_PREFIX = "ats."
INTERVIEW_SCHEDULED = "ats.interview.scheduled"


@dataclass(frozen=True)
class AutomationSpec:
    """Every field an automation stores from user input, validated and typed. `channels` is
    None when not given (create: the owner's inbox; update: unchanged), else DeliveryChannels
    and shorthand dicts ({"kind": "in_app"}, {"kind": "email", "to": [...]})."""

    name: str
    skill: Skill
    params: dict
    trigger_type: str
    cron_expression: str
    time_zone: str
    event_type: str
    event_filter: dict
    offset_minutes: int | None
    poll_interval_seconds: int | None
    channels: tuple[Any, ...] | None
    catch_up: str
    retry_limit: int

    def model_values(self) -> dict[str, Any]:
        """The values to set on the Automation row (channels are a relation, set apart)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "channels"}


FIELDS = tuple(f.name for f in fields(AutomationSpec))
SCHEDULE_FIELDS = (
    "trigger_type",
    "cron_expression",
    "time_zone",
    "event_type",
    "offset_minutes",
    "poll_interval_seconds",
)


class _Schedule(Protocol):
    trigger_type: str
    cron_expression: str
    time_zone: str
    poll_interval_seconds: int | None


def _error(field: str, message: str) -> ValidationError:
    return ValidationError({field: message})


def _int(value: Any, *, field: str, minimum: int, maximum: int, hint: str) -> int:
    """A whole number within [minimum, maximum]. bool is not a number here (True would pass
    as 1), and neither is a string or a float: see the module docstring."""
    if value is None:
        raise _error(field, hint)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _error(field, f"Enter a whole number. {hint}")
    if not minimum <= value <= maximum:
        raise _error(field, f"Enter a number between {minimum} and {maximum}. {hint}")
    return int(value)


def _text(value: Any, *, field: str, max_length: int, required: bool, hint: str) -> str:
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


def _choice(value: Any, *, field: str, choices: list[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise _error(field, f"Choose one of {', '.join(choices)}.")
    return value


def _time_zone(value: Any) -> str:
    """The models' rule (accounts.models.validate_time_zone), keyed by field."""
    try:
        validate_time_zone(value)
    except ValidationError as exc:
        raise _error("time_zone", exc.messages[0]) from None
    return value


def _json_object(value: Any, *, field: str, example: str) -> dict:
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


def _name(value: Any) -> str:
    return _text(
        value,
        field="name",
        max_length=MAX_NAME_LENGTH,
        required=True,
        hint="Give the automation a name.",
    )


def _retry_limit(value: Any) -> int:
    return _int(
        value,
        field="retry_limit",
        minimum=0,
        maximum=MAX_RETRY_LIMIT,
        hint=f"Retries must be between 0 and {MAX_RETRY_LIMIT}.",
    )


def _event_filter(value: Any) -> dict:
    try:
        filters.validate({} if value is None else value)
    except filters.FilterError as exc:
        raise _error("event_filter", str(exc)) from None
    return _json_object(value, field="event_filter", example='{"stage.to": "Interview"}')


def _skill(value: Any, *, kept: bool = False) -> Skill:
    """`kept`: the automation's own skill, unchanged by this edit; switching a skill off
    stops its runs, not every other edit of the automations that use it."""
    if not isinstance(value, Skill):
        raise _error("skill", "Choose a skill from the catalog.")
    if not value.active and not kept:
        raise _error("skill", f"The skill {value.name!r} is switched off.")
    return value


def _params(value: Any, *, skill: Skill | None) -> dict:
    params = _json_object(value, field="params", example='{"days": 14}')
    if skill is None:  # the skill has its own error; its schema cannot be checked
        return params
    try:
        return validate_params(skill=skill, params=params)
    except (ValueError, TypeError, RecursionError) as exc:
        raise _error("params", f"Invalid params for {skill.name}: {exc}") from None


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _channel(spec: Any, *, org: Organization) -> Any:
    """One channel spec, checked the way channel_from_spec will use it (the one check, in
    delivery.channel_services), without writing anything."""
    return channel_spec_check(org=org, spec=spec)


def _channels(value: Any, *, org: Organization) -> tuple[Any, ...] | None:
    if value is None:
        return None
    if isinstance(value, QuerySet):  # a form's ModelMultipleChoiceField
        value = list(value)
    if not isinstance(value, list | tuple):
        raise _error("channels", "Channels must be a list.")
    if len(value) > MAX_CHANNELS:
        raise _error("channels", f"At most {MAX_CHANNELS} channels.")
    return tuple(_channel(spec, org=org) for spec in value)


def _event_type(value: Any, *, required: bool) -> str:
    event_type = _text(
        value,
        field="event_type",
        max_length=MAX_EVENT_TYPE_LENGTH,
        required=required,
        hint="Choose the ATS event, e.g. ats.candidate.stage_changed.",
    )
    # A provider's own event name is matched on raw_type and cannot be listed; a name in our
    # canonical namespace that we do not know is a typo that would never match.
    if event_type.startswith(CANONICAL_PREFIX) and event_type not in CANONICAL_TYPES:
        raise _error(
            "event_type",
            f"Unknown event type {_shown(event_type)}: choose one of "
            f"{', '.join(CANONICAL_TYPES)}, or a provider's own event name.",
        )
    return event_type


def check_plan_frequency(*, org: Organization, schedule: _Schedule) -> None:
    """The plan's frequency rule for a valid schedule (an AutomationSpec or a saved
    Automation): raises accounts.plans.PlanLimitError. Resuming and approving reuse it."""
    if schedule.trigger_type == Automation.TriggerType.CRON:
        twice, _gap = cron.frequency(schedule.cron_expression, schedule.time_zone, timezone.now())
        plans.check_schedule_frequency(org=org, fires_twice_a_day=twice)
    elif schedule.trigger_type == Automation.TriggerType.POLL:
        gap = timedelta(seconds=schedule.poll_interval_seconds)
        plans.check_schedule_frequency(org=org, fires_twice_a_day=gap < timedelta(days=1))


class _Errors:
    """Collects each field's first error, so one ValidationError can say everything."""

    def __init__(self) -> None:
        self.by_field: dict[str, list[ValidationError]] = {}

    def run(self, check: Callable[[], Any]) -> Any:
        """check()'s value, or None after recording its error."""
        try:
            return check()
        except ValidationError as exc:
            by_field = (
                exc.error_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.error_list}
            )
            for field, errors in by_field.items():
                self.by_field.setdefault(field, []).extend(errors)
            return None

    def failed(self, *names: str) -> bool:
        return any(name in self.by_field for name in names)


def automation_spec_clean(
    *, org: Organization, raw: Mapping[str, Any], existing: Automation | None = None
) -> AutomationSpec:
    """Validate `raw` (keys: AutomationSpec's fields) for a new automation in `org`, or for a
    change to `existing`, whose values stand in for every key `raw` leaves out. Raises one
    ValidationError keyed by field with every field's error."""
    unknown = set(raw) - set(FIELDS)
    if unknown:
        verb = "cannot be changed" if existing is not None else "are not automation fields"
        raise ValidationError(f"These fields {verb}: {', '.join(sorted(unknown))}.")

    def value(field: str, default: Any = None) -> Any:
        if field in raw:
            return raw[field]
        if existing is not None and field != "channels":
            return getattr(existing, field)
        return default

    time_zone = value("time_zone")
    if time_zone is None and existing is None:
        time_zone = org.time_zone  # a new automation reads its schedule in the org's zone
    errors = _Errors()
    kept_skill = existing is not None and "skill" not in raw
    skill = errors.run(lambda: _skill(value("skill"), kept=kept_skill))
    out: dict[str, Any] = {
        "name": errors.run(lambda: _name(value("name"))),
        "skill": skill,
        "params": errors.run(lambda: _params(value("params"), skill=skill)),
        "event_filter": errors.run(lambda: _event_filter(value("event_filter"))),
        "channels": errors.run(lambda: _channels(value("channels"), org=org)),
        "catch_up": errors.run(
            lambda: _choice(
                value("catch_up", Automation.CatchUp.LATEST),
                field="catch_up",
                choices=Automation.CatchUp.values,
            )
        ),
        "retry_limit": errors.run(lambda: _retry_limit(value("retry_limit", 3))),
        "trigger_type": errors.run(
            lambda: _choice(
                value("trigger_type"), field="trigger_type", choices=Automation.TriggerType.values
            )
        ),
        "time_zone": errors.run(lambda: _time_zone(time_zone)),
        # What the trigger does not use is stored empty.
        "cron_expression": "",
        "event_type": "",
        "offset_minutes": None,
        "poll_interval_seconds": None,
    }
    trigger = out["trigger_type"]
    if trigger == Automation.TriggerType.CRON:
        out["cron_expression"] = errors.run(lambda: _cron(value("cron_expression"), time_zone))
    elif trigger == Automation.TriggerType.POLL:
        out["poll_interval_seconds"] = errors.run(
            lambda: _int(
                value("poll_interval_seconds"),
                field="poll_interval_seconds",
                minimum=MIN_POLL_SECONDS,
                maximum=MAX_POLL_SECONDS,
                hint=f"Poll at most every {MIN_POLL_SECONDS} seconds and at least every "
                f"{MAX_POLL_SECONDS // 86400} days, in seconds, e.g. 900.",
            )
        )
    elif trigger == Automation.TriggerType.EVENT:
        out["event_type"] = errors.run(lambda: _event_type(value("event_type"), required=True))
    elif trigger == Automation.TriggerType.RELATIVE:
        out["offset_minutes"] = errors.run(
            lambda: _int(
                value("offset_minutes"),
                field="offset_minutes",
                minimum=-MAX_OFFSET_MINUTES,
                maximum=MAX_OFFSET_MINUTES,
                hint="Say when, in minutes from the interview, e.g. -30.",
            )
        )
        out["event_type"] = (
            errors.run(lambda: _event_type(value("event_type"), required=False))
            or INTERVIEW_SCHEDULED
        )
    if errors.by_field:
        raise ValidationError(errors.by_field)
    spec = AutomationSpec(**out)
    # The plan's rule is about a valid schedule; its error goes beside the field that sets
    # how often the automation runs.
    field = "poll_interval_seconds" if trigger == Automation.TriggerType.POLL else "cron_expression"
    errors.run(lambda: _plan_frequency(org=org, spec=spec, field=field))
    if errors.by_field:
        raise ValidationError(errors.by_field)
    return spec


def _cron(expression: Any, time_zone: Any) -> str:
    try:
        expression = cron.normalize(expression)
        # The zone has its own error; without it only the expression's form can be checked.
        if _valid_zone(time_zone) and cron.next_fire(expression, time_zone, timezone.now()) is None:
            raise _error("cron_expression", "This schedule never fires.")
    except cron.CronError as exc:
        raise _error("cron_expression", str(exc)) from None
    return expression


def _valid_zone(time_zone: Any) -> bool:
    try:
        validate_time_zone(time_zone)
    except ValidationError:
        return False
    return True


def _plan_frequency(*, org: Organization, spec: AutomationSpec, field: str) -> None:
    try:
        check_plan_frequency(org=org, schedule=spec)
    except plans.PlanLimitError as exc:
        raise ValidationError({field: exc.error_list}) from None


# Up to 18 digits: longer text is no whole number any column holds (and int() refuses text
# past 4300 digits), so it goes on as text and gets the spec's "Enter a whole number".
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,18}")
FORM_INT_FIELDS = ("offset_minutes", "poll_interval_seconds", "retry_limit")
FORM_JSON_FIELDS = ("params", "event_filter")


def automation_raw_from_form(data: Mapping[str, Any]) -> dict[str, Any]:
    """A form's text as the raw mapping, converted only where the text is unambiguous: a
    whole number (ASCII digits) becomes an int, valid JSON its value, an empty box None.
    Anything else is passed on as typed, so the spec's message is the one shown."""
    raw = dict(data)
    for field in FORM_INT_FIELDS:
        text = raw.get(field)
        if isinstance(text, str):
            text = text.strip()
            raw[field] = None if not text else int(text) if _WHOLE_NUMBER.fullmatch(text) else text
    for field in FORM_JSON_FIELDS:
        text = raw.get(field)
        if isinstance(text, str):
            if not text.strip():
                raw[field] = None
                continue
            # Text that is not JSON goes on as text: "Enter a JSON object", from the spec.
            with contextlib.suppress(ValueError, RecursionError):
                raw[field] = json.loads(text)
    return raw


# -- who an automation is for (org-wide automations) -----------------------------------------


@dataclass(frozen=True)
class AudienceSpec:
    """Who owns an automation and who gets its runs, validated. `members` is the chosen
    members (audience "members" only; empty otherwise)."""

    owner: Any
    audience: str
    members: tuple[Any, ...]


AUDIENCE_FIELDS = ("owner", "audience", "audience_members")


def audience_spec_clean(
    *,
    org: Organization,
    acting_is_admin: bool,
    acting_user: Any,
    raw: Mapping[str, Any],
    existing: Automation | None = None,
    trigger_type: str | None = None,
) -> AudienceSpec:
    """Validate the owner and the audience (keys of AUDIENCE_FIELDS in `raw`; missing keys
    keep `existing`'s values, or default to the acting user and "owner" on create). Only an
    org admin may name another owner or an audience other than the owner; every person named
    must be a member of `org`. One ValidationError keyed by field."""
    from accounts.models import Membership

    errors: dict[str, str] = {}
    owner = raw.get("owner") if "owner" in raw else (existing.owner if existing else acting_user)
    if "audience" in raw:
        audience = raw.get("audience")
    else:
        audience = existing.audience if existing is not None else Automation.Audience.OWNER
    if "audience_members" in raw:
        members_given = raw.get("audience_members")
    elif existing is not None and existing.pk:
        members_given = list(existing.audience_members.all())
    else:
        members_given = []
    members_given = list(members_given or [])

    member_ids = set(Membership.objects.filter(organization=org).values_list("user_id", flat=True))
    if owner is None or getattr(owner, "pk", None) not in member_ids:
        errors["owner"] = f"The owner must be a member of {org.name}."
    elif (
        not acting_is_admin
        and "owner" in raw
        and owner.pk != getattr(existing.owner if existing else acting_user, "pk", None)
    ):
        errors["owner"] = "Only an org admin can make an automation for another member."

    if not isinstance(audience, str) or audience not in Automation.Audience.values:
        errors["audience"] = f"Choose one of {', '.join(Automation.Audience.values)}."
    elif not acting_is_admin and ("audience" in raw or "audience_members" in raw):
        # Members keep their own automations to themselves; unchanged values are no change.
        unchanged = audience == (existing.audience if existing else Automation.Audience.OWNER)
        same_members = {getattr(m, "pk", m) for m in members_given} == (
            {m.pk for m in existing.audience_members.all()} if existing and existing.pk else set()
        )
        if not (unchanged and same_members):
            errors["audience"] = (
                "Only an org admin can make an automation for other members or the whole org."
            )
    trigger = trigger_type or (existing.trigger_type if existing else None)
    if (
        "audience" not in errors
        and audience != Automation.Audience.OWNER
        and trigger == Automation.TriggerType.RELATIVE
    ):
        # "30 minutes before each interview" is about one interviewer's calendar: a copy per
        # member would brief everyone about everyone's interviews.
        errors["audience"] = (
            "An automation relative to interviews is for its owner only: choose 'The owner'."
        )

    members: tuple[Any, ...] = ()
    if audience == Automation.Audience.MEMBERS and "audience" not in errors:
        if not members_given:
            errors["audience_members"] = "Choose at least one member."
        elif len(members_given) > 500:
            errors["audience_members"] = "At most 500 members (choose 'Every member' instead)."
        else:
            outsiders = [m for m in members_given if getattr(m, "pk", None) not in member_ids]
            if outsiders:
                errors["audience_members"] = f"Everyone chosen must be a member of {org.name}."
            members = tuple(dict.fromkeys(members_given))
    if errors:
        raise ValidationError(errors)
    return AudienceSpec(owner=owner, audience=audience, members=members)
