"""SmartRecruiters: `smartrecruiters-signature: v1=<hex>[;v1=<hex>]`, HMAC-SHA256 of
"timestamp.body.event-id.event-name.event-version.link" (a missing header is an empty string)
with `smartrecruiters-timestamp` checked for freshness, before the body is parsed; the signed
`event-id` header is the delivery id; subscriptions are activated by echoing `X-Hook-Secret`;
success is 202. The body holds ids only.

API: the Customer API, `X-SmartToken`; pagination by nextPageId."""

from __future__ import annotations

import re
import time
from datetime import datetime
from functools import partial

from webhooks.providers.api import ProviderApi, iso_z
from webhooks.providers.common import (
    Delivery,
    MalformedError,
    Request,
    SignatureError,
    body_hash,
    dig,
    event,
    hmac_hex,
    iso,
    json_object,
    same,
)
from webhooks.providers.provider import Provider
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


# --- The API client -----------------------------------------------------------------------------


class SmartRecruitersApi(ProviderApi):
    NAME = NAME
    DEFAULT_BASE_URL = "https://api.smartrecruiters.com"
    LISTS_STAGES = False
    LISTS_INTERVIEWS = False  # not in the Customer API's candidate list

    def auth_for(self, api_key: str) -> None:
        return None

    def headers_for(self, api_key: str) -> dict[str, str]:
        return {"X-SmartToken": api_key}

    def _pages(self, path: str, params: dict | None = None) -> list[dict]:
        out, page_id = [], None
        while True:
            query = {"limit": 100, **(params or {}), **({"pageId": page_id} if page_id else {})}
            body = self.http.get(f"{self.base}{path}", params=query).json()
            out.extend(body.get("content") or [])
            page_id = body.get("nextPageId")
            if not page_id or not body.get("content"):
                return out

    def probe(self) -> None:
        self.http.get(f"{self.base}/jobs", params={"limit": 1}).json()

    def list_jobs(self) -> list[dict]:
        return [
            {"id": j["id"], "name": j.get("title"), "status": j.get("status"), "raw": j}
            for j in self._pages("/jobs")
        ]

    def list_applications(self, *, updated_since: datetime | None = None) -> list[dict]:
        params = {"updatedAfter": iso_z(updated_since)} if updated_since else {}
        out = []
        for c in self._pages("/candidates", params):
            assignment = c.get("primaryAssignment") or {}
            status = str(dig(assignment, "status") or "").upper()
            out.append(
                {
                    "id": c["id"],
                    "candidate_id": c["id"],
                    "candidate_name": " ".join(
                        p for p in (c.get("firstName"), c.get("lastName")) if p
                    ),
                    "job_id": dig(assignment, "job", "id"),
                    "job_name": dig(assignment, "job", "title"),
                    "stage": dig(assignment, "status"),
                    "status": "hired"
                    if status == "HIRED"
                    else "rejected"
                    if status == "REJECTED"
                    else "active",
                    "updated_at": iso(c.get("updatedOn")),
                    "raw": c,
                }
            )
        return out

    def list_candidates(self, *, updated_since: datetime | None = None) -> list[dict]:
        return [
            {
                "id": a["id"],
                "name": a["candidate_name"],
                "email": dig(a, "raw", "email"),
                "raw": a["raw"],
            }
            for a in self.list_applications(updated_since=updated_since)
        ]


PROVIDER = Provider(
    name=NAME,
    verify_and_parse=verify_and_parse,
    normalize=normalize,
    api=SmartRecruitersApi,
    we_choose_webhook_secret=False,  # the signing key is generated by SmartRecruiters
    success_status=SUCCESS_STATUS,
    handshake=handshake,
)
