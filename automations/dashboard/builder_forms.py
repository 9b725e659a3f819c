"""The builder's form: the transport between the page's inputs and the one validation path
(automations.validation). It composes the raw mapping (a preset's cron expression, the
filter rows' event_filter, the params fields' dict, the picked channels) and converts text
only where it is unambiguous, as automation_raw_from_form does; every judgement is
automation_spec_clean's, and its field-keyed errors are put back beside the inputs that set
the field (`errors_place`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from accounts.models import TIME_ZONE_MAX_LENGTH
from automations.describe import event_label
from automations.models import Automation
from automations.validation import FORM_INT_FIELDS, automation_raw_from_form
from skills.models import Skill
from webhooks.providers.common import CANONICAL_TYPES

OTHER_EVENT = "other"
FILTER_ROWS = 3
FILTER_FIELDS = (
    ("stage.to", "Stage moved to"),
    ("stage.from", "Stage moved from"),
    ("application.job_name", "Application's job name"),
    ("job.name", "Job name"),
    ("candidate.source", "Candidate's source"),
    ("interview.id", "Interview id"),
)
FILTER_OPERATORS = (("equals", "equals"), ("contains", "contains"), ("in", "is one of (commas)"))
WEEKDAYS = (
    ("1", "Monday"),
    ("2", "Tuesday"),
    ("3", "Wednesday"),
    ("4", "Thursday"),
    ("5", "Friday"),
    ("6", "Saturday"),
    ("0", "Sunday"),
)
PRESETS = (
    ("daily", "Daily at"),
    ("weekdays", "Weekdays at"),
    ("weekly", "Weekly on"),
    ("monthly", "Monthly on day"),
    ("minutes", "Every N minutes"),
    ("cron", "Cron expression"),
)
_TIME = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
_WHOLE = re.compile(r"[0-9]{1,4}")

# The spec's fields, by the form field its errors go beside.
ERROR_FIELD = {
    "channels": "channels",
    "params": "params",
    "event_filter": "event_filter",
}


class BuilderForm(forms.Form):
    """Every field is optional text: the form converts, the spec judges (so the message for
    a bad value is the validation path's, the same as the admin's and the API's)."""

    name = forms.CharField(required=False, max_length=1000, label="Name")
    trigger_type = forms.ChoiceField(
        required=False,
        choices=Automation.TriggerType.choices,
        widget=forms.RadioSelect,
        label="When it runs",
    )
    # Schedule
    preset = forms.ChoiceField(
        required=False, choices=PRESETS, label="Schedule", widget=forms.RadioSelect
    )
    preset_time = forms.CharField(
        required=False, label="At (HH:MM)", help_text="24-hour clock, e.g. 09:00."
    )
    preset_weekday = forms.ChoiceField(required=False, choices=WEEKDAYS, label="Day of the week")
    preset_day = forms.CharField(
        required=False, label="Day of the month", help_text="1 to 28 runs every month."
    )
    preset_minutes = forms.CharField(required=False, label="Every how many minutes")
    cron_expression = forms.CharField(
        required=False,
        max_length=1000,
        label="Cron expression",
        help_text="Five fields: minute hour day-of-month month day-of-week, e.g. 0 9 * * 1.",
    )
    time_zone = forms.CharField(
        required=False,
        max_length=TIME_ZONE_MAX_LENGTH * 4,
        label="Time zone",
        help_text="The schedule is read in this zone, e.g. America/New_York.",
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"}),
    )
    # ATS event
    event_type = forms.ChoiceField(required=False, label="ATS event")
    event_type_other = forms.CharField(
        required=False,
        max_length=1000,
        label="The provider's own event name",
        help_text="Only for “other”, e.g. candidate_stage_change.",
    )
    # Polling
    poll_interval_seconds = forms.CharField(
        required=False,
        label="Check every (seconds)",
        help_text="e.g. 900 for every 15 minutes; at least 60.",
    )
    # Relative to an interview
    offset_amount = forms.CharField(required=False, label="Minutes")
    offset_side = forms.ChoiceField(
        required=False,
        choices=(("before", "before each interview"), ("after", "after each interview")),
        label="Before or after",
    )
    # The skill; its params are the ParamsForm's.
    skill = forms.ChoiceField(required=False, label="Skill")
    # Advanced
    catch_up = forms.ChoiceField(
        required=False,
        choices=Automation.CatchUp.choices,
        label="Missed runs",
        help_text="What to do about schedule slots missed while the service was down.",
    )
    retry_limit = forms.CharField(
        required=False, label="Retries", help_text="How often a failed run is retried (0-10)."
    )

    # Who it is for: org admins only (the form drops these for members; see __init__).
    owner = forms.ChoiceField(required=False, label="Owner")
    audience = forms.ChoiceField(
        required=False,
        choices=(
            (Automation.Audience.OWNER, "Just the owner"),
            (Automation.Audience.MEMBERS, "Chosen members: one report each"),
            (Automation.Audience.ALL_MEMBERS, "Every member of the org: one report each"),
        ),
        widget=forms.RadioSelect,
        label="Who gets it",
        help_text="Each member gets their own run, in their inbox and email, scoped to the "
        "jobs the ATS says are theirs.",
    )
    audience_members = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Members"
    )

    def __init__(self, *args, skills=(), channels=(), people=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # `people`: the org's members, for an org admin; None for anyone else, who sees no
        # owner or audience inputs (and whose posted values are never read).
        self.people = list(people) if people is not None else None
        if self.people is None:
            for name in ("owner", "audience", "audience_members"):
                del self.fields[name]
        else:
            choices = [(str(u.pk), u.get_full_name() or u.get_username()) for u in self.people]
            self.fields["owner"].choices = choices
            self.fields["audience_members"].choices = choices
        self.fields["event_type"].choices = [
            *(
                (t, f"{event_label(t)[0].upper()}{event_label(t)[1:]} ({t})")
                for t in CANONICAL_TYPES
            ),
            (OTHER_EVENT, "Other: the provider's own event name"),
        ]
        self.fields["skill"].choices = [("", "Choose a skill")] + [(s.slug, s.name) for s in skills]
        self.channels = list(channels)
        for field in self.fields.values():
            # Hand every value on as typed: the validation path judges it, with its own
            # messages ("Select a valid choice." would pre-empt them), as the admin's form.
            field.clean = lambda value: value
        # Errors without a form field of their own: the filter rows, params, channels.
        self.extra_errors: dict[str, list[str]] = {}

    # -- reading the inputs ------------------------------------------------------------------

    def text(self, name: str) -> str:
        value = self.data.get(name, "") if self.is_bound else self.initial.get(name, "")
        return value if isinstance(value, str) else str(value)

    def cron_from_preset(self) -> str:
        """The cron expression the schedule inputs say; a preset's bad part is an error on
        its own input (a transport error: "9am" is no time), raised as ValidationError."""
        preset = self.text("preset") or "cron"
        if preset not in dict(PRESETS):
            raise ValidationError({"preset": "Choose how often it repeats."})
        if preset == "cron":
            return self.text("cron_expression")
        if preset == "minutes":
            every = self.text("preset_minutes").strip()
            if not _WHOLE.fullmatch(every) or not 1 <= int(every) <= 59:
                raise ValidationError({"preset_minutes": "Enter a number of minutes, 1 to 59."})
            return "* * * * *" if int(every) == 1 else f"*/{int(every)} * * * *"
        match = _TIME.fullmatch(self.text("preset_time").strip())
        if not match:
            raise ValidationError({"preset_time": "Enter a time as HH:MM, e.g. 09:00."})
        hour, minute = int(match[1]), int(match[2])
        if preset == "daily":
            return f"{minute} {hour} * * *"
        if preset == "weekdays":
            return f"{minute} {hour} * * 1-5"
        if preset == "weekly":
            day = self.text("preset_weekday")
            if day not in dict(WEEKDAYS):
                raise ValidationError({"preset_weekday": "Choose a day of the week."})
            return f"{minute} {hour} * * {day}"
        day = self.text("preset_day").strip()
        if not _WHOLE.fullmatch(day) or not 1 <= int(day) <= 31:
            raise ValidationError({"preset_day": "Enter a day of the month, 1 to 31."})
        return f"{minute} {hour} {int(day)} * *"

    def event_type_value(self) -> str:
        chosen = self.text("event_type")
        return self.text("event_type_other") if chosen == OTHER_EVENT else chosen

    def offset_value(self) -> Any:
        amount = automation_raw_from_form({"offset_minutes": self.text("offset_amount")})
        value = amount["offset_minutes"]
        if isinstance(value, int) and self.text("offset_side") == "before":
            return -value
        return value

    def filter_rows(self) -> list[dict[str, str]]:
        rows = []
        for i in range(FILTER_ROWS):
            rows.append(
                {
                    "index": str(i),
                    "field": self.text(f"filter_field_{i}"),
                    "op": self.text(f"filter_op_{i}") or "equals",
                    "value": self.text(f"filter_value_{i}"),
                }
            )
        return rows

    def event_filter(self) -> dict[str, Any]:
        """The filter rows as the event_filter the matching reads: a row with a field and a
        value; `in` takes a comma-separated list."""
        out: dict[str, Any] = {}
        for row in self.filter_rows():
            path, value = row["field"].strip(), row["value"].strip()
            if not path or not value:
                continue
            if row["op"] == "in":
                out[path] = {"in": [v.strip() for v in value.split(",") if v.strip()]}
            elif row["op"] == "contains":
                out[path] = {"contains": value}
            else:
                out[path] = value
        return out

    def picked_channels(self) -> list[str]:
        return [c for c in self.data.getlist("channels") if isinstance(c, str)][:100]

    def raw(self, *, skill: Skill | None, params: dict[str, Any] | Any) -> dict[str, Any]:
        """The raw mapping for automation_spec_clean; ValidationError for a preset part the
        form cannot turn into an expression."""
        trigger = self.text("trigger_type")
        raw: dict[str, Any] = {
            "name": self.text("name"),
            "skill": skill if skill is not None else self.text("skill"),
            "params": params,
            "trigger_type": trigger,
            "time_zone": self.text("time_zone").strip() or None,
            "event_filter": self.event_filter() if trigger == Automation.TriggerType.EVENT else {},
            "channels": self.picked_channels(),
            "catch_up": self.text("catch_up") or Automation.CatchUp.LATEST,
            "retry_limit": self.text("retry_limit") or "3",
        }
        if trigger == Automation.TriggerType.CRON:
            raw["cron_expression"] = self.cron_from_preset()
        elif trigger == Automation.TriggerType.EVENT:
            raw["event_type"] = self.event_type_value()
        elif trigger == Automation.TriggerType.POLL:
            raw["poll_interval_seconds"] = self.text("poll_interval_seconds")
        elif trigger == Automation.TriggerType.RELATIVE:
            raw["offset_minutes"] = self.offset_value()
        if raw["time_zone"] is None:
            del raw["time_zone"]  # new: the org's zone (the spec's default)
        converted = automation_raw_from_form(
            {k: v for k, v in raw.items() if k in FORM_INT_FIELDS and isinstance(v, str)}
        )
        raw.update(converted)
        return raw

    def audience_raw(self) -> dict[str, Any]:
        """For an org admin's form: the owner, audience and chosen members as the services
        take them (users of the org's members; an id that is no member's goes on as text, and
        the services say it must be a member). Empty for anyone else's form."""
        if self.people is None:
            return {}
        by_id = {str(u.pk): u for u in self.people}
        owner_id = self.text("owner")
        raw: dict[str, Any] = {"audience": self.text("audience") or Automation.Audience.OWNER}
        if owner_id:
            if owner_id not in by_id:
                raise ValidationError({"owner": "Choose a member of the org as the owner."})
            raw["owner"] = by_id[owner_id]
        picked = [v for v in self.data.getlist("audience_members") if isinstance(v, str)][:600]
        raw["audience_members"] = [by_id.get(v, v[:40]) for v in dict.fromkeys(picked)]
        if raw["audience"] != Automation.Audience.MEMBERS:
            raw["audience_members"] = []
        return raw

    # -- errors ------------------------------------------------------------------------------

    def place_errors(self, exc: ValidationError, *, param_names: set[str] = frozenset()) -> None:
        """Put the spec's field-keyed errors beside the inputs that set each field."""
        keyed = exc.error_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.error_list}
        for key, errors in keyed.items():
            messages = [m for e in errors for m in e.messages]
            if key == "cron_expression" and (self.text("preset") or "cron") != "cron":
                # A preset's expression: the error goes by the schedule's inputs.
                self.extra_errors.setdefault("schedule", []).extend(messages)
            elif key in ERROR_FIELD:
                self.extra_errors.setdefault(ERROR_FIELD[key], []).extend(messages)
            elif key == "offset_minutes":
                self.add_error("offset_amount", messages)
            elif key in ("owner", "audience", "audience_members") and key not in self.fields:
                self.add_error(None, messages)
            elif key in self.fields:
                self.add_error(key, messages)
            elif key == NON_FIELD_ERRORS:
                self.add_error(None, messages)
            else:
                self.add_error(None, [f"{key}: {m}" for m in messages])

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or bool(self.extra_errors)


