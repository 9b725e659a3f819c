"""Greenhouse: `Signature: sha256 <hex>` HMAC-SHA256 of the raw body; delivery id in the
`Greenhouse-Event-ID` header; envelope {"action", "payload"}; only the new stage is sent."""

from __future__ import annotations

from webhooks.providers.common import (
    Delivery,
    Request,
    check_hex_header,
    dig,
    event,
    iso,
    json_object,
)

NAME = "greenhouse"
SUCCESS_STATUS = 200
TYPES = {
    "new_candidate_application": "ats.application.created",
    "new_prospect_application": "ats.application.created",
    "candidate_stage_change": "ats.candidate.stage_changed",
    "hire_candidate": "ats.candidate.hired",
    "candidate_hired": "ats.candidate.hired",  # seen in third-party examples
    "reject_candidate": "ats.candidate.rejected",
    "offer_created": "ats.offer.created",
    "interview_deleted": "ats.interview.cancelled",
}


def verify_and_parse(request: Request, secret: str | None) -> Delivery:
    """secret None: parse only (manage.py ats_normalize without --secret)."""
    if secret is not None:
        check_hex_header(request, secret, header="Signature", prefix="sha256 ")
    data = json_object(request.body, text_key="action")
    return Delivery(
        raw_type=data["action"],
        payload=data.get("payload") or {},
        delivery_id=request.header("Greenhouse-Event-ID"),
        is_ping=data["action"] == "ping",
    )


def application_event(raw_type: str, type_: str | None, app: dict, delivery_id: str) -> dict:
    candidate = app.get("candidate") or {}
    name = " ".join(p for p in (candidate.get("first_name"), candidate.get("last_name")) if p)
    job = dig(app, "jobs", 0) or app.get("job") or {}
    return event(
        type=type_,
        raw_type=raw_type,
        provider=NAME,
        delivery_id=delivery_id,
        occurred_at=iso(app.get("last_activity_at") or app.get("applied_at")),
        candidate={
            "id": candidate.get("id"),
            "name": name or None,
            "email": dig(candidate, "email_addresses", 0, "value"),
        },
        application={"id": app.get("id"), "job_id": job.get("id"), "job_name": job.get("name")},
        stage_to=dig(app, "current_stage", "name"),
    )


def normalize(delivery: Delivery) -> dict:
    raw, payload = delivery.raw_type, delivery.payload
    type_ = TYPES.get(raw)
    if raw == "offer_updated" and payload.get("offer_status") == "Accepted":
        type_ = "ats.offer.accepted"
    if "application" in payload and isinstance(payload["application"], dict):
        return application_event(raw, type_, payload["application"], delivery.delivery_id)
    if raw.startswith("offer_"):
        return event(
            type=type_,
            raw_type=raw,
            provider=NAME,
            delivery_id=delivery.delivery_id,
            occurred_at=iso(payload.get("resolved_at") or payload.get("created_at")),
            application={"id": payload.get("application_id"), "job_id": payload.get("job_id")},
        )
    if raw == "interview_deleted":
        interview = payload.get("interview") or payload
        return event(
            type=type_,
            raw_type=raw,
            provider=NAME,
            delivery_id=delivery.delivery_id,
            interview={"id": interview.get("id"), "start_at": iso(interview.get("start"))},
        )
    candidate = payload.get("candidate") or payload.get("person") or {}
    return event(
        type=type_,
        raw_type=raw,
        provider=NAME,
        delivery_id=delivery.delivery_id,
        candidate={"id": candidate.get("id")},
    )
