"""Lever: the signature is in the body, HMAC-SHA256 of token + triggeredAt (the body itself
is not signed), so the body is parsed (bounded) before the check. `token` is random per
delivery and is the only signed identity: it is the delivery id, so a captured
token/triggeredAt pair replayed with another body is the same delivery, acknowledged and
dropped. `triggeredAt` must be within LEVER_REPLAY_TOLERANCE_SECONDS of now, so a captured
pair is useless after that. Stage changes carry stage ids, resolved to names through the API.

API: the Data API, Basic auth with the API key; pagination by offset token / hasNext."""

from __future__ import annotations

import time
from datetime import datetime
from functools import partial

from django.conf import settings

from webhooks.providers.api import ProviderApi
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
from webhooks.providers.reading import ID, OBJECT, TIME, pick

NAME = "lever"
SUCCESS_STATUS = 200
MAX_TOKEN_CHARS = 128
TYPES = {
    "applicationCreated": "ats.application.created",
    "candidateStageChange": "ats.candidate.stage_changed",
    "candidateHired": "ats.candidate.hired",
    "interviewCreated": "ats.interview.scheduled",
    "interviewUpdated": "ats.interview.scheduled",
    "interviewDeleted": "ats.interview.cancelled",
    "contactCreated": "ats.candidate.created",
}

at = partial(pick, prefix="data")


def verify_and_parse(request: Request, secret: str | None, *, now: float | None = None) -> Delivery:
    data = json_object(request.body, text_key="event")
    token, triggered_at, signature = (
        data.get("token"),
        data.get("triggeredAt"),
        data.get("signature"),
    )
    if secret is not None:
        if not token or triggered_at is None or not signature:
            raise SignatureError("body lacks token, triggeredAt or signature")
        if not isinstance(token, str) or not isinstance(signature, str):
            raise SignatureError("token and signature must be strings")
        if not isinstance(triggered_at, int) or isinstance(triggered_at, bool):
            raise SignatureError("triggeredAt is not epoch milliseconds")
        if not same(signature, hmac_hex(secret, f"{token}{triggered_at}".encode())):
            raise SignatureError("signature does not match token + triggeredAt")
        _check_fresh(triggered_at, time.time() if now is None else now)
    if token is None:  # only when not verifying (manage.py ats_normalize without --secret)
        delivery_id = body_hash(request.body)
    elif isinstance(token, str) and 0 < len(token) <= MAX_TOKEN_CHARS:
        delivery_id = f"token:{token}"
    else:
        raise MalformedError(f"'token' is not a string of 1 to {MAX_TOKEN_CHARS} characters")
    payload = pick(data, "data", OBJECT)
    return Delivery(
        raw_type=data["event"],
        payload={**payload, "_triggeredAt": pick(data, "triggeredAt", TIME)},
        delivery_id=delivery_id,
        # Lever's "test" from the settings page: a signed candidateHired with empty data.
        is_ping=not payload,
        remember_ping=True,
    )


def _check_fresh(triggered_at: int, now: float) -> None:
    """A delivery signed longer ago (or further ahead) than the tolerance is refused: the
    token cache (the stored deliveries) then only has to cover that window."""
    tolerance = settings.LEVER_REPLAY_TOLERANCE_SECONDS
    skew = triggered_at / 1000 - now
    if abs(skew) > tolerance:
        where = "in the future" if skew > 0 else "old"
        raise SignatureError(
            f"triggeredAt is {int(abs(skew))} s {where}, over the {tolerance} s tolerance (replay?)"
        )


def normalize(delivery: Delivery) -> dict:
    raw, data = delivery.raw_type, delivery.payload
    type_ = TYPES.get(raw)
    if raw == "candidateArchiveChange":
        archived = at(data, "toArchived", OBJECT)
        reason = at(data, "toArchived.reason", ID) or at(data, "toArchived.reasonId", ID) or ""
        type_ = "ats.candidate.rejected" if archived and "hire" not in reason.lower() else None
    stage_ids = {"from": at(data, "fromStageId", ID), "to": at(data, "toStageId", ID)}
    interview = {}
    if raw.startswith("interview"):
        interview = {
            "id": at(data, "interviewId", ID) or at(data, "id", ID),
            "start_at": at(data, "date", TIME) or at(data, "startAt", TIME),
        }
    out = event(
        type=type_,
        raw_type=raw,
        provider=NAME,
        delivery_id=delivery.delivery_id,
        occurred_at=data.get("_triggeredAt"),
        candidate={"id": at(data, "contactId", ID) or at(data, "candidateId", ID)},
        application={
            "id": at(data, "opportunityId", ID) or at(data, "applicationId", ID),
            "job_id": at(data, "postingId", ID),
        },
        stage_to=stage_ids["to"],
        stage_from=stage_ids["from"],
        interview=interview,
    )
    out["_stage_ids"] = stage_ids  # resolved to names by the pipeline (webhooks/stages.py)
    return out


# --- The API client -----------------------------------------------------------------------------


class LeverApi(ProviderApi):
    NAME = NAME
    DEFAULT_BASE_URL = "https://api.lever.co/v1"
    LISTS_STAGES = True
    LISTS_INTERVIEWS = True

    def _pages(self, path: str, params: dict) -> list[dict]:
        out, offset = [], None
        while True:
            query = {"limit": 100, **params, **({"offset": offset} if offset else {})}
            body = self.http.get(f"{self.base}{path}", params=query).json()
            out.extend(body.get("data") or [])
            if not body.get("hasNext") or not body.get("next"):
                return out
            offset = body["next"]

    def probe(self) -> None:
        self.http.get(f"{self.base}/postings", params={"limit": 1}).json()

    def list_jobs(self) -> list[dict]:
        return [
            {"id": p["id"], "name": p.get("text"), "status": p.get("state"), "raw": p}
            for p in self._pages("/postings", {})
        ]

    def list_applications(self, *, updated_since: datetime | None = None) -> list[dict]:
        params = {"expand": "stage"}
        if updated_since:
            params["updated_at_start"] = int(updated_since.timestamp() * 1000)
        return [
            {
                "id": o["id"],
                "candidate_id": o.get("contact"),
                "stage": dig(o, "stage", "text"),
                "status": "rejected" if o.get("archived") else "active",
                "updated_at": iso(o.get("updatedAt")),
                "raw": o,
            }
            for o in self._pages("/opportunities", params)
        ]

    def list_candidates(self, *, updated_since: datetime | None = None) -> list[dict]:
        return [
            {"id": a.get("candidate_id"), "raw": a["raw"]}
            for a in self.list_applications(updated_since=updated_since)
        ]

    def list_stages(self) -> list[dict]:
        return [{"id": s["id"], "name": s.get("text")} for s in self._pages("/stages", {})]

    def list_scheduled_interviews(self, *, updated_since: datetime | None = None) -> list[dict]:
        out = []
        for app in self.list_applications(updated_since=updated_since):
            for i in self._pages(f"/opportunities/{app['id']}/interviews", {}):
                out.append(
                    {
                        "id": i["id"],
                        "application_id": app["id"],
                        "start_at": iso(i.get("date")),
                        "status": "cancelled" if i.get("canceledAt") else "scheduled",
                        "raw": i,
                    }
                )
        return out


PROVIDER = Provider(
    name=NAME,
    verify_and_parse=verify_and_parse,
    normalize=normalize,
    api=LeverApi,
    we_choose_webhook_secret=False,  # the signature token is Lever's
    success_status=SUCCESS_STATUS,
)
