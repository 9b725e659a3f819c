"""What every provider adapter shares: the parsed delivery, the canonical event, errors,
and small helpers for signatures and payload paths."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

CANONICAL_TYPES = (
    "ats.candidate.created",
    "ats.application.created",
    "ats.candidate.stage_changed",
    "ats.interview.scheduled",
    "ats.interview.cancelled",
    "ats.offer.created",
    "ats.offer.accepted",
    "ats.candidate.hired",
    "ats.candidate.rejected",
)


class SignatureError(Exception):
    """401: the request is not from the ATS (missing or wrong signature/token)."""


class MalformedError(Exception):
    """400: the body is not what this provider sends."""


@dataclass
class Delivery:
    """A verified, parsed webhook request."""

    raw_type: str
    payload: dict[str, Any]
    delivery_id: str  # provider's id, or "" (the body's hash is used)
    is_ping: bool = False
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    """What a provider adapter sees of an HTTP request."""

    body: bytes
    headers: dict[str, str]  # lower-case names
    query: dict[str, str]
    method: str = "POST"

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


def json_object(body: bytes, *, text_key: str | None = None) -> dict[str, Any]:
    """The body as a JSON object (with `text_key` a string), or MalformedError."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise MalformedError("body is not JSON") from None
    if not isinstance(data, dict):
        raise MalformedError("body is not a JSON object")
    if text_key is not None and not isinstance(data.get(text_key), str):
        raise MalformedError(f"body has no '{text_key}'")
    return data


def check_hex_header(request: Request, secret: str, *, header: str, prefix: str) -> None:
    """A `<prefix><hex HMAC-SHA256 of the raw body>` header (Greenhouse, Ashby, Workable)."""
    value = request.header(header).strip()
    if not value.startswith(prefix) or len(value) == len(prefix):
        raise SignatureError(f"missing or malformed {header} header (want '{prefix}<hex>')")
    if not same(value[len(prefix) :].strip().lower(), hmac_hex(secret, request.body)):
        raise SignatureError(f"{header} does not match the body")


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time comparison."""
    return hmac.compare_digest(a.encode(), b.encode())


def body_hash(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def dig(data: Any, *path: Any, default: Any = None) -> Any:
    """data[path[0]][path[1]]..., or default when any step is missing."""
    for key in path:
        if isinstance(data, dict):
            data = data.get(key)
        elif isinstance(data, list) and isinstance(key, int) and -len(data) <= key < len(data):
            data = data[key]
        else:
            return default
        if data is None:
            return default
    return data


def iso(value: Any) -> str | None:
    """ISO-8601 in UTC from an ISO string or epoch milliseconds; None if absent."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, tz=UTC).isoformat()
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat()


def event(
    *,
    type: str | None,
    raw_type: str,
    provider: str,
    delivery_id: str,
    occurred_at: str | None = None,
    candidate: dict | None = None,
    application: dict | None = None,
    stage_to: str | None = None,
    stage_from: str | None = None,
    interview: dict | None = None,
) -> dict[str, Any]:
    """The canonical event (DESIGN.md): every key present, null where the ATS sent nothing."""
    candidate = candidate or {}
    application = application or {}
    interview = interview or {}
    return {
        "type": type,
        "provider": provider,
        "delivery_id": delivery_id,
        "occurred_at": occurred_at,
        "candidate": {
            "id": _str(candidate.get("id")),
            "name": candidate.get("name"),
            "email": candidate.get("email"),
        },
        "application": {
            "id": _str(application.get("id")),
            "job_id": _str(application.get("job_id")),
            "job_name": application.get("job_name"),
        },
        "stage": {"from": stage_from, "to": stage_to},
        "interview": {
            "id": _str(interview.get("id")),
            "start_at": interview.get("start_at"),
        },
        "raw_type": raw_type,
    }


def _str(value: Any) -> str | None:
    return None if value is None else str(value)
