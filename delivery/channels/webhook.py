"""Outbound webhooks, signed per the Standard Webhooks scheme: headers webhook-id,
webhook-timestamp and webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">, keyed
with the base64-decoded part of the channel's whsec_ secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time

from delivery.http_channel import post
from delivery.message import OutgoingMessage

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def payload(message: OutgoingMessage) -> dict:
    run, automation = message.run, message.automation
    return {
        "id": message.message_id,
        "type": message.type,
        # The event's time, not the attempt's: the body is the same on every try (only the
        # signature header's webhook-timestamp is the send time, as Standard Webhooks wants).
        "timestamp": message.occurred_at.isoformat(),
        "data": {
            "automation": {"id": str(automation.public_id), "name": automation.name}
            if automation
            else None,
            "run": {
                "id": str(run.public_id),
                "status": "completed",
                "triggered_by": run.triggered_by,
                # When the trigger fired. Not `scheduled_for`: the engine moves that on each
                # retry, and every try of one delivery must send the same body.
                "created_at": run.created_at.isoformat(),
                "url": message.link,
            }
            if run
            else None,
            "result": {
                "title": message.title,
                "body_markdown": message.body_markdown,
                "summary": message.summary,
                "data": message.data,
            },
        },
    }


def send(*, channel, message: OutgoingMessage) -> str:
    body = json.dumps(payload(message), separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "webhook-id": message.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(channel.config["secret"], message.message_id, timestamp, body),
    }
    return post(channel.config["url"], body=body, headers=headers, what="The webhook endpoint")
