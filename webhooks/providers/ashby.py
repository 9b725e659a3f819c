"""Ashby: `Ashby-Signature: sha256=<hex>` HMAC-SHA256 of the raw body, checked before the body
is parsed; `webhookActionId` (inside the signed body) is shared by related webhooks of one
action, so deliveries are told apart by id and action."""

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
