"""SmartRecruiters: `smartrecruiters-signature: v1=<hex>[;v1=<hex>]`, HMAC-SHA256 of
"timestamp.body.event-id.event-name.event-version.link" (a missing header is an empty string)
with `smartrecruiters-timestamp` checked for freshness; subscriptions are activated by echoing
`X-Hook-Secret`; success is 202. The body holds ids only."""

from __future__ import annotations

import time

from webhooks.providers.common import (
    Delivery,
    MalformedError,
    Request,
    SignatureError,
    event,
    hmac_hex,
    json_object,
    same,
)

NAME = "smartrecruiters"
SUCCESS_STATUS = 202
MAX_SKEW_SECONDS = 300
TYPES = {"application.created": "ats.application.created"}


def handshake(request: Request) -> dict[str, str] | None:
    """Activation: echo X-Hook-Secret with a 200."""
    secret = request.header("X-Hook-Secret")
    return {"X-Hook-Secret": secret} if secret else None


def verify_and_parse(request: Request, secret: str | None) -> Delivery:
    if secret is not None:
        _verify(request, secret)
    data = json_object(request.body) if request.body else {}
    name = request.header("event-name")
    if not name:
        raise MalformedError("missing event-name header")
    return Delivery(raw_type=name, payload=data, delivery_id=request.header("event-id"))


def _verify(request: Request, secret: str) -> None:
    timestamp = request.header("smartrecruiters-timestamp")
    header = request.header("smartrecruiters-signature")
    if not timestamp or not header:
        raise SignatureError("missing smartrecruiters-signature or smartrecruiters-timestamp")
    try:
        age = abs(time.time() - int(timestamp))
    except ValueError:
        raise SignatureError("smartrecruiters-timestamp is not a number") from None
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
        candidate={"id": data.get("candidate_id")},
        application={
            "id": data.get("application_id") or data.get("id"),
            "job_id": data.get("job_id"),
        },
    )
