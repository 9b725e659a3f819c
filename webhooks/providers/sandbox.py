"""The sandbox provider: demo ATS data stored in our own database, per organization."""

from __future__ import annotations

from datetime import datetime

from accounts.models import Organization
from webhooks.ats_read import (
    Application,
    AtsClient,
    Candidate,
    Interview,
    Interviewer,
    Job,
    Note,
)
from webhooks.models import (
    SandboxApplication,
    SandboxCandidate,
    SandboxInterview,
    SandboxJob,
    SandboxNote,
)


class SandboxClient(AtsClient):
    provider = "sandbox"
    lists_interviews = True
    lists_notes = True

    def __init__(self, org: Organization) -> None:
        self.org = org

    def list_jobs(self, *, status: str | None = "open") -> list[Job]:
        jobs = SandboxJob.objects.filter(organization=self.org).order_by("name")
        if status:
            jobs = jobs.filter(status=status)
        return [_job(job) for job in jobs]

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
        pk = _pk(candidate_id)
        cand = (
            SandboxCandidate.objects.filter(organization=self.org, pk=pk).first()
            if pk is not None
            else None
        )
        return _candidate(cand) if cand else None

    def list_candidates(self, *, created_since: datetime | None = None) -> list[Candidate]:
        cands = SandboxCandidate.objects.filter(organization=self.org)
        if created_since:
            cands = cands.filter(sourced_at__gte=created_since)
        return [_candidate(c) for c in cands.order_by("sourced_at", "pk")]

    def get_job(self, job_id: str) -> Job | None:
        pk = _pk(job_id)
        job = SandboxJob.objects.filter(organization=self.org, pk=pk).first() if pk else None
        return _job(job) if job is not None else None

    def list_interviews(
        self,
        *,
        candidate_id: str | None = None,
        application_id: str | None = None,
        starts_after: datetime | None = None,
        starts_before: datetime | None = None,
    ) -> list[Interview]:
        rows = SandboxInterview.objects.filter(organization=self.org).select_related("application")
        if starts_after is not None:
            rows = rows.filter(start_at__gte=starts_after)
        if starts_before is not None:
            rows = rows.filter(start_at__lte=starts_before)
        for name, value in (
            ("application__candidate_id", candidate_id),
            ("application_id", application_id),
        ):
            if value is not None:
                pk = _pk(value)
                if pk is None:
                    return []
                rows = rows.filter(**{name: pk})
        return [
            Interview(
                id=str(row.pk),
                application_id=str(row.application_id),
                candidate_id=str(row.application.candidate_id),
                job_id=str(row.application.job_id),
                stage=row.stage,
                start_at=row.start_at,
                end_at=row.end_at,
                status=row.status,
                interviewers=tuple(_interviewers(row.interviewers)),
                title=row.title,
            )
            # The newest 50 before a bound (the latest past ones), else the soonest 50.
            for row in (
                sorted(rows.order_by("-start_at", "-pk")[:50], key=lambda r: (r.start_at, r.pk))
                if starts_before is not None and starts_after is None
                else rows.order_by("start_at", "pk")[:50]
            )
        ]

    def list_notes(self, *, candidate_id: str, limit: int = 10) -> list[Note]:
        pk = _pk(candidate_id)
        if pk is None:
            return []
        rows = SandboxNote.objects.filter(organization=self.org, candidate_id=pk)
        return [
            Note(
                id=str(row.pk),
                candidate_id=str(row.candidate_id),
                author=row.author,
                body=row.body,
                created_at=row.written_at,
            )
            for row in rows.order_by("-written_at", "-pk")[: max(0, min(limit, 50))]
        ]


def _pk(value: object) -> int | None:
    """A sandbox row's id from what a caller (a skill, the model's tool call) passed: None
    for anything that is not one, rather than a database error."""
    text = str(value)
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        return None
    return int(text)


def _emails(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(str(v).strip().lower() for v in value if isinstance(v, str) and v.strip())


def _job(job: SandboxJob) -> Job:
    return Job(
        id=str(job.pk),
        name=job.name,
        department=job.department,
        status=job.status,
        stages=tuple(job.stages),
        opened_at=job.opened_at,
        owner_emails=_emails(job.owner_emails),
    )


def _candidate(cand: SandboxCandidate) -> Candidate:
    return Candidate(
        id=str(cand.pk),
        name=cand.name,
        email=cand.email,
        source=cand.source,
        created_at=cand.sourced_at,
        profile_text=cand.profile_text,
        headline=cand.headline,
    )


def _interviewers(value: object) -> list[Interviewer]:
    if not isinstance(value, list):
        return []
    return [
        Interviewer(
            name=str(item.get("name") or ""),
            email=str(item.get("email") or "").lower(),
            feedback_submitted=bool(item.get("feedback_submitted")),
        )
        for item in value
        if isinstance(item, dict)
    ]