# -- params from the skill's JSON schema -------------------------------------------------------


@dataclass
class ParamField:
    """One input of the params form, built from a schema property."""

    name: str
    kind: str  # integer, number, string, boolean, enum, array, json
    label: str
    description: str
    default: Any
    value: str  # as the input shows it
    checked: bool = False
    choices: tuple[str, ...] = ()
    minimum: Any = None
    maximum: Any = None
    required: bool = False
    errors: tuple[str, ...] = ()

    @property
    def input_name(self) -> str:
        return f"param_{self.name}"

    @property
    def input_id(self) -> str:
        return f"id_param_{self.name}"


def _kind(prop: Mapping[str, Any]) -> str:
    if "enum" in prop:
        return "enum"
    kind = prop.get("type")
    if kind in ("integer", "number", "string", "boolean"):
        return kind
    if kind == "array" and (prop.get("items") or {}).get("type", "string") == "string":
        return "array"
    return "json"


def _label(name: str) -> str:
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _shown_value(kind: str, value: Any) -> str:
    import json

    if value is None:
        return ""
    if kind == "array" and isinstance(value, list):
        return "\n".join(str(v) for v in value)
    if kind == "json":
        return json.dumps(value)
    if kind == "boolean":
        return ""
    return str(value)


def param_fields(
    skill: Skill | None,
    *,
    values: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
    errors: Mapping[str, list[str]] | None = None,
) -> list[ParamField]:
    """The inputs for the skill's params: from `data` (a submitted form) or `values` (the
    saved params, or a template's), with the schema's defaults otherwise."""
    if skill is None:
        return []
    schema = skill.params_schema or {}
    required = set(schema.get("required", []))
    out = []
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        kind = _kind(prop)
        default = prop.get("default")
        if data is not None:
            shown = data.get(f"param_{name}", "")
            checked = bool(data.get(f"param_{name}"))
        else:
            current = (values or {}).get(name, default)
            shown, checked = _shown_value(kind, current), bool(current)
        out.append(
            ParamField(
                name=name,
                kind=kind,
                label=prop.get("title") or _label(name),
                description=prop.get("description", ""),
                default=default,
                value=shown if isinstance(shown, str) else str(shown),
                checked=checked,
                choices=tuple(str(c) for c in prop.get("enum", ())),
                minimum=prop.get("minimum"),
                maximum=prop.get("maximum"),
                required=name in required,
                errors=tuple((errors or {}).get(name, ())),
            )
        )
    return out


