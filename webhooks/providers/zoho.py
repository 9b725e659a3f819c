"""Zoho Recruit signs nothing: the webhook (attached to a workflow rule) carries a per-
connection secret as a custom parameter named `token`, and the fields you map. Configure these
parameters: event (candidate_created, application_created, stage_changed, hired, rejected,
interview_scheduled, interview_cancelled), candidate_id, candidate_name, candidate_email,
application_id, job_id, job_name, stage, interview_id, interview_start. POST (form or JSON) or
GET both work."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from webhooks.providers.common import (
    Delivery,
    MalformedError,
    Request,
    SignatureError,
    event,
    iso,
    same,
)

NAME = "zoho"
SUCCESS_STATUS = 200
METHODS = ("POST", "GET")
TYPES = {
    "candidate_created": "ats.candidate.created",
    "application_created": "ats.application.created",
    "stage_changed": "ats.candidate.stage_changed",
    "hired": "ats.candidate.hired",
    "rejected": "ats.candidate.rejected",
    "interview_scheduled": "ats.interview.scheduled",
    "interview_cancelled": "ats.interview.cancelled",
}


def _fields(request: Request) -> dict:
    fields = dict(request.query)
    if request.body:
        content_type = request.header("Content-Type")
        try:
            if "json" in content_type:
                parsed = json.loads(request.body)
                if not isinstance(parsed, dict):
                    raise ValueError
            else:
                parsed = dict(parse_qsl(request.body.decode("utf-8"), strict_parsing=True))
        except (ValueError, UnicodeDecodeError):
            raise MalformedError("body is neither a form nor a JSON object") from None
        fields.update(parsed)
    return fields


def verify_and_parse(request: Request, secret: str | None) -> Delivery:
    fields = _fields(request)
    token = str(fields.pop("token", ""))
    if secret is not None:
        if not token:
            raise SignatureError("missing the 'token' parameter")
        if not same(token, secret):
            raise SignatureError("the 'token' parameter is wrong")
    if not fields.get("event"):
        raise MalformedError("no 'event' parameter")
    return Delivery(raw_type=str(fields["event"]), payload=fields, delivery_id="")


def normalize(delivery: Delivery) -> dict:
    f = delivery.payload
    return event(
        type=TYPES.get(delivery.raw_type),
        raw_type=delivery.raw_type,
        provider=NAME,
        delivery_id=delivery.delivery_id,
        occurred_at=iso(f.get("modified_time")),
        candidate={
            "id": f.get("candidate_id"),
            "name": f.get("candidate_name"),
            "email": f.get("candidate_email"),
        },
        application={
            "id": f.get("application_id") or f.get("candidate_id"),
            "job_id": f.get("job_id"),
            "job_name": f.get("job_name"),
        },
        stage_to=f.get("stage") or f.get("status"),
        interview={"id": f.get("interview_id"), "start_at": iso(f.get("interview_start"))},
    )
