"""Sample canonical events (DESIGN.md, "Canonical events"), one per type, for testing an
event or interview automation in an org that has not received one of that type yet. Made-up
people on reserved domains: nothing here is anyone's data."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from webhooks.providers.common import CANONICAL_TYPES

_CANDIDATE = {"id": "sample-candidate-1", "name": "Sam Sample", "email": "sam@example.invalid"}
_APPLICATION = {"id": "sample-application-1", "job_id": "sample-job-1", "job_name": "Sample Job"}


def sample_event(event_type: str, *, now: datetime) -> dict[str, Any]:
    """A canonical event of `event_type` (a provider's own type: a stage change carrying
    that raw_type), with the fields its type usually carries and null for the rest."""
    canonical = event_type if event_type in CANONICAL_TYPES else "ats.candidate.stage_changed"
    event: dict[str, Any] = {
        "type": canonical,
        "provider": "sample",
        "delivery_id": f"sample-{canonical}",
        "occurred_at": now.isoformat(),
        "candidate": dict(_CANDIDATE),
        "application": dict(_APPLICATION),
        "job": {"id": _APPLICATION["job_id"], "name": _APPLICATION["job_name"]},
        "stage": {"from": None, "to": None},
        "interview": {"id": None, "start_at": None},
        "raw_type": event_type if canonical != event_type else canonical,
        "sample": True,
    }
    if canonical == "ats.candidate.stage_changed":
        event["stage"] = {"from": "Phone Screen", "to": "Onsite Interview"}
    elif canonical in ("ats.interview.scheduled", "ats.interview.cancelled"):
        start = (now + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
        event["interview"] = {"id": "sample-interview-1", "start_at": start.isoformat()}
    elif canonical == "ats.candidate.rejected":
        event["stage"] = {"from": "Onsite Interview", "to": "Rejected"}
    elif canonical == "ats.candidate.hired":
        event["stage"] = {"from": "Offer", "to": "Hired"}
    return event
