"""Lever: the signature is in the body, HMAC-SHA256 of token + triggeredAt (the body itself
is not signed); `token` is random per delivery; stage changes carry stage ids, resolved to
names through the API."""

from __future__ import annotations

from webhooks.providers.common import (
    Delivery,
    Request,
    SignatureError,
    event,
    hmac_hex,
    iso,
    json_object,
    same,
)

NAME = "lever"
SUCCESS_STATUS = 200
TYPES = {
    "applicationCreated": "ats.application.created",
    "candidateStageChange": "ats.candidate.stage_changed",
    "candidateHired": "ats.candidate.hired",
    "interviewCreated": "ats.interview.scheduled",
    "interviewUpdated": "ats.interview.scheduled",
    "interviewDeleted": "ats.interview.cancelled",
    "contactCreated": "ats.candidate.created",
}


def verify_and_parse(request: Request, secret: str | None) -> Delivery:
    data = json_object(request.body, text_key="event")
    token, triggered_at, signature = (
        data.get("token"),
        data.get("triggeredAt"),
        data.get("signature"),
    )
    if secret is not None:
        if not token or triggered_at is None or not signature:
            raise SignatureError("body lacks token, triggeredAt or signature")
        if not same(str(signature), hmac_hex(secret, f"{token}{triggered_at}".encode())):
            raise SignatureError("signature does not match token + triggeredAt")
    return Delivery(
        raw_type=data["event"],
        payload={**(data.get("data") or {}), "_triggeredAt": triggered_at},
        delivery_id=f"{data['event']}:{token}",
        # Lever's "test" from the settings page: a signed candidateHired with empty data.
        is_ping=not data.get("data"),
    )


def normalize(delivery: Delivery) -> dict:
    raw, data = delivery.raw_type, delivery.payload
    type_ = TYPES.get(raw)
    if raw == "candidateArchiveChange":
        archived = data.get("toArchived") or {}
        reason = str(archived.get("reason") or archived.get("reasonId") or "").lower()
        type_ = "ats.candidate.rejected" if archived and "hire" not in reason else None
    stage_ids = {"from": data.get("fromStageId"), "to": data.get("toStageId")}
    interview = {}
    if raw.startswith("interview"):
        interview = {
            "id": data.get("interviewId") or data.get("id"),
            "start_at": iso(data.get("date") or data.get("startAt")),
        }
    out = event(
        type=type_,
        raw_type=raw,
        provider=NAME,
        delivery_id=delivery.delivery_id,
        occurred_at=iso(data.get("_triggeredAt")),
        candidate={"id": data.get("contactId") or data.get("candidateId")},
        application={
            "id": data.get("opportunityId") or data.get("applicationId"),
            "job_id": data.get("postingId"),
        },
        stage_to=stage_ids["to"],
        stage_from=stage_ids["from"],
        interview=interview,
    )
    out["_stage_ids"] = stage_ids  # resolved to names by the pipeline (webhooks/stages.py)
    return out
