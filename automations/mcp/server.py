"""The MCP server's tools and its JSON-RPC dispatch, with no HTTP in it (transport.py is the
view). Stateless: every request is answered from the request alone and the token's user, so
any web process can answer any request and nothing is kept between them.

Each tool is a thin function over the existing services and fetchers, acting as the token's
user in the org they work in (accounts.profile.workplace_for, as the dashboard does): reads go
through `automations_for_user` / `automation_get_for_user` / `runs_for_user`, writes through
`automation_pause` / `automation_resume` and the drafts service, so the rules (who may see and
change what, plans, approvals, audit) are the ones every other surface applies. The audit
surface "mcp" comes from the URL (accounts.audit_context).

A tool answers text a person reads. A refusal (not found, a rule, a wrong argument) is a
CallToolResult with isError=true and the reason, so the model can tell the user; it is never a
protocol error, and never a 500."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema
import mcp.types as types
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from mcp.types import methods as wire
from mcp.types.version import HANDSHAKE_PROTOCOL_VERSIONS, LATEST_HANDSHAKE_VERSION
from pydantic import ValidationError as WireValidationError

from accounts.models import Organization
from accounts.profile import workplace_for
from automations.describe import trigger_words
from automations.drafts import DraftCard, automation_draft_confirm, automation_draft_create
from automations.models import DRAFT_TEXT_MAX_LENGTH, Automation
from automations.plain_english import NotUnderstood
from automations.selectors import automation_get_for_user, automations_for_user, runs_for_user
from automations.services import automation_pause, automation_resume

logger = logging.getLogger(__name__)

SERVER_NAME = "skillomatic"
SERVER_VERSION = "1.0"
# The handshake-era revisions (initialize, then requests): what Claude Desktop and Claude
# Code speak. The 2026 per-request era (server/discover) is not offered: its probe gets
# METHOD_NOT_FOUND and the SDK's client falls back to initialize.
SUPPORTED_VERSIONS: tuple[str, ...] = HANDSHAKE_PROTOCOL_VERSIONS
# What a request with no MCP-Protocol-Version header is taken to speak (the spec's rule).
DEFAULT_VERSION = "2025-03-26"
LIST_LIMIT = 100
HISTORY_DEFAULT = 10
HISTORY_MAX = 50
INSTRUCTIONS = (
    "Skillomatic runs recruiting skills by themselves. To set one up, call draft_automation "
    "with what the user said, show them the card, and call confirm_automation only after "
    "they say yes. Ids are the ones the tools print."
)


class ToolRefused(Exception):
    """A tool's answer when it cannot do what was asked: shown to the user as it is."""


@dataclass(frozen=True)
class Caller:
    """Who the request acts as: the token's user, in the org they work in, in their zone."""

    user: AbstractBaseUser
    org: Organization | None
    time_zone: str


def caller_for(user: AbstractBaseUser) -> Caller:
    """The token's user in their current org (the dashboard's switcher chooses it)."""
    workplace = workplace_for(user=user)
    if workplace is None:
        return Caller(user=user, org=None, time_zone="UTC")
    return Caller(user=user, org=workplace.org, time_zone=workplace.time_zone)


# -- text a person reads ------------------------------------------------------------------


def _when(moment: datetime | None, zone: str) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(ZoneInfo(zone)).strftime(f"%a %d %b %Y %H:%M ({zone})")


def _automation_text(automation: Automation, zone: str) -> str:
    lines = [
        f"{automation.name}",
        f"  id: {automation.public_id}",
        f"  status: {automation.get_status_display()}"
        + (f" ({automation.paused_reason})" if automation.paused_reason else ""),
        f"  when: {trigger_words(automation)}",
        f"  skill: {automation.skill.name}",
    ]
    if automation.next_run_at is not None:
        lines.append(f"  next run: {_when(automation.next_run_at, zone)}")
    if automation.last_run_at is not None:
        lines.append(f"  last run: {_when(automation.last_run_at, zone)}")
    return "\n".join(lines)


