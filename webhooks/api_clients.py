"""ATS REST clients, one class per provider, each with its own pagination: jobs,
applications changed since a time, candidates, stages and scheduled interviews. Each returns
plain dicts in one shape (the provider's own object stays under "raw")."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from webhooks.api_http import ApiError, ApiSession
from webhooks.models import AtsConnection
from webhooks.providers.common import dig, iso

LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


def _iso_z(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


class GreenhouseClient:
    """Harvest API: Basic auth with the API key as user; pagination by RFC 5988 Link."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base = (base_url or "https://harvest.greenhouse.io/v1").rstrip("/")
        self.http = ApiSession(auth=(api_key, ""))

    def _pages(self, path: str, params: dict) -> list[dict]:
        url, out = f"{self.base}{path}", []
        params = {"per_page": 500, **params}
        while url:
            response = self.http.get(url, params=params)
            out.extend(response.json())
            match = LINK_NEXT.search(response.headers.get("Link", ""))
            url, params = (match.group(1), None) if match else (None, None)
        return out

    def list_jobs(self) -> list[dict]:
        return [
            {"id": str(j["id"]), "name": j.get("name"), "status": j.get("status"), "raw": j}
            for j in self._pages("/jobs", {})
        ]

    def list_applications(self, *, updated_since: datetime | None = None) -> list[dict]:
        params = {"last_activity_after": _iso_z(updated_since)} if updated_since else {}
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
        params = {"updated_after": _iso_z(updated_since)} if updated_since else {}
        return [
            {
                "id": str(c["id"]),
                "name": " ".join(p for p in (c.get("first_name"), c.get("last_name")) if p),
                "email": dig(c, "email_addresses", 0, "value"),
                "raw": c,
            }
            for c in self._pages("/candidates", params)
        ]

    def get_candidate(self, candidate_id: str) -> dict:
        c = self.http.get(f"{self.base}/candidates/{candidate_id}").json()
        return {
            "id": str(c["id"]),
            "name": " ".join(p for p in (c.get("first_name"), c.get("last_name")) if p),
            "email": dig(c, "email_addresses", 0, "value"),
            "raw": c,
        }

    def list_stages(self) -> list[dict]:
        stages = {}
        for job in self.list_jobs():
            for stage in self._pages(f"/jobs/{job['id']}/stages", {}):
                stages[str(stage["id"])] = {"id": str(stage["id"]), "name": stage.get("name")}
        return list(stages.values())

    def list_scheduled_interviews(self, *, updated_since: datetime | None = None) -> list[dict]:
        params = {"updated_after": _iso_z(updated_since)} if updated_since else {}
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


