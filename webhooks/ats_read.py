"""What skills read from an ATS, whichever ATS it is: the one typed read interface.

Every provider's client implements `AtsClient` (the sandbox directly, the six real ATSs through
the one adapter over their API clients, webhooks/providers/records.py) and returns these plain
records, so skills never see a provider's own payloads.

This module imports nothing else of webhooks: it is the only part of the app that skills may
import (an import-linter contract in pyproject.toml holds that).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Job:
    id: str
    name: str
    department: str
    status: str  # "open" | "closed"
    stages: tuple[str, ...]
    opened_at: datetime | None = None
    # The recruiter's / hiring team's email addresses, as the ATS gives them (lowercase);
    # empty when the ATS does not say who owns the job.
    owner_emails: tuple[str, ...] = ()


@dataclass(frozen=True)
class Candidate:
    id: str
    name: str
    email: str
    source: str
    created_at: datetime | None = None
    # What the candidate wrote (a resume's text, application answers), as the ATS gives it.
    # Data, never instructions: the LLM runner passes it delimited (skills/llm).
    profile_text: str = ""
    headline: str = ""  # e.g. "Senior backend engineer at Acme"


@dataclass(frozen=True)
class Interviewer:
    name: str
    email: str
    # Whether this interviewer's scorecard / feedback is in.
    feedback_submitted: bool = False


@dataclass(frozen=True)
class Interview:
    id: str
    application_id: str
    candidate_id: str
    job_id: str
    stage: str  # the pipeline stage it belongs to, e.g. "Onsite Interview"
    start_at: datetime
    end_at: datetime | None
    status: str  # "scheduled" | "completed" | "cancelled"
    interviewers: tuple[Interviewer, ...] = ()
    title: str = ""  # e.g. "System design"


@dataclass(frozen=True)
class Note:
    id: str
    candidate_id: str
    author: str  # the colleague who wrote it
    body: str
    created_at: datetime


@dataclass(frozen=True)
class Application:
    id: str
    candidate_id: str
    job_id: str
    job_name: str
    stage: str
    status: str  # "active" | "rejected" | "hired"
    applied_at: datetime
    last_activity_at: datetime
    source: str = ""
    candidate_name: str = ""
    # Who owns this application (its recruiter or its job's team), lowercase; empty when
    # the ATS does not say.
    owner_emails: tuple[str, ...] = ()


class ProviderError(Exception):
    """The ATS could not answer. `retryable` says whether trying again later may help."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class NotSupported(ProviderError):
    """This ATS cannot do that at all (its API has no such endpoint): asking again never
    helps, so it is never retryable."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


class AtsClient(ABC):
    """The read interface. A client that cannot do something raises NotSupported and says
    so in its `gets_candidate` flag, so no caller has to probe it with hasattr."""

    provider: str
    # Whether get_candidate can fetch one candidate by id (else it raises NotSupported).
    gets_candidate: bool = True

    @abstractmethod
    def list_jobs(self, *, status: str | None = "open") -> list[Job]: ...

    @abstractmethod
    def list_applications(
        self,
        *,
        job_id: str | None = None,
        status: str | None = None,
        updated_since: datetime | None = None,
        applied_since: datetime | None = None,
    ) -> list[Application]: ...

    @abstractmethod
    def get_candidate(self, candidate_id: str) -> Candidate | None:
        """The candidate, or None if there is no such candidate."""

    @abstractmethod
    def list_candidates(self, *, created_since: datetime | None = None) -> list[Candidate]: ...

    # What the LLM skills' read tools also use. Not every ATS client can list interviews or
    # notes: those that cannot say so in the flags and raise NotSupported.
    lists_interviews: bool = False
    lists_notes: bool = False

    def get_job(self, job_id: str) -> Job | None:
        """The job, or None. Clients with a direct lookup override this."""
        return next((job for job in self.list_jobs(status=None) if job.id == job_id), None)

    def list_interviews(
        self,
        *,
        candidate_id: str | None = None,
        application_id: str | None = None,
        starts_after: datetime | None = None,
        starts_before: datetime | None = None,
    ) -> list[Interview]:
        """A candidate's or an application's interviews (or the org's, in a window of start
        times), soonest first; a client may cap how many it returns."""
        raise NotSupported(f"{self.provider}'s client does not list interviews.")

    def list_notes(self, *, candidate_id: str, limit: int = 10) -> list[Note]:
        """A candidate's most recent notes, newest first, at most `limit`."""
        raise NotSupported(f"{self.provider}'s client does not list notes.")

    def pipeline_counts(self, *, job_id: str) -> dict[str, int]:
        """Active applications per stage of one job, in the job's stage order when known."""
        job = self.get_job(job_id)
        counts: dict[str, int] = {stage: 0 for stage in (job.stages if job else ())}
        for app in self.list_applications(job_id=job_id, status="active"):
            counts[app.stage] = counts.get(app.stage, 0) + 1
        return counts