def card_text(card: DraftCard) -> str:
    """The confirmation card as the dashboard shows it, in lines."""
    lines = [
        "Here's what I understood:",
        f"- Trigger: {card.trigger_words}",
    ]
    if card.next_runs:
        runs = "; ".join(_when(t, card.time_zone) for t in card.next_runs)
        lines.append(f"- Next runs: {runs}")
    elif card.runs_words:
        lines.append(f"- Runs: {card.runs_words}")
    lines.append(f"- Action: {card.action_words}")
    lines += [f"- Parameter: {words}" for words in card.params_words]
    lines.append(f"- Output: {card.output_words}")
    lines += [f"- Note: {note}" for note in card.notes]
    lines += [f"- Question: {question}" for question in card.questions]
    if not card.plan_ok:
        lines.append(f"- Plan: {card.plan_message}")
    if card.needs_approval:
        lines.append(f"- Needs an admin's approval: {card.approval_reason}")
    if card.channel_problem:
        lines.append(f"- Output problem: {card.channel_problem}")
    lines.append(f"Draft id: {card.public_id} (expires {_when(card.expires_at, card.time_zone)})")
    if card.can_confirm:
        lines.append("Confirm to activate? (confirm_automation with this draft id)")
    else:
        lines.append("This cannot be confirmed as it is; describe it again with the fix.")
    return "\n".join(lines)


def not_understood_text(answer: NotUnderstood) -> str:
    lines = [answer.message]
    if answer.understood:
        lines.append("What I understood: " + "; ".join(answer.understood))
    if answer.examples:
        lines.append("Things I understand, for example:")
        lines += [f'- "{example}"' for example in answer.examples]
    return "\n".join(lines)


# -- the tools ----------------------------------------------------------------------------


def _org(caller: Caller) -> Organization:
    if caller.org is None:
        raise ToolRefused("You are not a member of any organization in Skillomatic.")
    return caller.org


def _automation(caller: Caller, automation_id: str) -> Automation:
    """The caller's automation in their current org; another org's is not found, as a
    foreign row is everywhere else."""
    org = _org(caller)
    automation = automation_get_for_user(user=caller.user, public_id=automation_id, write=True)
    if automation.organization_id != org.pk:
        raise Http404("No such automation.")
    return automation


def draft_automation(caller: Caller, args: dict[str, Any]) -> str:
    zone = args.get("time_zone") or caller.time_zone
    try:
        ZoneInfo(zone)
    except (ValueError, KeyError, OSError):
        # ZoneInfoNotFoundError is a KeyError; a path-like name is a ValueError.
        raise ToolRefused(
            f"Unknown time zone {zone!r}: give an IANA name such as Europe/London."
        ) from None
    answer = automation_draft_create(
        org=_org(caller), user=caller.user, text=args["text"], time_zone=zone
    )
    if isinstance(answer, NotUnderstood):
        raise ToolRefused(not_understood_text(answer))
    return card_text(answer)


def confirm_automation(caller: Caller, args: dict[str, Any]) -> str:
    try:
        automation = automation_draft_confirm(
            org=_org(caller), user=caller.user, draft_id=args["draft_id"]
        )
    except Http404:
        raise Http404("No such draft.") from None
    status = (
        "It is waiting for an admin's approval."
        if automation.status == Automation.Status.PENDING_APPROVAL
        else "It is active."
    )
    return f"Created. {status}\n{_automation_text(automation, caller.time_zone)}"


def list_automations(caller: Caller, args: dict[str, Any]) -> str:
    org = _org(caller)
    rows = (
        automations_for_user(user=caller.user, org=org)
        .select_related("skill")
        .order_by("name", "pk")
    )
    if args.get("status"):
        rows = rows.filter(status=args["status"])
    rows = list(rows[: LIST_LIMIT + 1])
    if not rows:
        return f"No automations in {org.name}" + (
            f" with status {args['status']}." if args.get("status") else "."
        )
    shown = rows[:LIST_LIMIT]
    text = "\n".join(_automation_text(a, caller.time_zone) for a in shown)
    header = f"{len(shown)} automation(s) in {org.name}:"
    if len(rows) > LIST_LIMIT:
        header = f"The first {LIST_LIMIT} automations in {org.name} (more in the dashboard):"
    return f"{header}\n{text}"


