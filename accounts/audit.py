"""The audit log's one writer. Every write service calls `audit_record` in its transaction,
so a change and its log line commit or roll back together, whatever surface made it.

The surface (dashboard, API, admin, MCP, system) comes from `audit_surface`, which the
request middleware (`accounts.audit_context`) sets from the URL; code outside a request
(Celery tasks, commands) logs as "system" unless it says otherwise. Secret values never
reach the log: `audit_changes` names a changed secret field with the value "(set)"."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import models

from accounts.models import AuditEvent, Organization


class AuditAction:
    """The action names of the log, one place for every writer (services, approvals, tokens)
    and every reader (the dashboard's filter, the API), so a name is spelled one way."""

    AUTOMATION_CREATE = "automation.create"
    AUTOMATION_UPDATE = "automation.update"
    AUTOMATION_PAUSE = "automation.pause"
    AUTOMATION_RESUME = "automation.resume"
    AUTOMATION_APPROVE = "automation.approve"
    AUTOMATION_REJECT = "automation.reject"
    AUTOMATION_RESUBMIT = "automation.resubmit"
    AUTOMATION_DELETE = "automation.delete"
    AUTOMATION_RUN_NOW = "automation.run_now"
    AUTOMATION_TEST_RUN = "automation.test_run"
    RUN_RERUN = "run.rerun"
    RERUN_BATCH_CREATE = "rerun_batch.create"
    CHANNEL_CREATE = "channel.create"
    CHANNEL_UPDATE = "channel.update"
    CHANNEL_DELETE = "channel.delete"
    CHANNEL_TEST = "channel.test"
    CONNECTION_CREATE = "connection.create"
    CONNECTION_UPDATE = "connection.update"
    CONNECTION_DELETE = "connection.delete"
    CONNECTION_SECRET_SET = "connection.secret_set"
    CONNECTION_SECRET_ROTATE = "connection.secret_rotate"
    CONNECTION_TEST = "connection.test"
    MEMBERSHIP_ADD = "membership.add"
    MEMBERSHIP_ROLE_CHANGE = "membership.role_change"
    MEMBERSHIP_REMOVE = "membership.remove"
    ORGANIZATION_UPDATE = "organization.update"
    API_TOKEN_CREATE = "api_token.create"
    API_TOKEN_REVOKE = "api_token.revoke"

    # In words, for people (the dashboard's rows and filter).
    LABELS: dict[str, str] = {
        AUTOMATION_CREATE: "created automation",
        AUTOMATION_UPDATE: "edited automation",
        AUTOMATION_PAUSE: "paused automation",
        AUTOMATION_RESUME: "resumed automation",
        AUTOMATION_APPROVE: "approved automation",
        AUTOMATION_REJECT: "rejected automation",
        AUTOMATION_RESUBMIT: "resubmitted automation",
        AUTOMATION_DELETE: "deleted automation",
        AUTOMATION_RUN_NOW: "ran automation now",
        AUTOMATION_TEST_RUN: "test-ran automation",
        RUN_RERUN: "reran run",
        RERUN_BATCH_CREATE: "started bulk rerun",
        CHANNEL_CREATE: "created channel",
        CHANNEL_UPDATE: "edited channel",
        CHANNEL_DELETE: "deleted channel",
        CHANNEL_TEST: "sent a test message to channel",
        CONNECTION_CREATE: "created ATS connection",
        CONNECTION_UPDATE: "edited ATS connection",
        CONNECTION_DELETE: "deleted ATS connection",
        CONNECTION_SECRET_SET: "set secrets of ATS connection",
        CONNECTION_SECRET_ROTATE: "rotated webhook secret of ATS connection",
        CONNECTION_TEST: "tested ATS connection",
        MEMBERSHIP_ADD: "added member",
        MEMBERSHIP_ROLE_CHANGE: "changed role of member",
        MEMBERSHIP_REMOVE: "removed member",
        ORGANIZATION_UPDATE: "changed organization settings",
        API_TOKEN_CREATE: "created API token",
        API_TOKEN_REVOKE: "revoked API token",
    }

    @classmethod
    def label(cls, action: str) -> str:
        return cls.LABELS.get(action, action)

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return sorted(cls.LABELS.items())


_surface: contextvars.ContextVar[str] = contextvars.ContextVar(
    "audit_surface", default=AuditEvent.Surface.SYSTEM
)

SECRET_SHOWN = "(set)"
_MAX_VALUE_CHARS = 300


@contextlib.contextmanager
def audit_surface(surface: str) -> Iterator[None]:
    """Changes made inside the block are logged as made from `surface`."""
    token = _surface.set(surface)
    try:
        yield
    finally:
        _surface.reset(token)


def current_surface() -> str:
    return _surface.get()


def _shown(value: Any) -> Any:
    """A value as the log keeps it: JSON-safe, and long texts cut."""
    if isinstance(value, models.Model):
        return str(value)[:_MAX_VALUE_CHARS]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_shown(v) for v in value][:50]
    if isinstance(value, dict):
        return {str(k): _shown(v) for k, v in list(value.items())[:50]}
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = str(value)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 3] + "..."


def audit_changes(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    *,
    secret_fields: Iterable[str] = (),
) -> dict[str, dict[str, Any]]:
    """{field: {"from": old, "to": new}} for each field whose value differs; a secret field
    that changed is {"from": "(set)", "to": "(set)"}: that it changed, never the value."""
    secrets = set(secret_fields)
    changes: dict[str, dict[str, Any]] = {}
    for field in sorted(set(before) | set(after)):
        old, new = before.get(field), after.get(field)
        if old == new:
            continue
        if field in secrets:
            changes[field] = {"from": SECRET_SHOWN if old else None, "to": SECRET_SHOWN}
        else:
            changes[field] = {"from": _shown(old), "to": _shown(new)}
    return changes


def audit_created(
    values: Mapping[str, Any], *, secret_fields: Iterable[str] = ()
) -> dict[str, dict[str, Any]]:
    """The changes of a new object: its values that are set (an empty text, list or mapping
    says nothing about the new row, so it is left out)."""
    given = {k: v for k, v in values.items() if v is not None and v not in ("", [], {})}
    return audit_changes({}, given, secret_fields=secret_fields)


def audit_record(
    *,
    org: Organization,
    actor: AbstractBaseUser | None,
    action: str,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str = "",
    target_label: str = "",
    changes: Mapping[str, Any] | None = None,
    note: str = "",
    surface: str | None = None,
) -> AuditEvent:
    """Log one change. `target` gives the type (its model name), id (its public_id when it
    has one) and label (str()); the explicit arguments override or stand in for it. A change
    with no actor is the system's (scheduler, engine, commands), whatever request it ran in."""
    if target is not None:
        target_type = target_type or target._meta.model_name
        target_id = target_id or str(getattr(target, "public_id", None) or target.pk or "")
        target_label = target_label or str(target)
    actor_label = ""
    if actor is not None:
        actor_label = (getattr(actor, "email", "") or actor.get_username())[:200]
    return AuditEvent.objects.create(
        organization=org,
        actor=actor if actor is not None and actor.pk else None,
        actor_label=actor_label,
        surface=surface or (AuditEvent.Surface.SYSTEM if actor is None else current_surface()),
        action=action[:40],
        target_type=target_type[:40],
        target_id=str(target_id)[:64],
        target_label=str(target_label)[:200],
        changes=_shown(dict(changes or {})),
        note=str(note or "")[:500],
    )