_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def params_from_form(skill: Skill | None, data: Mapping[str, Any]) -> dict[str, Any]:
    """The params dict the inputs say, converted only where the text is unambiguous (a
    whole number for an integer, a number for a number, the ticked box for a boolean); an
    empty input is left out, so the schema's default applies. Anything else goes on as
    text for the schema to refuse with its own message."""
    import json

    params: dict[str, Any] = {}
    for field in param_fields(skill, data=data):
        text = data.get(field.input_name, "")
        text = text.strip() if isinstance(text, str) else ""
        if field.kind == "boolean":
            params[field.name] = bool(data.get(field.input_name))
            continue
        if not text:
            continue
        if field.kind == "integer":
            params[field.name] = int(text) if _INTEGER.fullmatch(text) else text
        elif field.kind == "number":
            params[field.name] = float(text) if _NUMBER.fullmatch(text) else text
            if isinstance(params[field.name], float) and params[field.name].is_integer():
                params[field.name] = int(params[field.name])
        elif field.kind == "array":
            params[field.name] = [v.strip() for v in re.split(r"[\n,]", text) if v.strip()]
        elif field.kind == "json":
            try:
                params[field.name] = json.loads(text)
            except (ValueError, RecursionError):
                params[field.name] = text
        else:
            params[field.name] = text
    return params


