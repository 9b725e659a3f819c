"""Workable: `X-Workable-Signature` hex HMAC-SHA256 of the body (keyed with the account token
or OAuth app secret), checked before the body is parsed; the envelope `id` (inside the signed
body) is the delivery id; the payload is the candidate (one per job, so an application)."""

from __future__ import annotations

from functools import partial

from webhooks.providers.common import (
    Delivery,
    MalformedError,
    Request,
    body_hash,
    check_hex_header,
    event,
    json_object,
)
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
