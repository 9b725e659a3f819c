"""A member's own pipeline, for the runs of org-wide automations: the jobs and applications
the ATS says that member owns (their address among the job's recruiter / hiring team, or the
application's). Where the ATS says nothing about ownership the member gets the whole
report, and the note says it is not scoped, so nobody takes the org's numbers for theirs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from skills.results import SkillContext
from webhooks.ats_read import Application, Job

RecordT = TypeVar("RecordT", Job, Application)


@dataclass(frozen=True)
class Scope:
    """`email`: whose pipeline (empty: not a member's run, nothing filtered); `scoped`:
    whether the ATS said who owns what, so the records were filtered."""

    email: str
    name: str
    scoped: bool

    @property
    def note(self) -> str:
        """A line for the top of the report ('' for an unscoped automation's own run)."""
        if not self.email:
            return ""
        who = self.name or self.email
        if self.scoped:
            return f"_For {who}: the jobs and applications the ATS says are theirs._\n\n"
        return (
            f"_For {who}. The ATS does not say who owns jobs or applications, so this is "
            "the whole pipeline, not scoped to them._\n\n"
        )


def owned(email: str, record: Job | Application, owners_of_job: dict[str, tuple]) -> bool:
    if email in record.owner_emails:
        return True
    job_id = record.job_id if isinstance(record, Application) else record.id
    return email in owners_of_job.get(job_id, ())


def scope_records(
    ctx: SkillContext,
    *,
    jobs: Sequence[Job] = (),
    applications: Sequence[Application] = (),
) -> tuple[list[Job], list[Application], Scope]:
    """`jobs` and `applications` kept to the member's own when the ATS says who owns them
    (any record with owner emails); unchanged otherwise."""
    email = (ctx.for_user_email or "").strip().lower()
    jobs, applications = list(jobs), list(applications)
    if not email:
        return jobs, applications, Scope(email="", name="", scoped=False)
    knows = any(r.owner_emails for r in (*jobs, *applications))
    if not knows:
        return jobs, applications, Scope(email=email, name=ctx.for_user_name, scoped=False)
    owners_of_job = {job.id: job.owner_emails for job in jobs}
    kept_jobs = [job for job in jobs if owned(email, job, owners_of_job)]
    kept_apps = [app for app in applications if owned(email, app, owners_of_job)]
    return kept_jobs, kept_apps, Scope(email=email, name=ctx.for_user_name, scoped=True)
