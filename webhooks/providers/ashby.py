"""Ashby: `Ashby-Signature: sha256=<hex>` HMAC-SHA256 of the raw body; `webhookActionId` is
shared by related webhooks of one action, so deliveries are told apart by id and action."""

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


def verify_and_parse(request: Request, secret: str | None) -> Delivery:
    if secret is not None:
        check_hex_header(request, secret, header="Ashby-Signature", prefix="sha256=")
    data = json_object(request.body, text_key="action")
    action_id = data.get("webhookActionId") or ""
    return Delivery(
        raw_type=data["action"],
        payload=data.get("data") or {},
        delivery_id=f"{action_id}:{data['action']}" if action_id else "",
        is_ping=data["action"] == "ping",
    )


def normalize(delivery: Delivery) -> dict:
    raw, data = delivery.raw_type, delivery.payload
    type_ = TYPES.get(raw)
    app = data.get("application") or {}
    if raw == "candidateStageChange" and app.get("status") == "Archived":
        type_ = "ats.candidate.rejected"
    schedule = data.get("interviewSchedule") or {}
    interview = {}
    if schedule:
        if schedule.get("status") in ("Cancelled", "Canceled"):
            type_ = "ats.interview.cancelled"
        interview = {
            "id": schedule.get("id"),
            "start_at": iso(dig(schedule, "interviewEvents", 0, "startTime")),
        }
    candidate = app.get("candidate") or data.get("candidate") or {}
    return event(
        type=type_,
        raw_type=raw,
        provider=NAME,
        delivery_id=delivery.delivery_id,
        occurred_at=iso(app.get("updatedAt") or schedule.get("updatedAt")),
        candidate={
            "id": candidate.get("id") or schedule.get("candidateId"),
            "name": candidate.get("name"),
            "email": dig(candidate, "primaryEmailAddress", "value"),
        },
        application={
            "id": app.get("id") or schedule.get("applicationId"),
            "job_id": dig(app, "job", "id"),
            "job_name": dig(app, "job", "title"),
        },
        stage_to=dig(app, "currentInterviewStage", "title"),
        interview=interview,
    )
