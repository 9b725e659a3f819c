"""Greenhouse: `Signature: sha256 <hex>` HMAC-SHA256 of the raw body; envelope {"action",
"payload"}; only the new stage is sent. The `Greenhouse-Event-ID` header is not signed, so the
delivery id is the hash of the signed body: a replay under a new header value is the same
delivery (a retry resends the same body)."""

from __future__ import annotations

from functools import partial

from webhooks.providers.common import (
    Delivery,
    Request,
    body_hash,
    check_hex_header,
    event,
    json_object,
)
from webhooks.providers.reading import ID, OBJECT, TEXT, TIME, pick

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

at = partial(pick, prefix="payload")


def verify_and_parse(request: Request, secret: str | None) -> Delivery:
    """secret None: parse only (manage.py ats_normalize without --secret)."""
    if secret is not None:
        check_hex_header(request, secret, header="Signature", prefix="sha256 ")
    data = json_object(request.body, text_key="action")
    return Delivery(
        raw_type=data["action"],
        payload=pick(data, "payload", OBJECT),
        delivery_id=body_hash(request.body),
        is_ping=data["action"] == "ping",
    )


def application_event(raw_type: str, type_: str | None, app: dict, delivery_id: str) -> dict:
    where = partial(pick, app, prefix="payload.application")
    name = " ".join(p for p in (where("candidate.first_name"), where("candidate.last_name")) if p)
    # Candidates have one job in `jobs`; `job` is deprecated but still sent on hire_candidate.
    job = "jobs.0" if where("jobs.0", OBJECT) else "job"
    return event(
        type=type_,
        raw_type=raw_type,
        provider=NAME,
        delivery_id=delivery_id,
        occurred_at=where("last_activity_at", TIME) or where("applied_at", TIME),
        candidate={
            "id": where("candidate.id", ID),
            "name": name or None,
            "email": where("candidate.email_addresses.0.value", TEXT),
        },
        application={
            "id": where("id", ID),
            "job_id": where(f"{job}.id", ID),
            "job_name": where(f"{job}.name", TEXT),
        },
        stage_to=where("current_stage.name", TEXT),
    )


def normalize(delivery: Delivery) -> dict:
    raw, payload = delivery.raw_type, delivery.payload
    type_ = TYPES.get(raw)
    if raw == "offer_updated" and at(payload, "offer_status") == "Accepted":
        type_ = "ats.offer.accepted"
    if payload.get("application") is not None:
        app = at(payload, "application", OBJECT)
        return application_event(raw, type_, app, delivery.delivery_id)
    if raw.startswith("offer_"):
        return event(
            type=type_,
            raw_type=raw,
            provider=NAME,
            delivery_id=delivery.delivery_id,
            occurred_at=at(payload, "resolved_at", TIME) or at(payload, "created_at", TIME),
            application={
                "id": at(payload, "application_id", ID),
                "job_id": at(payload, "job_id", ID),
            },
        )
    if raw == "interview_deleted":
        interview = at(payload, "interview", OBJECT) or payload
        return event(
            type=type_,
            raw_type=raw,
            provider=NAME,
            delivery_id=delivery.delivery_id,
            interview={
                "id": pick(interview, "id", ID, prefix="payload.interview"),
                "start_at": pick(interview, "start", TIME, prefix="payload.interview"),
            },
        )
    candidate = at(payload, "candidate", OBJECT) or at(payload, "person", OBJECT)
    return event(
        type=type_,
        raw_type=raw,
        provider=NAME,
        delivery_id=delivery.delivery_id,
        candidate={"id": pick(candidate, "id", ID, prefix="payload.candidate")},
    )
