"""Receiving a webhook: find the connection, verify the provider's signature over the raw
bytes, store the event (once per delivery) and answer at once; everything else happens in
Celery. Each refusal has its status code and a log line that says why (never the query
string: it may hold a secret).

Every failure to read a delivery is a MalformedError (400) raised by the adapter: the bounded
parser (providers/parsing.py) and the typed reader (providers/reading.py) are the only ways
the adapters read a body, so no other exception means "bad input"."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field

from django.db import IntegrityError

from webhooks.event_store import StoredRow, inbound_event_store
from webhooks.models import AtsConnection
from webhooks.providers.common import (
    MalformedError,
    Request,
    SignatureError,
    body_hash,
)
from webhooks.providers.parsing import check_strings, check_text
from webhooks.providers.registry import provider_get
from webhooks.refusals import refusal_record

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
    _refusal_keep(status, reason, provider=provider, connection_id=connection_id)
    return Answer(status, {"error": reason})


def _refusal_keep(status: int, reason: str, *, provider: str, connection_id: str) -> None:
    """Keep the refusal for the connection's health page when the URL names a known
    connection of that provider (the receiver's cached lookup, usually already made for this
    request); a 404 names none, so it stays log-only. Never raises (webhooks/refusals.py)."""
    if status == 404 or provider_get(provider) is None:
        return
    try:
        known = _connection(connection_id)
    except Exception:  # the database is down: the refusal is answered all the same
        logger.exception("webhook %s/%s: connection lookup failed", provider, connection_id)
        return
    if known is not None and known.provider == provider:
        refusal_record(
            connection_pk=known.pk, public_id=_uuid(connection_id), status=status, reason=reason
        )


def inbound_receive(
    *, provider: str, connection_id: str, request: Request, content_length: int | None = None
) -> Answer:
    adapter = provider_get(provider)
    where = {"provider": provider, "connection_id": connection_id}
    if adapter is None:
        return refuse(404, f"unknown provider {provider!r}", **where)
    methods = adapter.methods
    if request.method not in methods:
        use = " or ".join(methods)
        answer = refuse(405, f"{request.method} is not accepted; use {use}", **where)
        answer.headers["Allow"] = ", ".join(methods)
        return answer
    connection = _connection(connection_id)
    if connection is None or connection.provider != provider:
        return refuse(404, "no such connection for this provider", **where)
    if connection.mode not in WEBHOOK_MODES:
        return refuse(
            409, f"this connection is in {connection.mode} mode: it does not take webhooks", **where
        )
    if (content_length or len(request.body)) > MAX_BODY_BYTES:
        return refuse(413, f"body over {MAX_BODY_BYTES} bytes", **where)
    secret = connection.secret
    try:
        if adapter.handshake is not None and (echo := adapter.handshake(request)) is not None:
            logger.info("webhook %s/%s: subscription activation answered", provider, connection_id)
            return Answer(200, {"ok": True}, headers=echo)
        if not secret:
            return refuse(401, "this connection has no webhook secret configured", **where)
        delivery = adapter.verify_and_parse(request, secret)
        if delivery.is_ping and not delivery.remember_ping:
            logger.info("webhook %s/%s: ping answered", provider, connection_id)
            return Answer(adapter.success_status, {"ok": True, "ping": True})
        delivery.delivery_id = delivery.delivery_id or body_hash(request.body)
        if delivery.is_ping:
            # Kept as a ping row only to spend its signed id: with no type and no raw type in
            # the event, no automation can match it (not even one "on ping").
            canonical = {"type": None, "raw_type": None, "provider": provider}
            delivery.raw_type, delivery.stored_body = PING, b""
        else:
            canonical = adapter.normalize(delivery)
        row = StoredRow(
            connection_id=connection.pk,
            delivery_id=delivery.delivery_id[:200],
            raw_type=delivery.raw_type[:120],
            raw_body=request.body if delivery.stored_body is None else delivery.stored_body,
            headers={k: request.headers[k] for k in KEPT_HEADERS if k in request.headers},
            event=canonical,
        )
        _check_storable(row)
    except SignatureError as exc:
        return refuse(401, f"signature check failed: {exc}", **where)
    except MalformedError as exc:
        return refuse(400, f"malformed body: {exc}", **where)
    try:
        event_id = inbound_event_store(row)
    except IntegrityError:  # the connection was deleted since it was cached
        if (public_id := _uuid(connection_id)) is not None:
            connection_forget(public_id)
        return refuse(404, "no such connection for this provider", **where)
    if delivery.is_ping and event_id is not None:
        logger.info("webhook %s/%s: ping answered (its id kept)", provider, connection_id)
        return Answer(adapter.success_status, {"ok": True, "ping": True})
    if event_id is None:
        logger.info(
            "webhook %s/%s: duplicate delivery %s acknowledged and dropped",
            provider,
            connection_id,
            row.delivery_id,
        )
        return Answer(adapter.success_status, {"ok": True, "duplicate": True})
    # The stored row is the queue entry; the scheduler wakes the workers to drain waiting
    # events (webhooks/dispatch.py): a Celery message per delivery would cost more than the
    # rest of the request.
    return Answer(adapter.success_status, {"ok": True, "id": str(row.public_id)})


def _check_storable(row: StoredRow) -> None:
    """MalformedError unless PostgreSQL can store every text of the row (no NUL, no lone
    surrogate: it refuses both, SQLite does not), whatever path a value came by (a header, a
    query parameter, a form field)."""
    check_text(row.delivery_id, name="the delivery id")
    check_text(row.raw_type, name="the event type")
    for name, value in row.headers.items():
        check_text(value, name=f"header {name}")
    check_strings(row.event)


# The raw type of a stored ping (see Delivery.remember_ping).
PING = "ping"

# A connection in polling mode gets its events from the ATS API only.
WEBHOOK_MODES = (AtsConnection.Mode.WEBHOOK, AtsConnection.Mode.BOTH)


@dataclass(frozen=True)
class _Known:
    pk: int
    provider: str
    secret: str
    mode: str


_CACHE: dict[uuid.UUID, tuple[float, _Known | None]] = {}
CACHE_SECONDS = 30.0


def _connection(connection_id: str) -> _Known | None:
    """The connection's id, provider and secret, cached for CACHE_SECONDS per process (keyed
    by the parsed id, so every spelling of one UUID shares an entry): the lookup and the
    secret's decryption are most of a delivery's cost otherwise. A secret changed through
    webhooks/services.py is dropped from this process's cache at once
    (`connection_forget`); other processes pick it up within CACHE_SECONDS."""
    public_id = _uuid(connection_id)
    if public_id is None:
        return None
    now = time.monotonic()
    hit = _CACHE.get(public_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    found = (
        AtsConnection.objects.filter(public_id=public_id)
        .only("pk", "provider", "secrets", "mode")
        .first()
    )
    known = (
        None
        if found is None
        else _Known(
            found.pk,
            found.provider,
            (found.secrets or {}).get("webhook_secret", ""),
            found.mode,
        )
    )
    if len(_CACHE) > 10_000:
        _CACHE.clear()
    _CACHE[public_id] = (now + CACHE_SECONDS, known)
    return known


def connection_forget(public_id: uuid.UUID) -> None:
    """Drop the connection from this process's cache (its secret or mode changed)."""
    _CACHE.pop(public_id, None)


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
