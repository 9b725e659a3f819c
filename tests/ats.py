"""Signing test payloads the way each ATS does, and posting them to the real receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path

from tests.factories import made_up_secret
from webhooks.models import AtsConnection

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = made_up_secret("webhook")


def hexmac(secret: str, data: bytes) -> str:
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def signed(
    provider: str,
    body: bytes,
    *,
    secret: str = SECRET,
    event_id: str = "sr-evt-1",
    event_name: str = "application.created",
) -> tuple[bytes, dict[str, str], str]:
    """(body, headers, query string) as the provider would send them."""
    if provider == "greenhouse":
        return (
            body,
            {
                "Signature": f"sha256 {hexmac(secret, body)}",
                "Greenhouse-Event-ID": hashlib.md5(body).hexdigest(),
            },
            "",
        )
    if provider == "lever":
        data = json.loads(body)
        # Signed now, as Lever does: the receiver refuses a stale triggeredAt as a replay.
        data["triggeredAt"] = int(time.time() * 1000)
        data["signature"] = hexmac(secret, f"{data['token']}{data['triggeredAt']}".encode())
        return json.dumps(data).encode(), {}, ""
    if provider == "ashby":
        return body, {"Ashby-Signature": f"sha256={hexmac(secret, body)}"}, ""
    if provider == "workable":
        return body, {"X-Workable-Signature": hexmac(secret, body)}, ""
    if provider == "zoho":
        return body, {}, f"token={secret}"
    if provider == "smartrecruiters":
        timestamp = str(int(time.time()))
        link = "<https://api.smartrecruiters.com/candidates/77a1-cand>; rel=self"
        message = b".".join(
            [
                timestamp.encode(),
                body,
                event_id.encode(),
                event_name.encode(),
                b"v201910",
                link.encode(),
            ]
        )
        return (
            body,
            {
                "smartrecruiters-signature": f"v1={hexmac(secret, message)}",
                "smartrecruiters-timestamp": timestamp,
                "event-id": event_id,
                "event-name": event_name,
                "event-version": "v201910",
                "link": link,
            },
            "",
        )
    raise ValueError(provider)


def greenhouse_stage_changes(
    n: int, *, first_application: int
) -> list[tuple[bytes, dict[str, str]]]:
    """n signed Greenhouse stage-change deliveries (body, headers), one per application id
    from `first_application` on: a burst of distinct events."""
    template = json.loads((FIXTURES / "greenhouse" / "candidate_stage_change.json").read_bytes())
    deliveries = []
    for i in range(n):
        template["payload"]["application"]["id"] = first_application + i
        body, headers, _ = signed("greenhouse", json.dumps(template).encode())
        deliveries.append((body, headers))
    return deliveries


def connection(org, provider: str, **fields) -> AtsConnection:
    fields.setdefault("secrets", {"webhook_secret": SECRET})
    fields.setdefault("name", f"{provider} test")
    return AtsConnection.objects.create(organization=org, provider=provider, **fields)


def url(conn: AtsConnection, query: str = "") -> str:
    return f"/webhooks/ats/{conn.provider}/{conn.public_id}/" + (f"?{query}" if query else "")


def post(
    client,
    conn: AtsConnection,
    body: bytes,
    headers: dict[str, str],
    query: str = "",
    content_type: str = "application/json",
):
    return client.generic(
        "POST", url(conn, query), body, content_type=content_type, headers=headers
    )
