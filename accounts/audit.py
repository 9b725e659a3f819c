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
    has one) and label (str()); the explicit arguments override or stand in for it."""
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
        surface=surface or current_surface(),
        action=action[:40],
        target_type=target_type[:40],
        target_id=str(target_id)[:64],
        target_label=str(target_label)[:200],
        changes=_shown(dict(changes or {})),
        note=str(note or "")[:500],
    )