class LeverClient:
    """Lever Data API: Basic auth with the API key; pagination by offset token / hasNext."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base = (base_url or "https://api.lever.co/v1").rstrip("/")
        self.http = ApiSession(auth=(api_key, ""))

    def _pages(self, path: str, params: dict) -> list[dict]:
        out, offset = [], None
        while True:
            query = {"limit": 100, **params, **({"offset": offset} if offset else {})}
            body = self.http.get(f"{self.base}{path}", params=query).json()
            out.extend(body.get("data") or [])
            if not body.get("hasNext") or not body.get("next"):
                return out
            offset = body["next"]

    def list_jobs(self) -> list[dict]:
        return [
            {"id": p["id"], "name": p.get("text"), "status": p.get("state"), "raw": p}
            for p in self._pages("/postings", {})
        ]

    def list_applications(self, *, updated_since: datetime | None = None) -> list[dict]:
        params = {"expand": "stage"}
        if updated_since:
            params["updated_at_start"] = int(updated_since.timestamp() * 1000)
        return [
            {
                "id": o["id"],
                "candidate_id": o.get("contact"),
                "stage": dig(o, "stage", "text"),
                "status": "rejected" if o.get("archived") else "active",
                "updated_at": iso(o.get("updatedAt")),
                "raw": o,
            }
            for o in self._pages("/opportunities", params)
        ]

    def list_candidates(self, *, updated_since: datetime | None = None) -> list[dict]:
        return [
            {"id": a.get("candidate_id"), "raw": a["raw"]}
            for a in self.list_applications(updated_since=updated_since)
        ]

    def list_stages(self) -> list[dict]:
        return [{"id": s["id"], "name": s.get("text")} for s in self._pages("/stages", {})]

    def list_scheduled_interviews(self, *, updated_since: datetime | None = None) -> list[dict]:
        out = []
        for app in self.list_applications(updated_since=updated_since):
            for i in self._pages(f"/opportunities/{app['id']}/interviews", {}):
                out.append(
                    {
                        "id": i["id"],
                        "application_id": app["id"],
                        "start_at": iso(i.get("date")),
                        "status": "cancelled" if i.get("canceledAt") else "scheduled",
                        "raw": i,
                    }
                )
        return out


class AshbyClient:
    """Ashby: RPC-style POSTs; pagination by cursor / moreDataAvailable / nextCursor."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base = (base_url or "https://api.ashbyhq.com").rstrip("/")
        self.http = ApiSession(auth=(api_key, ""))

    def _pages(self, method: str, body: dict) -> list[dict]:
        out, cursor = [], None
        while True:
            payload = {"limit": 100, **body, **({"cursor": cursor} if cursor else {})}
            data = self.http.post(f"{self.base}/{method}", json=payload).json()
            if not data.get("success", True):
                raise ApiError(f"Ashby {method}: {data.get('errors') or data}")
            out.extend(data.get("results") or [])
            if not data.get("moreDataAvailable") or not data.get("nextCursor"):
                return out
            cursor = data["nextCursor"]

    def list_jobs(self) -> list[dict]:
        return [
            {"id": j["id"], "name": j.get("title"), "status": j.get("status"), "raw": j}
            for j in self._pages("job.list", {})
        ]

    def list_applications(self, *, updated_since: datetime | None = None) -> list[dict]:
        body = {"createdAfter": int(updated_since.timestamp() * 1000)} if updated_since else {}
        return [
            {
                "id": a["id"],
                "candidate_id": dig(a, "candidate", "id"),
                "job_id": dig(a, "job", "id"),
                "job_name": dig(a, "job", "title"),
                "stage": dig(a, "currentInterviewStage", "title"),
                "status": str(a.get("status") or "").lower(),
                "updated_at": iso(a.get("updatedAt")),
                "raw": a,
            }
            for a in self._pages("application.list", body)
        ]

    def list_candidates(self, *, updated_since: datetime | None = None) -> list[dict]:
        return [
            {
                "id": c["id"],
                "name": c.get("name"),
                "email": dig(c, "primaryEmailAddress", "value"),
                "raw": c,
            }
            for c in self._pages("candidate.list", {})
        ]

    def list_stages(self) -> list[dict]:
        return [
            {"id": s["id"], "name": s.get("title")} for s in self._pages("interviewStage.list", {})
        ]

    def list_scheduled_interviews(self, *, updated_since: datetime | None = None) -> list[dict]:
        return [
            {
                "id": s["id"],
                "application_id": s.get("applicationId"),
                "start_at": iso(dig(s, "interviewEvents", 0, "startTime")),
                "status": str(s.get("status") or "").lower(),
                "raw": s,
            }
            for s in self._pages("interviewSchedule.list", {})
        ]


