"""What a skill gets and what it gives back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from accounts.models import Organization
from webhooks.ats_read import AtsClient


@dataclass(frozen=True)
class SkillContext:
    org: Organization
    params: dict[str, Any]
    client: AtsClient
    now: datetime  # aware, UTC
    time_zone: str  # the automation's zone, for showing times
    since: datetime | None = None  # the automation's previous successful run
    trigger: dict[str, Any] = field(default_factory=dict)  # event or schedule data
    # Whose pipeline this run reports on (an org-wide automation's member): skills that
    # read jobs or applications keep the ones the ATS says this address owns. Empty: the
    # automation's own run, unscoped.
    for_user_email: str = ""
    for_user_name: str = ""


@dataclass(frozen=True)
class SkillResult:
    title: str
    body_markdown: str
    data: dict[str, Any]
    # Counts and facts only, never a name or an email: this is what stays on the run.
    summary: str
    # True when there is nothing worth telling (no new candidates): delivery is skipped.
    empty: bool = False


class SkillError(Exception):
    """A skill could not produce its result. The message is shown to the user."""

    def __init__(self, message: str, *, code: str = "skill_error", retryable: bool = True) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable
