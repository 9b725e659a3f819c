"""What skills read from an ATS, whichever ATS it is: the provider-client interface.

Each provider module (the sandbox here; Greenhouse, Lever, ... later) returns these plain
records so skills never see a provider's own payloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Job:
    id: str
    name: str
    department: str
    status: str  # "open" | "closed"
    stages: tuple[str, ...]
    opened_at: datetime | None = None


@dataclass(frozen=True)
class Candidate:
    id: str
    name: str
    email: str
    source: str
    created_at: datetime | None = None


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


class ProviderError(Exception):
    """The ATS could not answer. `retryable` says whether trying again later may help."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class AtsClient(Protocol):
    provider: str

    def list_jobs(self, *, status: str | None = "open") -> list[Job]: ...

    def list_applications(
        self,
        *,
        job_id: str | None = None,
        status: str | None = None,
        updated_since: datetime | None = None,
        applied_since: datetime | None = None,
    ) -> list[Application]: ...

    def get_candidate(self, candidate_id: str) -> Candidate | None: ...

    def list_candidates(self, *, created_since: datetime | None = None) -> list[Candidate]: ...
