"""Zoho Recruit signs nothing: the webhook (attached to a workflow rule) carries a per-
connection secret as a custom parameter named `token`, and the fields you map. Configure these
parameters: event (candidate_created, application_created, stage_changed, hired, rejected,
interview_scheduled, interview_cancelled), candidate_id, candidate_name, candidate_email,
application_id, job_id, job_name, stage, interview_id, interview_start, and modified_time
(the record's Modified Time: it is what tells two real events with the same fields apart).
POST (form or JSON) or GET both work.

The token is checked before the body is read when it is in the query string, and never
stored: the stored body is the parameters without it.

Zoho sends no delivery id, so a delivery is identified by its parameters (query and body,
the method, without the token). Two real events can have identical parameters (a candidate
moved back to a stage, with no modified_time mapped) and a retry has identical parameters
too; nothing in the request tells them apart. So without modified_time identical parameters
are one delivery only within SAME_CONTENT_WINDOW_SECONDS (a retry storm), and a new event
after that.

API: Recruit API v2, `Authorization: Zoho-oauthtoken`; pagination by page/per_page and
info.more_records."""

from __future__ import annotations

import json
import time
from datetime import datetime
from functools import partial
from urllib.parse import parse_qsl, urlencode

from webhooks.providers.api import ProviderApi, iso_z
from webhooks.providers.common import (
    Delivery,
    MalformedError,
    Request,
    SignatureError,
    body_hash,
    dig,
    event,
    iso,
    parse_json,
    same,
)
from webhooks.providers.parsing import check_text
from webhooks.providers.provider import Provider
from webhooks.providers.reading import ID, TEXT, TIME, pick

NAME = "zoho"
SUCCESS_STATUS = 200
METHODS = ("POST", "GET")
SAME_CONTENT_WINDOW_SECONDS = 600
MAX_FIELDS = 100
TYPES = {
    "candidate_created": "ats.candidate.created",
    "application_created": "ats.application.created",
    "stage_changed": "ats.candidate.stage_changed",
    "hired": "ats.candidate.hired",
    "rejected": "ats.candidate.rejected",
    "interview_scheduled": "ats.interview.scheduled",
    "interview_cancelled": "ats.interview.cancelled",
}
SCALARS = (str, int, float, bool)

at = partial(pick, prefix="")


def _body_fields(request: Request) -> list[tuple[str, object]]:
    if not request.body:
        return []
    if "json" in request.header("Content-Type"):
        parsed = parse_json(request.body)
        if not isinstance(parsed, dict):
            raise MalformedError("body is not a JSON object")
        pairs = list(parsed.items())
    else:
        try:
            text = request.body.decode("utf-8")
            pairs = parse_qsl(text, strict_parsing=True, errors="strict", max_num_fields=MAX_FIELDS)
        except (ValueError, UnicodeDecodeError):
            raise MalformedError("body is neither a form nor a JSON object") from None
    if len(pairs) > MAX_FIELDS:
        raise MalformedError(f"more than {MAX_FIELDS} parameters")
    for name, value in pairs:
        if value is not None and not isinstance(value, SCALARS):
            raise MalformedError(f"parameter '{name}' is not a string or a number")
        check_text(name, name="a parameter name")
        if isinstance(value, str):
            check_text(value, name=f"parameter '{name}'")
    return pairs


def _check_token(token: object, secret: str) -> None:
    if not token:
        raise SignatureError("missing the 'token' parameter")
    if not isinstance(token, str) or not same(token, secret):
        raise SignatureError("the 'token' parameter is wrong")


def verify_and_parse(request: Request, secret: str | None, *, now: float | None = None) -> Delivery:
    query = list(request.query.items())
    for name, value in query:
        check_text(name, name="a parameter name")
        check_text(value, name=f"parameter '{name}'")
    in_query = "token" in request.query
    if secret is not None and in_query:  # before reading the body
        _check_token(request.query["token"], secret)
    body = _body_fields(request)
    if secret is not None and not in_query:
        _check_token(dict(body).get("token"), secret)
    had_token = any(name == "token" for name, _ in body)
    body = [(name, value) for name, value in body if name != "token"]
    fields = {name: value for name, value in query + body if name != "token"}
    if not at(fields, "event"):
        raise MalformedError("no 'event' parameter")
    return Delivery(
        raw_type=at(fields, "event"),
        payload=fields,
        delivery_id=_delivery_id(request, fields, time.time() if now is None else now),
        stored_body=_without_token(request, body) if had_token else None,
    )


