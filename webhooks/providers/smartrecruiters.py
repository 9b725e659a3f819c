"""SmartRecruiters: `smartrecruiters-signature: v1=<hex>[;v1=<hex>]`, HMAC-SHA256 of
"timestamp.body.event-id.event-name.event-version.link" (a missing header is an empty string)
with `smartrecruiters-timestamp` checked for freshness, before the body is parsed; the signed
`event-id` header is the delivery id; subscriptions are activated by echoing `X-Hook-Secret`;
success is 202. The body holds ids only."""

from __future__ import annotations

import re
import time
from functools import partial

from webhooks.providers.common import (
    Delivery,
    MalformedError,
    Request,
    SignatureError,
    body_hash,
    event,
    hmac_hex,
    json_object,
    same,
)
from webhooks.providers.reading import ID, pick

NAME = "smartrecruiters"
SUCCESS_STATUS = 202
MAX_SKEW_SECONDS = 300
TYPES = {"application.created": "ats.application.created"}
# What may be echoed back as a header value (no control characters, bounded).
_HOOK_SECRET = re.compile(r"[\x21-\x7e]{1,200}")

at = partial(pick, prefix="body")


def handshake(request: Request) -> dict[str, str] | None:
    """Activation: echo X-Hook-Secret with a 200."""
    secret = request.header("X-Hook-Secret")
    if not secret:
        return None
    if not _HOOK_SECRET.fullmatch(secret):
        raise MalformedError("X-Hook-Secret is not 1 to 200 printable ASCII characters")
    return {"X-Hook-Secret": secret}


def verify_and_parse(request: Request, secret: str | None) -> Delivery:
    if secret is not None:
        _verify(request, secret)
    data = json_object(request.body) if request.body else {}
    name = request.header("event-name")
    if not name:
        raise MalformedError("missing event-name header")
    # Every part of the fallback id is signed; the timestamp is left out (a retry is signed
    # again at its own time).
    fallback = body_hash(
        request.body,
        name.encode(),
        request.header("event-version").encode(),
        request.header("link").encode(),
    )
    return Delivery(raw_type=name, payload=data, delivery_id=request.header("event-id") or fallback)


def _verify(request: Request, secret: str) -> None:
    timestamp = request.header("smartrecruiters-timestamp")
    header = request.header("smartrecruiters-signature")
    if not timestamp or not header:
        raise SignatureError("missing smartrecruiters-signature or smartrecruiters-timestamp")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise SignatureError("smartrecruiters-timestamp is not a number of seconds")
    age = abs(time.time() - int(timestamp))
    if age > MAX_SKEW_SECONDS:
        raise SignatureError(f"smartrecruiters-timestamp is {int(age)} s off (replay?)")
    expected = hmac_hex(secret, signed_bytes(request, timestamp))
    candidates = [part.strip()[3:] for part in header.split(";") if part.strip().startswith("v1=")]
    if not any(same(c, expected) for c in candidates):
        raise SignatureError("smartrecruiters-signature does not match")


def signed_bytes(request: Request, timestamp: str) -> bytes:
    return b".".join(
        [
            timestamp.encode(),
            request.body,
            request.header("event-id").encode(),
            request.header("event-name").encode(),
            request.header("event-version").encode(),
            request.header("link").encode(),
        ]
    )


def normalize(delivery: Delivery) -> dict:
    data = delivery.payload
    return event(
        type=TYPES.get(delivery.raw_type),
        raw_type=delivery.raw_type,
        provider=NAME,
        delivery_id=delivery.delivery_id,
        candidate={"id": at(data, "candidate_id", ID)},
        application={
            "id": at(data, "application_id", ID) or at(data, "id", ID),
            "job_id": at(data, "job_id", ID),
        },
    )
