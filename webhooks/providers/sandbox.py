"""The sandbox provider: demo ATS data stored in our own database, per organization."""

from __future__ import annotations

from datetime import datetime

from accounts.models import Organization
from webhooks.ats_read import Application, AtsClient, Candidate, Job
from webhooks.models import SandboxApplication, SandboxCandidate, SandboxJob


class SandboxClient(AtsClient):
    provider = "sandbox"

    def __init__(self, org: Organization) -> None:
        self.org = org

    def list_jobs(self, *, status: str | None = "open") -> list[Job]:
        jobs = SandboxJob.objects.filter(organization=self.org).order_by("name")
        if status:
            jobs = jobs.filter(status=status)
        return [
            Job(
                id=str(job.pk),
                name=job.name,
                department=job.department,
                status=job.status,
                stages=tuple(job.stages),
                opened_at=job.opened_at,
                owner_emails=_emails(job.owner_emails),
            )
            for job in jobs
        ]

    def list_applications(
        self,
        *,
        job_id: str | None = None,
        status: str | None = None,
        updated_since: datetime | None = None,
        applied_since: datetime | None = None,
    ) -> list[Application]:
        apps = SandboxApplication.objects.filter(organization=self.org).select_related(
            "job", "candidate"
        )
        if job_id:
            apps = apps.filter(job_id=job_id)
        if status:
            apps = apps.filter(status=status)
        if updated_since:
            apps = apps.filter(last_activity_at__gte=updated_since)
        if applied_since:
            apps = apps.filter(applied_at__gte=applied_since)
        return [
            Application(
                id=str(app.pk),
                candidate_id=str(app.candidate_id),
                job_id=str(app.job_id),
                job_name=app.job.name,
                stage=app.stage,
                status=app.status,
                applied_at=app.applied_at,
                last_activity_at=app.last_activity_at,
                source=app.candidate.source,
                candidate_name=app.candidate.name,
                owner_emails=_emails(app.job.owner_emails),
            )
            for app in apps.order_by("applied_at", "pk")
        ]

    def get_candidate(self, candidate_id: str) -> Candidate | None:
        cand = SandboxCandidate.objects.filter(organization=self.org, pk=candidate_id).first()
        return _candidate(cand) if cand else None

    def list_candidates(self, *, created_since: datetime | None = None) -> list[Candidate]:
        cands = SandboxCandidate.objects.filter(organization=self.org)
        if created_since:
            cands = cands.filter(sourced_at__gte=created_since)
        return [_candidate(c) for c in cands.order_by("sourced_at", "pk")]


def _emails(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(str(v).strip().lower() for v in value if isinstance(v, str) and v.strip())


def _candidate(cand: SandboxCandidate) -> Candidate:
    return Candidate(
        id=str(cand.pk),
        name=cand.name,
        email=cand.email,
        source=cand.source,
        created_at=cand.sourced_at,
    )