def param_errors(
    messages: list[str], *, skill: Skill | None
) -> tuple[dict[str, list[str]], list[str]]:
    """The spec's params messages ("Invalid params for X: days: ...") split into those of
    one param (by the name the message starts with) and the rest."""
    by_param: dict[str, list[str]] = {}
    rest: list[str] = []
    names = set(((skill.params_schema or {}).get("properties") or {}) if skill else ())
    for message in messages:
        tail = message.split(": ", 1)[1] if message.startswith("Invalid params for ") else message
        where, _, what = tail.partition(": ")
        if where in names and what:
            by_param.setdefault(where, []).append(what)
        else:
            rest.append(message)
    return by_param, rest


# -- initial values --------------------------------------------------------------------------

_PRESET_PATTERNS = (
    (re.compile(r"([0-9]{1,2}) ([0-9]{1,2}) \* \* \*"), "daily"),
    (re.compile(r"([0-9]{1,2}) ([0-9]{1,2}) \* \* 1-5"), "weekdays"),
    (re.compile(r"([0-9]{1,2}) ([0-9]{1,2}) \* \* ([0-6])"), "weekly"),
    (re.compile(r"([0-9]{1,2}) ([0-9]{1,2}) ([0-9]{1,2}) \* \*"), "monthly"),
)


