"""Workable: `X-Workable-Signature` hex HMAC-SHA256 of the body (keyed with the account token
or OAuth app secret), checked before the body is parsed; the envelope `id` (inside the signed
body) is the delivery id; the payload is the candidate (one per job, so an application).

API: SPI v3, Bearer token; pagination by the full URL in paging.next."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from webhooks.providers.api import ProviderApi, iso_z
from webhooks.providers.common import (
    Delivery,
    MalformedError,
    Request,
    body_hash,
    check_hex_header,
    dig,
    event,
    iso,
    json_object,
)
from webhooks.providers.provider import Provider
from webhooks.providers.reading import FLAG, ID, TEXT, TIME, pick

NAME = "workable"
SUCCESS_STATUS = 200
TYPES = {
    "candidate_created": "ats.application.created",
    "candidate_moved": "ats.candidate.stage_changed",
}

at = partial(pick, prefix="data")


def verify_and_parse(request: Request, secret: str | None) -> Delivery:
    if secret is not None:
        check_hex_header(request, secret, header="X-Workable-Signature", prefix="")
    data = json_object(request.body)
    if not isinstance(data.get("data"), dict):
        raise MalformedError("body has no 'data' object")
    delivery_id = pick(data, "id", ID)
    return Delivery(
        raw_type=pick(data, "event_type") or pick(data, "event") or "candidate_event",
        payload=data["data"],
        delivery_id=delivery_id or body_hash(request.body),
    )


def normalize(delivery: Delivery) -> dict:
    raw, data = delivery.raw_type, delivery.payload
    type_ = TYPES.get(raw)
    if isinstance(data.get("stage"), dict):
        stage = at(data, "stage.name", TEXT)
    else:
        stage = at(data, "stage", TEXT)
    if raw == "candidate_moved":
        if at(data, "disqualified", FLAG):
            type_ = "ats.candidate.rejected"
        elif (stage or "").lower() == "hired":
            type_ = "ats.candidate.hired"
    name = at(data, "name") or " ".join(
        p for p in (at(data, "firstname"), at(data, "lastname")) if p
    )
    return event(
        type=type_,
        raw_type=raw,
        provider=NAME,
        delivery_id=delivery.delivery_id,
        occurred_at=at(data, "updated_at", TIME) or at(data, "created_at", TIME),
        candidate={"id": at(data, "id", ID), "name": name or None, "email": at(data, "email")},
        application={
            "id": at(data, "id", ID),
            "job_id": at(data, "job.shortcode", ID),
            "job_name": at(data, "job.title", TEXT),
        },
        stage_to=stage,
    )


# --- The API client -----------------------------------------------------------------------------


class WorkableApi(ProviderApi):
    NAME = NAME
    # No default host: every account has its own subdomain (https://{sub}.workable.com/spi/v3).
    DEFAULT_BASE_URL = ""
    LISTS_STAGES = True
    LISTS_INTERVIEWS = False  # SPI v3 exposes no interview list

    def auth_for(self, api_key: str) -> None:
        return None

    def headers_for(self, api_key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key}"}

    def _pages(self, path: str, key: str, params: dict) -> list[dict]:
        url, out = f"{self.base}{path}", []
        while url:
            body = self.http.get(url, params=params).json()
            out.extend(body.get(key) or [])
            url, params = dig(body, "paging", "next"), None
        return out

    def probe(self) -> None:
        self.http.get(f"{self.base}/jobs", params={"limit": 1}).json()

    def list_jobs(self) -> list[dict]:
        return [
            {"id": j["shortcode"], "name": j.get("title"), "status": j.get("state"), "raw": j}
            for j in self._pages("/jobs", "jobs", {})
        ]

    def list_applications(self, *, updated_since: datetime | None = None) -> list[dict]:
        params = {
            "limit": 100,
            **({"updated_after": iso_z(updated_since)} if updated_since else {}),
        }
        return [
            {
                "id": c["id"],
                "candidate_id": c["id"],
                "job_id": dig(c, "job", "shortcode"),
                "job_name": dig(c, "job", "title"),
                "stage": c.get("stage"),
                "status": "rejected" if c.get("disqualified") else "active",
                "updated_at": iso(c.get("updated_at")),
                "raw": c,
            }
            for c in self._pages("/candidates", "candidates", params)
        ]

    def list_candidates(self, *, updated_since: datetime | None = None) -> list[dict]:
        return self.list_applications(updated_since=updated_since)

    def list_stages(self) -> list[dict]:
        return [
            {"id": s["slug"], "name": s.get("name")} for s in self._pages("/stages", "stages", {})
        ]


PROVIDER = Provider(
    name=NAME,
    verify_and_parse=verify_and_parse,
    normalize=normalize,
    api=WorkableApi,
    we_choose_webhook_secret=False,  # the account token or OAuth app secret is Workable's
    success_status=SUCCESS_STATUS,
)