def _delivery_id(request: Request, fields: dict, now: float) -> str:
    parts = [request.method.encode(), json.dumps(sorted(fields.items()), default=str).encode()]
    if not fields.get("modified_time"):
        parts.append(b"%d" % (now // SAME_CONTENT_WINDOW_SECONDS))
    return body_hash(*parts)


def _without_token(request: Request, body: list[tuple[str, object]]) -> bytes:
    """The body as it came, but for the token parameter."""
    if "json" in request.header("Content-Type"):
        return json.dumps(dict(body), ensure_ascii=False).encode()
    return urlencode(body).encode()


def normalize(delivery: Delivery) -> dict:
    f = delivery.payload
    return event(
        type=TYPES.get(delivery.raw_type),
        raw_type=delivery.raw_type,
        provider=NAME,
        delivery_id=delivery.delivery_id,
        occurred_at=at(f, "modified_time", TIME),
        candidate={
            "id": at(f, "candidate_id", ID),
            "name": at(f, "candidate_name", TEXT),
            "email": at(f, "candidate_email", TEXT),
        },
        application={
            "id": at(f, "application_id", ID) or at(f, "candidate_id", ID),
            "job_id": at(f, "job_id", ID),
            "job_name": at(f, "job_name", TEXT),
        },
        stage_to=at(f, "stage", TEXT) or at(f, "status", TEXT),
        interview={"id": at(f, "interview_id", ID), "start_at": at(f, "interview_start", TIME)},
    )


# --- The API client -----------------------------------------------------------------------------


class ZohoRecruitApi(ProviderApi):
    NAME = NAME
    DEFAULT_BASE_URL = "https://recruit.zoho.com/recruit/v2"
    LISTS_STAGES = False  # Zoho's stages are application statuses, sent by name
    LISTS_INTERVIEWS = True

    def auth_for(self, api_key: str) -> None:
        return None

    def headers_for(self, api_key: str) -> dict[str, str]:
        return {"Authorization": f"Zoho-oauthtoken {api_key}"}

    def _page(self, module: str, page: int, per_page: int, headers: dict | None = None):
        return self.http.get(
            f"{self.base}/{module}", params={"page": page, "per_page": per_page}, headers=headers
        )

    def _pages(self, module: str, headers: dict | None = None) -> list[dict]:
        out, page = [], 1
        while True:
            response = self._page(module, page, 200, headers)
            if response.status_code == 204:  # Zoho answers 204 when there are no records
                return out
            body = response.json()
            out.extend(body.get("data") or [])
            if not dig(body, "info", "more_records"):
                return out
            page += 1

    @staticmethod
    def _since(updated_since: datetime | None) -> dict | None:
        return {"If-Modified-Since": iso_z(updated_since)} if updated_since else None

    def probe(self) -> None:
        response = self._page("Job_Openings", 1, 1)
        if response.status_code != 204:
            response.json()

    def list_jobs(self) -> list[dict]:
        return [
            {
                "id": str(j["id"]),
                "name": j.get("Posting_Title") or j.get("Job_Opening_Name"),
                "status": j.get("Job_Opening_Status"),
                "raw": j,
            }
            for j in self._pages("Job_Openings")
        ]

    def list_applications(self, *, updated_since: datetime | None = None) -> list[dict]:
        out = []
        for a in self._pages("Applications", self._since(updated_since)):
            status = str(a.get("Application_Status") or "").lower()
            out.append(
                {
                    "id": str(a["id"]),
                    "candidate_id": str(dig(a, "Candidate_Name", "id") or ""),
                    "candidate_name": dig(a, "Candidate_Name", "name"),
                    "job_id": str(dig(a, "Job_Opening_Name", "id") or ""),
                    "job_name": dig(a, "Job_Opening_Name", "name"),
                    "stage": a.get("Application_Status"),
                    "status": "hired"
                    if "hired" in status
                    else "rejected"
                    if "reject" in status
                    else "active",
                    "updated_at": iso(a.get("Modified_Time")),
                    "raw": a,
                }
            )
        return out

    def list_candidates(self, *, updated_since: datetime | None = None) -> list[dict]:
        return [
            {"id": str(c["id"]), "name": c.get("Full_Name"), "email": c.get("Email"), "raw": c}
            for c in self._pages("Candidates", self._since(updated_since))
        ]

    def list_scheduled_interviews(self, *, updated_since: datetime | None = None) -> list[dict]:
        return [
            {
                "id": str(i["id"]),
                "application_id": str(dig(i, "$Application_Id") or ""),
                "start_at": iso(i.get("Start_DateTime")),
                "status": "cancelled" if i.get("Interview_Status") == "Cancelled" else "scheduled",
                "raw": i,
            }
            for i in self._pages("Interviews", self._since(updated_since))
        ]


PROVIDER = Provider(
    name=NAME,
    verify_and_parse=verify_and_parse,
    normalize=normalize,
    api=ZohoRecruitApi,
    we_choose_webhook_secret=True,  # the token is a custom parameter we define
    success_status=SUCCESS_STATUS,
    methods=METHODS,
)