def preset_initial(expression: str) -> dict[str, str]:
    """The preset inputs that say `expression`, or the raw cron input."""
    expression = " ".join((expression or "").split())
    every = re.fullmatch(r"\*/([0-9]{1,2}) \* \* \* \*", expression)
    if every:
        return {"preset": "minutes", "preset_minutes": every[1], "cron_expression": expression}
    if expression == "* * * * *":
        return {"preset": "minutes", "preset_minutes": "1", "cron_expression": expression}
    for pattern, preset in _PRESET_PATTERNS:
        match = pattern.fullmatch(expression)
        if match and int(match[1]) < 60 and int(match[2]) < 24:
            out = {
                "preset": preset,
                "preset_time": f"{int(match[2]):02d}:{int(match[1]):02d}",
                "cron_expression": expression,
            }
            if preset == "weekly":
                out["preset_weekday"] = match[3]
            if preset == "monthly":
                out["preset_day"] = match[3]
            return out
    return {"preset": "cron", "cron_expression": expression}


def initial_for_new(*, org_time_zone: str, fields: Mapping[str, Any] | None = None) -> dict:
    """A new automation's inputs: daily at 09:00 in the org's zone, or a template's fields
    (builder field values) over those."""
    initial: dict[str, Any] = {
        "trigger_type": Automation.TriggerType.CRON,
        "preset": "daily",
        "preset_time": "09:00",
        "preset_weekday": "1",
        "preset_day": "1",
        "preset_minutes": "15",
        "time_zone": org_time_zone,
        "event_type": "ats.candidate.stage_changed",
        "poll_interval_seconds": "900",
        "offset_amount": "30",
        "offset_side": "before",
        "catch_up": Automation.CatchUp.LATEST,
        "retry_limit": "3",
    }
    for key, value in (fields or {}).items():
        if key in ("params", "event_filter", "channels"):
            initial[key] = value
        elif value is not None:
            initial[key] = str(value)
    if fields and fields.get("cron_expression") and "preset" not in fields:
        initial.update(preset_initial(str(fields["cron_expression"])))
    if isinstance(initial.get("event_filter"), dict):
        initial.update(filter_initial(initial["event_filter"]))
    return initial


def filter_initial(event_filter: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, (path, condition) in enumerate(list((event_filter or {}).items())[:FILTER_ROWS]):
        op, value = "equals", condition
        if isinstance(condition, dict):
            op = next((k for k in condition if k != "case_sensitive"), "equals")
            value = condition.get(op)
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        out[f"filter_field_{i}"] = str(path)
        out[f"filter_op_{i}"] = op
        out[f"filter_value_{i}"] = "" if value is None else str(value)
    return out


def initial_for_automation(automation: Automation) -> dict:
    """The inputs that say the saved automation."""
    initial = initial_for_new(org_time_zone=automation.time_zone)
    initial.update(
        {
            "name": automation.name,
            "trigger_type": automation.trigger_type,
            "time_zone": automation.time_zone,
            "skill": automation.skill.slug,
            "catch_up": automation.catch_up,
            "retry_limit": str(automation.retry_limit),
            "owner": str(automation.owner_id),
            "audience": automation.audience,
            "audience_members": [
                str(pk) for pk in automation.audience_members.values_list("pk", flat=True)
            ],
        }
    )
    if automation.trigger_type == Automation.TriggerType.CRON:
        initial.update(preset_initial(automation.cron_expression))
    elif automation.trigger_type == Automation.TriggerType.EVENT:
        known = automation.event_type in CANONICAL_TYPES
        initial["event_type"] = automation.event_type if known else OTHER_EVENT
        initial["event_type_other"] = "" if known else automation.event_type
        initial.update(filter_initial(automation.event_filter))
    elif automation.trigger_type == Automation.TriggerType.POLL:
        initial["poll_interval_seconds"] = str(automation.poll_interval_seconds)
    elif automation.trigger_type == Automation.TriggerType.RELATIVE:
        minutes = automation.offset_minutes or 0
        initial["offset_amount"] = str(abs(minutes))
        initial["offset_side"] = "before" if minutes < 0 else "after"
    return initial
