"""Greenhouse. Webhooks: `Signature: sha256 <hex>` HMAC-SHA256 of the raw body; envelope {"action",
"payload"}; only the new stage is sent. The `Greenhouse-Event-ID` header is not signed, so the
delivery id is the hash of the signed body: a replay under a new header value is the same
delivery (a retry resends the same body).

API: Harvest, Basic auth with the API key as user; pagination by RFC 5988 Link."""

from __future__ import annotations

import re
from datetime import datetime
from functools import partial

from webhooks.providers.api import ProviderApi, iso_z
from webhooks.providers.common import (
    Delivery,
    Request,
    body_hash,
    check_hex_header,
    dig,
    event,
    iso,
    json_object,
)
from webhooks.providers.provider import Provider
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


# --- The API client -----------------------------------------------------------------------------

LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


def _candidate(c: dict) -> dict:
    return {
        "id": str(c["id"]),
        "name": " ".join(p for p in (c.get("first_name"), c.get("last_name")) if p),
        "email": dig(c, "email_addresses", 0, "value"),
        "raw": c,
    }


class GreenhouseApi(ProviderApi):
    NAME = NAME
    DEFAULT_BASE_URL = "https://harvest.greenhouse.io/v1"
    GETS_CANDIDATE = True
    LISTS_STAGES = True
    LISTS_INTERVIEWS = True

    def _pages(self, path: str, params: dict) -> list[dict]:
        url, out = f"{self.base}{path}", []
        params = {"per_page": 500, **params}
        while url:
            response = self.http.get(url, params=params)
            out.extend(response.json())
            match = LINK_NEXT.search(response.headers.get("Link", ""))
            url, params = (match.group(1), None) if match else (None, None)
        return out

    def probe(self) -> None:
        self.http.get(f"{self.base}/jobs", params={"per_page": 1}).json()

    def list_jobs(self) -> list[dict]:
        return [
            {"id": str(j["id"]), "name": j.get("name"), "status": j.get("status"), "raw": j}
            for j in self._pages("/jobs", {})
        ]

    def list_applications(self, *, updated_since: datetime | None = None) -> list[dict]:
        params = {"last_activity_after": iso_z(updated_since)} if updated_since else {}
        out = []
        for app in self._pages("/applications", params):
            job = dig(app, "jobs", 0) or {}
            out.append(
                {
                    "id": str(app["id"]),
                    "candidate_id": str(app.get("candidate_id") or ""),
                    "job_id": str(job.get("id") or ""),
                    "job_name": job.get("name"),
                    "stage": dig(app, "current_stage", "name"),
                    "status": app.get("status"),
                    "updated_at": iso(app.get("last_activity_at")),
                    "raw": app,
                }
            )
        return out

    def list_candidates(self, *, updated_since: datetime | None = None) -> list[dict]:
        params = {"updated_after": iso_z(updated_since)} if updated_since else {}
        return [_candidate(c) for c in self._pages("/candidates", params)]

    def get_candidate(self, candidate_id: str) -> dict:
        return _candidate(self.http.get(f"{self.base}/candidates/{candidate_id}").json())

    def list_stages(self) -> list[dict]:
        stages = {}
        for job in self.list_jobs():
            for stage in self._pages(f"/jobs/{job['id']}/stages", {}):
                stages[str(stage["id"])] = {"id": str(stage["id"]), "name": stage.get("name")}
        return list(stages.values())

    def list_scheduled_interviews(self, *, updated_since: datetime | None = None) -> list[dict]:
        params = {"updated_after": iso_z(updated_since)} if updated_since else {}
        return [
            {
                "id": str(i["id"]),
                "application_id": str(i.get("application_id") or ""),
                "start_at": iso(dig(i, "start", "date_time")),
                "status": i.get("status"),
                "updated_at": iso(i.get("updated_at")),
                "raw": i,
            }
            for i in self._pages("/scheduled_interviews", params)
        ]


PROVIDER = Provider(
    name=NAME,
    verify_and_parse=verify_and_parse,
    normalize=normalize,
    api=GreenhouseApi,
    we_choose_webhook_secret=True,  # "the secret key can be any value"
    success_status=SUCCESS_STATUS,
)
