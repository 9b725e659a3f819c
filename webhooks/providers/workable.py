"""Workable: `X-Workable-Signature` hex HMAC-SHA256 of the body (keyed with the account token
or OAuth app secret); the payload is the candidate (one per job, so an application)."""

from __future__ import annotations

from webhooks.providers.common import (
    Delivery,
    MalformedError,
    Request,
    check_hex_header,
    dig,
    event,
    iso,
    json_object,
)

NAME = "workable"
SUCCESS_STATUS = 200
TYPES = {
    "candidate_created": "ats.application.created",
    "candidate_moved": "ats.candidate.stage_changed",
}


def verify_and_parse(request: Request, secret: str | None) -> Delivery:
    if secret is not None:
        check_hex_header(request, secret, header="X-Workable-Signature", prefix="")
    data = json_object(request.body)
    if not isinstance(data.get("data"), dict):
        raise MalformedError("body has no 'data' object")
    return Delivery(
        raw_type=str(data.get("event_type") or data.get("event") or "candidate_event"),
        payload=data["data"],
        delivery_id=str(data.get("id") or ""),
    )


def normalize(delivery: Delivery) -> dict:
    raw, data = delivery.raw_type, delivery.payload
    type_ = TYPES.get(raw)
    stage = data.get("stage") if isinstance(data.get("stage"), str) else dig(data, "stage", "name")
    if raw == "candidate_moved":
        if data.get("disqualified"):
            type_ = "ats.candidate.rejected"
        elif str(stage or "").lower() == "hired":
            type_ = "ats.candidate.hired"
    name = data.get("name") or " ".join(
        p for p in (data.get("firstname"), data.get("lastname")) if p
    )
    return event(
        type=type_,
        raw_type=raw,
        provider=NAME,
        delivery_id=delivery.delivery_id,
        occurred_at=iso(data.get("updated_at") or data.get("created_at")),
        candidate={"id": data.get("id"), "name": name or None, "email": data.get("email")},
        application={
            "id": data.get("id"),
            "job_id": dig(data, "job", "shortcode"),
            "job_name": dig(data, "job", "title"),
        },
        stage_to=stage,
    )
