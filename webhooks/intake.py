"""Receiving a webhook: find the connection, verify the provider's signature over the raw
bytes, store the event (once per delivery) and answer at once; everything else happens in
Celery. Each refusal has its status code and a log line that says why."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field

from django.db import IntegrityError

from webhooks.event_store import StoredRow, inbound_event_store
from webhooks.models import AtsConnection
from webhooks.providers import ADAPTERS
from webhooks.providers.common import (
    MalformedError,
    Request,
    SignatureError,
    body_hash,
)

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
KEPT_HEADERS = (
    "content-type",
    "user-agent",
    "greenhouse-event-id",
    "event-id",
    "event-name",
    "event-version",
    "smartrecruiters-timestamp",
    "link",
)


@dataclass
class Answer:
    status: int
    body: dict
    headers: dict[str, str] = field(default_factory=dict)


def refuse(status: int, reason: str, *, provider: str, connection_id: str) -> Answer:
    logger.warning("webhook %s/%s refused with %s: %s", provider, connection_id, status, reason)
    return Answer(status, {"error": reason})


def inbound_receive(
    *, provider: str, connection_id: str, request: Request, content_length: int | None = None
) -> Answer:
    adapter = ADAPTERS.get(provider)
    where = {"provider": provider, "connection_id": connection_id}
    if adapter is None:
        return refuse(404, f"unknown provider {provider!r}", **where)
    if request.method not in getattr(adapter, "METHODS", ("POST",)):
        return refuse(405, f"{request.method} is not accepted; use POST", **where)
    connection = _connection(connection_id)
    if connection is None or connection.provider != provider:
        return refuse(404, "no such connection for this provider", **where)
    if (content_length or len(request.body)) > MAX_BODY_BYTES:
        return refuse(413, f"body over {MAX_BODY_BYTES} bytes", **where)
    handshake = getattr(adapter, "handshake", None)
    if handshake is not None and (echo := handshake(request)) is not None:
        logger.info("webhook %s/%s: subscription activation answered", provider, connection_id)
        return Answer(200, {"ok": True}, headers=echo)
    secret = connection.secret
    if not secret:
        return refuse(401, "this connection has no webhook secret configured", **where)
    try:
        delivery = adapter.verify_and_parse(request, secret)
    except SignatureError as exc:
        return refuse(401, f"signature check failed: {exc}", **where)
    except MalformedError as exc:
        return refuse(400, f"malformed body: {exc}", **where)
    if delivery.is_ping:
        logger.info("webhook %s/%s: ping answered", provider, connection_id)
        return Answer(adapter.SUCCESS_STATUS, {"ok": True, "ping": True})

    delivery_id = delivery.delivery_id or body_hash(request.body)
    delivery.delivery_id = delivery_id
    try:
        canonical = adapter.normalize(delivery)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        return refuse(400, f"malformed body: cannot read the event ({exc})", **where)
    row = StoredRow(
        connection_id=connection.pk,
        delivery_id=delivery_id[:200],
        raw_type=delivery.raw_type[:120],
        raw_body=request.body,
        headers={k: request.headers[k] for k in KEPT_HEADERS if k in request.headers},
        event=canonical,
    )
    try:
        event_id = inbound_event_store(row)
    except IntegrityError:  # the connection was deleted since it was cached
        _CACHE.pop(connection_id, None)
        return refuse(404, "no such connection for this provider", **where)
    if event_id is None:
        logger.info(
            "webhook %s/%s: duplicate delivery %s acknowledged and dropped",
            provider,
            connection_id,
            delivery_id,
        )
        return Answer(adapter.SUCCESS_STATUS, {"ok": True, "duplicate": True})
    # The stored row is the queue entry; the scheduler wakes the workers to drain waiting
    # events (webhooks/dispatch.py): a Celery message per delivery would cost more than the
    # rest of the request.
    return Answer(adapter.SUCCESS_STATUS, {"ok": True, "id": str(row.public_id)})


@dataclass(frozen=True)
class _Known:
    pk: int
    provider: str
    secret: str


_CACHE: dict[str, tuple[float, _Known | None]] = {}
CACHE_SECONDS = 30.0


def _connection(connection_id: str) -> _Known | None:
    """The connection's id, provider and secret, cached for CACHE_SECONDS per process: the
    lookup and the secret's decryption are most of a delivery's cost otherwise. A changed
    secret takes effect within that time."""
    now = time.monotonic()
    hit = _CACHE.get(connection_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    found = (
        AtsConnection.objects.filter(public_id=_uuid(connection_id))
        .only("pk", "provider", "secrets")
        .first()
    )
    known = (
        None
        if found is None
        else _Known(found.pk, found.provider, (found.secrets or {}).get("webhook_secret", ""))
    )
    if len(_CACHE) > 10_000:
        _CACHE.clear()
    _CACHE[connection_id] = (now + CACHE_SECONDS, known)
    return known


def _uuid(value: str):
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