def pause_automation(caller: Caller, args: dict[str, Any]) -> str:
    automation = _automation(caller, args["automation_id"])
    automation = automation_pause(
        automation=automation, by=caller.user, reason="Paused from Claude"
    )
    return f"Paused.\n{_automation_text(automation, caller.time_zone)}"


def resume_automation(caller: Caller, args: dict[str, Any]) -> str:
    automation = _automation(caller, args["automation_id"])
    automation = automation_resume(automation=automation, by=caller.user)
    return f"Resumed.\n{_automation_text(automation, caller.time_zone)}"


def automation_history(caller: Caller, args: dict[str, Any]) -> str:
    automation = _automation(caller, args["automation_id"])
    limit = args.get("limit") or HISTORY_DEFAULT
    runs = list(
        runs_for_user(user=caller.user, automation=automation).order_by("-scheduled_for", "-pk")[
            :limit
        ]
    )
    if not runs:
        return f"{automation.name} has not run yet."
    lines = [f"The last {len(runs)} run(s) of {automation.name}:"]
    for run in runs:
        when = run.finished_at or run.started_at or run.scheduled_for
        line = f"- {_when(when, caller.time_zone)}: {run.get_status_display()}"
        line += f" ({run.get_triggered_by_display()})"
        if run.output_summary:
            line += f"; {run.output_summary}"
        if run.error_code or run.error_message:
            line += f"; error {run.error_code}: {run.error_message}".rstrip(": ")
        lines.append(line)
    return "\n".join(lines)


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    input_schema: dict[str, Any]
    handler: Callable[[Caller, dict[str, Any]], str]
    read_only: bool

    def tool(self) -> types.Tool:
        return types.Tool(
            name=self.name,
            description=self.description,
            input_schema=self.input_schema,
            annotations=types.ToolAnnotations(
                read_only_hint=self.read_only, destructive_hint=False, open_world_hint=False
            ),
        )


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


_AUTOMATION_ID = {
    "type": "string",
    "maxLength": 64,
    "description": "The automation's id, as list_automations prints it.",
}

TOOLS: dict[str, ToolSpec] = {
    spec.name: spec
    for spec in (
        ToolSpec(
            "draft_automation",
            "Read what the user wants automated, in plain English (e.g. 'Every Monday at 9am, "
            "send me a summary of my pipeline'), and return the confirmation card and a draft "
            "id. Nothing is created until confirm_automation.",
            _object(
                {
                    "text": {"type": "string", "minLength": 1, "maxLength": DRAFT_TEXT_MAX_LENGTH},
                    "time_zone": {
                        "type": "string",
                        "maxLength": 64,
                        "description": "IANA zone; defaults to the user's own.",
                    },
                },
                ["text"],
            ),
            draft_automation,
            read_only=False,
        ),
        ToolSpec(
            "confirm_automation",
            "Create the automation of a draft the user has seen and agreed to.",
            _object({"draft_id": {"type": "string", "maxLength": 64}}, ["draft_id"]),
            confirm_automation,
            read_only=False,
        ),
        ToolSpec(
            "list_automations",
            "List the user's automations (an admin sees the whole org's) with their ids, "
            "status, trigger and next run.",
            _object(
                {"status": {"type": "string", "enum": list(Automation.Status.values)}},
                [],
            ),
            list_automations,
            read_only=True,
        ),
        ToolSpec(
            "pause_automation",
            "Pause an automation: it stops running until resumed.",
            _object({"automation_id": _AUTOMATION_ID}, ["automation_id"]),
            pause_automation,
            read_only=False,
        ),
        ToolSpec(
            "resume_automation",
            "Resume a paused automation.",
            _object({"automation_id": _AUTOMATION_ID}, ["automation_id"]),
            resume_automation,
            read_only=False,
        ),
        ToolSpec(
            "automation_history",
            "An automation's recent runs: status, when, summary and error.",
            _object(
                {
                    "automation_id": _AUTOMATION_ID,
                    "limit": {"type": "integer", "minimum": 1, "maximum": HISTORY_MAX},
                },
                ["automation_id"],
            ),
            automation_history,
            read_only=True,
        ),
    )
}


