"""What every provider adapter shares: the parsed delivery, the canonical event, errors,
and small helpers for signatures and payload paths."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

from webhooks.providers.errors import MalformedError, SignatureError
from webhooks.providers.parsing import parse_json
from webhooks.providers.reading import when

__all__ = ["MalformedError", "SignatureError", "parse_json"]

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


@dataclass
class Delivery:
    """A verified, parsed webhook request."""

    raw_type: str
    payload: dict[str, Any]
    # What identifies the delivery, taken only from what the provider signs (an unsigned
    # header or field would let a replay pass as a new delivery): its id, or a hash.
    delivery_id: str
    is_ping: bool = False
    # A ping whose signed id could be reused with another body (Lever signs token and
    # triggeredAt, not the body): the receiver stores it, so the id cannot serve again.
    remember_ping: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    # The body to store, when the raw one must not be kept as it is (Zoho's secret token).
    stored_body: bytes | None = None


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
    data = parse_json(body)
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


def body_hash(*parts: bytes) -> str:
    """The delivery id of a delivery without one: a hash of what identifies it (the signed
    bytes; each part length-prefixed, so parts cannot run into each other). One part is
    hashed as it is: the ids already stored for bodies alone stay the same."""
    if len(parts) == 1:
        return "sha256:" + hashlib.sha256(parts[0]).hexdigest()
    digest = hashlib.sha256()
    for part in parts:
        digest.update(b"%d:" % len(part))
        digest.update(part)
    return "sha256:" + digest.hexdigest()


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
    """ISO-8601 in UTC from an ISO string or epoch milliseconds; None if absent or unreadable
    (the API clients' lenient reading; webhook adapters use `reading.when`, which refuses)."""
    try:
        return when(value)
    except MalformedError:
        return None


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