class WorkableClient:
    """Workable SPI v3: Bearer token; pagination by the full URL in paging.next."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base = base_url.rstrip("/")
        self.http = ApiSession(headers={"Authorization": f"Bearer {api_key}"})

    def _pages(self, path: str, key: str, params: dict) -> list[dict]:
        url, out = f"{self.base}{path}", []
        while url:
            body = self.http.get(url, params=params).json()
            out.extend(body.get(key) or [])
            url, params = dig(body, "paging", "next"), None
        return out

    def list_jobs(self) -> list[dict]:
        return [
            {"id": j["shortcode"], "name": j.get("title"), "status": j.get("state"), "raw": j}
            for j in self._pages("/jobs", "jobs", {})
        ]

    def list_applications(self, *, updated_since: datetime | None = None) -> list[dict]:
        params = {
            "limit": 100,
            **({"updated_after": _iso_z(updated_since)} if updated_since else {}),
        }
        return [
            {
                "id": c["id"],
                "candidate_id": c["id"],
                "job_id": dig(c, "job", "shortcode"),
                "job_name": dig(c, "job", "title"),
                "stage": c.get("stage"),
                "status": "rejected" if c.get("disqualified") else "active",
                "updated_at": iso(c.get("updated_at")),
                "raw": c,
            }
            for c in self._pages("/candidates", "candidates", params)
        ]

    def list_candidates(self, *, updated_since: datetime | None = None) -> list[dict]:
        return self.list_applications(updated_since=updated_since)

    def list_stages(self) -> list[dict]:
        return [
            {"id": s["slug"], "name": s.get("name")} for s in self._pages("/stages", "stages", {})
        ]

    def list_scheduled_interviews(self, *, updated_since: datetime | None = None) -> list[dict]:
        return []  # SPI v3 exposes no interview list


CLIENTS = {
    AtsConnection.Provider.GREENHOUSE: GreenhouseClient,
    AtsConnection.Provider.LEVER: LeverClient,
    AtsConnection.Provider.ASHBY: AshbyClient,
    AtsConnection.Provider.WORKABLE: WorkableClient,
}


def client_for_connection(connection: AtsConnection) -> Any:
    cls = CLIENTS.get(connection.provider)
    if cls is None:
        raise ApiError(f"No API client for {connection.get_provider_display()} yet.")
    api_key = (connection.secrets or {}).get("api_key")
    if not api_key:
        raise ApiError(f"The {connection.name} connection has no API key.")
    return cls(connection.base_url, api_key)


class ZohoRecruitClient:
    """Zoho Recruit API v2: `Authorization: Zoho-oauthtoken`; pagination by page/per_page and
    info.more_records."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base = (base_url or "https://recruit.zoho.com/recruit/v2").rstrip("/")
        self.http = ApiSession(headers={"Authorization": f"Zoho-oauthtoken {api_key}"})

    def _pages(self, module: str, headers: dict | None = None) -> list[dict]:
        out, page = [], 1
        while True:
            response = self.http.get(
                f"{self.base}/{module}", params={"page": page, "per_page": 200}, headers=headers
            )
            if response.status_code == 204:  # Zoho answers 204 when there are no records
                return out
            body = response.json()
            out.extend(body.get("data") or [])
            if not dig(body, "info", "more_records"):
                return out
            page += 1

    @staticmethod
    def _since(updated_since: datetime | None) -> dict | None:
        return {"If-Modified-Since": _iso_z(updated_since)} if updated_since else None

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

    def list_stages(self) -> list[dict]:
        return []  # Zoho's stages are application statuses, sent by name

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


class SmartRecruitersClient:
    """SmartRecruiters Customer API: `X-SmartToken`; pagination by nextPageId."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base = (base_url or "https://api.smartrecruiters.com").rstrip("/")
        self.http = ApiSession(headers={"X-SmartToken": api_key})

    def _pages(self, path: str, params: dict | None = None) -> list[dict]:
        out, page_id = [], None
        while True:
            query = {"limit": 100, **(params or {}), **({"pageId": page_id} if page_id else {})}
            body = self.http.get(f"{self.base}{path}", params=query).json()
            out.extend(body.get("content") or [])
            page_id = body.get("nextPageId")
            if not page_id or not body.get("content"):
                return out

    def list_jobs(self) -> list[dict]:
        return [
            {"id": j["id"], "name": j.get("title"), "status": j.get("status"), "raw": j}
            for j in self._pages("/jobs")
        ]

    def list_applications(self, *, updated_since: datetime | None = None) -> list[dict]:
        params = {"updatedAfter": _iso_z(updated_since)} if updated_since else {}
        out = []
        for c in self._pages("/candidates", params):
            assignment = c.get("primaryAssignment") or {}
            status = str(dig(assignment, "status") or "").upper()
            out.append(
                {
                    "id": c["id"],
                    "candidate_id": c["id"],
                    "candidate_name": " ".join(
                        p for p in (c.get("firstName"), c.get("lastName")) if p
                    ),
                    "job_id": dig(assignment, "job", "id"),
                    "job_name": dig(assignment, "job", "title"),
                    "stage": dig(assignment, "status"),
                    "status": "hired"
                    if status == "HIRED"
                    else "rejected"
                    if status == "REJECTED"
                    else "active",
                    "updated_at": iso(c.get("updatedOn")),
                    "raw": c,
                }
            )
        return out

    def list_candidates(self, *, updated_since: datetime | None = None) -> list[dict]:
        return [
            {
                "id": a["id"],
                "name": a["candidate_name"],
                "email": dig(a, "raw", "email"),
                "raw": a["raw"],
            }
            for a in self.list_applications(updated_since=updated_since)
        ]

    def list_stages(self) -> list[dict]:
        return []

    def list_scheduled_interviews(self, *, updated_since: datetime | None = None) -> list[dict]:
        return []  # not in the Customer API's candidate list


CLIENTS[AtsConnection.Provider.ZOHO] = ZohoRecruitClient
CLIENTS[AtsConnection.Provider.SMARTRECRUITERS] = SmartRecruitersClient