def _error_result(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=message)], is_error=True)


def _messages(exc: ValidationError) -> str:
    return " ".join(str(m) for m in exc.messages) or "That was refused."


def call_tool(caller: Caller, name: str, arguments: dict[str, Any] | None) -> types.CallToolResult:
    """Run one tool; every refusal is an isError result with the reason."""
    spec = TOOLS.get(name)
    if spec is None:
        return _error_result(f"No tool named {name[:80]!r}.")
    arguments = arguments or {}
    try:
        jsonschema.validate(arguments, spec.input_schema)
    except jsonschema.ValidationError as exc:
        where = ".".join(str(p) for p in exc.absolute_path) or "arguments"
        return _error_result(f"Wrong argument ({where}): {exc.message[:300]}")
    try:
        text = spec.handler(caller, arguments)
    except ToolRefused as exc:
        return _error_result(str(exc))
    except Http404 as exc:
        return _error_result(str(exc) or "Not found.")
    except PermissionDenied as exc:
        return _error_result(str(exc) or "You may not do that.")
    except ValidationError as exc:
        return _error_result(_messages(exc))
    except Exception:
        # A bug of ours: logged with its traceback, answered as a refusal the model can
        # report, so one bad call cannot break the client's session.
        logger.exception("mcp tool %s failed", name)
        return _error_result("Something went wrong on our side; it has been logged.")
    return types.CallToolResult(content=[types.TextContent(text=text)])


# -- JSON-RPC dispatch --------------------------------------------------------------------


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.error = types.ErrorData(code=code, message=message, data=data)


def negotiate(requested: object) -> str:
    """The version the server answers initialize with: the client's when we speak it, else
    our newest (the client then decides whether to go on)."""
    return requested if requested in SUPPORTED_VERSIONS else LATEST_HANDSHAKE_VERSION  # type: ignore[return-value]


def _result(method: str, version: str, caller: Caller, request: Any) -> types.Result:
    if method == "initialize":
        return types.InitializeResult(
            protocol_version=negotiate(request.params.protocol_version),
            capabilities=types.ServerCapabilities(tools=types.ToolsCapability(list_changed=False)),
            server_info=types.Implementation(name=SERVER_NAME, version=SERVER_VERSION),
            instructions=INSTRUCTIONS,
        )
    if method == "ping":
        return types.EmptyResult()
    if method == "tools/list":
        return types.ListToolsResult(tools=[spec.tool() for spec in TOOLS.values()])
    if method == "tools/call":
        return call_tool(caller, request.params.name, request.params.arguments)
    raise RpcError(types.METHOD_NOT_FOUND, f"Method not found: {method[:80]}")


def handle_request(
    message: types.JSONRPCRequest, *, caller: Caller, version: str
) -> types.JSONRPCResponse | types.JSONRPCError:
    """One JSON-RPC request in, its response out, shaped for `version` by the SDK."""
    method = message.method
    try:
        if (method, version) not in wire.CLIENT_REQUESTS or method not in (
            "initialize",
            "ping",
            "tools/list",
            "tools/call",
        ):
            raise RpcError(types.METHOD_NOT_FOUND, f"Method not found: {method[:80]}")
        try:
            request = wire.parse_client_request(method, version, message.params)
        except WireValidationError as exc:
            raise RpcError(
                types.INVALID_PARAMS,
                f"Invalid params for {method}",
                [e.get("msg") for e in exc.errors(include_url=False)[:5]],
            ) from None
        result = _result(method, version, caller, request)
        dumped = result.model_dump(by_alias=True, mode="json", exclude_none=True)
        wire_result = wire.serialize_server_result(method, version, dumped)
        return types.JSONRPCResponse(jsonrpc="2.0", id=message.id, result=wire_result)
    except RpcError as exc:
        return types.JSONRPCError(jsonrpc="2.0", id=message.id, error=exc.error)
