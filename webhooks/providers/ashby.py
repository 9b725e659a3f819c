"""Ashby: `Ashby-Signature: sha256=<hex>` HMAC-SHA256 of the raw body, checked before the body
is parsed; `webhookActionId` (inside the signed body) is shared by related webhooks of one
action, so deliveries are told apart by id and action.

API: RPC-style POSTs, Basic auth with the API key; pagination by cursor / moreDataAvailable /
nextCursor."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from webhooks.providers.api import ProviderApi
from webhooks.providers.api_session import ApiError
from webhooks.providers.common import (
    Delivery,
    Request,
    body_hash,
    check_hex_header,
    dig,
    event,
    iso,
    json_object,
)
from webhooks.providers.provider import Provider
from webhooks.providers.reading import ID, OBJECT, TEXT, TIME, pick

NAME = "ashby"
SUCCESS_STATUS = 200
TYPES = {
    "applicationSubmit": "ats.application.created",
    "candidateStageChange": "ats.candidate.stage_changed",
    "candidateHire": "ats.candidate.hired",
    "interviewScheduleCreate": "ats.interview.scheduled",
    "interviewScheduleUpdate": "ats.interview.scheduled",
    "offerCreate": "ats.offer.created",
}

at = partial(pick, prefix="data")


def verify_and_parse(request: Request, secret: str | None) -> Delivery:
    if secret is not None:
        check_hex_header(request, secret, header="Ashby-Signature", prefix="sha256=")
    data = json_object(request.body, text_key="action")
    action_id = pick(data, "webhookActionId", ID)
    return Delivery(
        raw_type=data["action"],
        payload=pick(data, "data", OBJECT),
        delivery_id=f"{action_id}:{data['action']}" if action_id else body_hash(request.body),
        is_ping=data["action"] == "ping",
    )


def normalize(delivery: Delivery) -> dict:
    raw, data = delivery.raw_type, delivery.payload
    type_ = TYPES.get(raw)
    if raw == "candidateStageChange" and at(data, "application.status") == "Archived":
        type_ = "ats.candidate.rejected"
    schedule = at(data, "interviewSchedule", OBJECT)
    interview = {}
    if schedule:
        if at(data, "interviewSchedule.status") in ("Cancelled", "Canceled"):
            type_ = "ats.interview.cancelled"
        interview = {
            "id": at(data, "interviewSchedule.id", ID),
            "start_at": at(data, "interviewSchedule.interviewEvents.0.startTime", TIME),
        }
    nested = at(data, "application.candidate", OBJECT)
    candidate = "application.candidate" if nested else "candidate"
    return event(
        type=type_,
        raw_type=raw,
        provider=NAME,
        delivery_id=delivery.delivery_id,
        occurred_at=(
            at(data, "application.updatedAt", TIME) or at(data, "interviewSchedule.updatedAt", TIME)
        ),
        candidate={
            "id": at(data, f"{candidate}.id", ID) or at(data, "interviewSchedule.candidateId", ID),
            "name": at(data, f"{candidate}.name", TEXT),
            "email": at(data, f"{candidate}.primaryEmailAddress.value", TEXT),
        },
        application={
            "id": at(data, "application.id", ID) or at(data, "interviewSchedule.applicationId", ID),
            "job_id": at(data, "application.job.id", ID),
            "job_name": at(data, "application.job.title", TEXT),
        },
        stage_to=at(data, "application.currentInterviewStage.title", TEXT),
        interview=interview,
    )


# --- The API client -----------------------------------------------------------------------------


class AshbyApi(ProviderApi):
    NAME = NAME
    DEFAULT_BASE_URL = "https://api.ashbyhq.com"
    LISTS_STAGES = True
    LISTS_INTERVIEWS = True

    def _call(self, method: str, payload: dict) -> dict:
        data = self.http.post(f"{self.base}/{method}", json=payload).json()
        if not data.get("success", True):
            raise ApiError(f"Ashby {method}: {data.get('errors') or data}")
        return data

    def _pages(self, method: str, body: dict) -> list[dict]:
        out, cursor = [], None
        while True:
            data = self._call(
                method, {"limit": 100, **body, **({"cursor": cursor} if cursor else {})}
            )
            out.extend(data.get("results") or [])
            if not data.get("moreDataAvailable") or not data.get("nextCursor"):
                return out
            cursor = data["nextCursor"]

    def probe(self) -> None:
        self._call("job.list", {"limit": 1})

    def list_jobs(self) -> list[dict]:
        return [
            {"id": j["id"], "name": j.get("title"), "status": j.get("status"), "raw": j}
            for j in self._pages("job.list", {})
        ]

    def list_applications(self, *, updated_since: datetime | None = None) -> list[dict]:
        body = {"createdAfter": int(updated_since.timestamp() * 1000)} if updated_since else {}
        return [
            {
                "id": a["id"],
                "candidate_id": dig(a, "candidate", "id"),
                "job_id": dig(a, "job", "id"),
                "job_name": dig(a, "job", "title"),
                "stage": dig(a, "currentInterviewStage", "title"),
                "status": str(a.get("status") or "").lower(),
                "updated_at": iso(a.get("updatedAt")),
                "raw": a,
            }
            for a in self._pages("application.list", body)
        ]

    def list_candidates(self, *, updated_since: datetime | None = None) -> list[dict]:
        return [
            {
                "id": c["id"],
                "name": c.get("name"),
                "email": dig(c, "primaryEmailAddress", "value"),
                "raw": c,
            }
            for c in self._pages("candidate.list", {})
        ]

    def list_stages(self) -> list[dict]:
        return [
            {"id": s["id"], "name": s.get("title")} for s in self._pages("interviewStage.list", {})
        ]

    def list_scheduled_interviews(self, *, updated_since: datetime | None = None) -> list[dict]:
        return [
            {
                "id": s["id"],
                "application_id": s.get("applicationId"),
                "start_at": iso(dig(s, "interviewEvents", 0, "startTime")),
                "status": str(s.get("status") or "").lower(),
                "raw": s,
            }
            for s in self._pages("interviewSchedule.list", {})
        ]


PROVIDER = Provider(
    name=NAME,
    verify_and_parse=verify_and_parse,
    normalize=normalize,
    api=AshbyApi,
    we_choose_webhook_secret=True,  # the secretToken is what we give webhook.create
    success_status=SUCCESS_STATUS,
)
