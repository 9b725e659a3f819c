"""The read interface (webhooks/ats_read.py) over any provider's API client: the one adapter
that turns the clients' plain dicts into the typed records skills read."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils import timezone

from webhooks.ats_read import Application, AtsClient, Candidate, Job, NotSupported
from webhooks.providers.api import ProviderApi

OPEN_JOB_STATUSES = {"open", "active", "published", "sourcing", "in-progress", "public"}


def _dt(value: str | None) -> datetime:
    if not value:
        return timezone.now()
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _owner_emails(value: object) -> tuple[str, ...]:
    """A provider client that knows a job's recruiter or hiring team passes their addresses
    as `owner_emails`; none does yet, so reports are not scoped (and say so)."""
    if not isinstance(value, list | tuple):
        return ()
    return tuple(str(v).strip().lower() for v in value if isinstance(v, str) and v.strip())


class ApiRecordsClient(AtsClient):
    def __init__(self, api: ProviderApi) -> None:
        self.provider = api.NAME
        self.api = api
        self.gets_candidate = api.GETS_CANDIDATE

    def list_jobs(self, *, status: str | None = "open") -> list[Job]:
        jobs = []
        for j in self.api.list_jobs():
            state = "open" if str(j.get("status") or "").lower() in OPEN_JOB_STATUSES else "closed"
            if status and state != status:
                continue
            jobs.append(
                Job(
                    id=str(j["id"]),
                    name=j.get("name") or "",
                    department="",
                    status=state,
                    stages=(),
                    owner_emails=_owner_emails(j.get("owner_emails")),
                )
            )
        return jobs

    def list_applications(
        self,
        *,
        job_id: str | None = None,
        status: str | None = None,
        updated_since: datetime | None = None,
        applied_since: datetime | None = None,
    ) -> list[Application]:
        out = []
        apps = self.api.list_applications(updated_since=updated_since or applied_since)
        names: dict[str, str] = {}
        if any(not a.get("candidate_name") for a in apps):
            # Some APIs list applications with candidate ids only: one candidates list names
            # them all.
            names = {str(c["id"]): c.get("name") or "" for c in self.api.list_candidates()}
        for a in apps:
            app_status = a.get("status") or "active"
            if (job_id and a.get("job_id") != job_id) or (status and app_status != status):
                continue
            applied = _dt(
                a.get("applied_at") or (a.get("raw") or {}).get("applied_at") or a.get("updated_at")
            )
            if applied_since and applied < applied_since:
                continue
            out.append(
                Application(
                    id=str(a["id"]),
                    candidate_id=str(a.get("candidate_id") or ""),
                    job_id=str(a.get("job_id") or ""),
                    job_name=a.get("job_name") or "",
                    stage=a.get("stage") or "",
                    status=app_status,
                    applied_at=applied,
                    last_activity_at=_dt(a.get("updated_at")),
                    candidate_name=a.get("candidate_name")
                    or names.get(str(a.get("candidate_id") or ""), ""),
                )
            )
        return out

    def get_candidate(self, candidate_id: str) -> Candidate | None:
        if not self.api.GETS_CANDIDATE:
            raise NotSupported(f"{self.provider} cannot fetch one candidate by id.")
        c = self.api.get_candidate(candidate_id)
        return Candidate(
            id=c["id"], name=c.get("name") or "", email=c.get("email") or "", source=""
        )

    def list_candidates(self, *, created_since: datetime | None = None) -> list[Candidate]:
        return [
            Candidate(
                id=str(c["id"]), name=c.get("name") or "", email=c.get("email") or "", source=""
            )
            for c in self.api.list_candidates(updated_since=created_since)
        ]
