"""What a skill gets and what it gives back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
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
    # Whose name signs what a skill drafts for a person to send (an email draft): the member
    # of an org-wide automation's run, else the automation's owner. Never used for scoping.
    recruiter_name: str = ""
    # For LLM skills: whether to call the model, and with which (decided by the engine from
    # the org's settings, the key and the month's budget).
    llm: LlmGate | None = None


@dataclass(frozen=True)
class LlmGate:
    """The engine's decision for one run of an LLM skill. `use_llm` False: the skill's
    template fallback makes the result, labelled with `reason`."""

    use_llm: bool
    model: str = ""
    # Why not (when use_llm is False): "llm_off" (the org turned LLM off), "no_key",
    # "budget_spent".
    reason: str = ""


@dataclass(frozen=True)
class LlmUsage:
    """What one run spent on the Messages API (all rounds together)."""

    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    cost_usd: Decimal = Decimal("0")
    rounds: int = 0


@dataclass(frozen=True)
class SkillResult:
    title: str
    body_markdown: str
    data: dict[str, Any]
    # Counts and facts only, never a name or an email: this is what stays on the run.
    summary: str
    # True when there is nothing worth telling (no new candidates): delivery is skipped.
    empty: bool = False
    # LLM skills: the tokens and cost of the model's work (None: no model was called), and
    # why the template fallback made this result instead ("" when it did not).
    llm: LlmUsage | None = None
    fallback_reason: str = ""


class SkillError(Exception):
    """A skill could not produce its result. The message is shown to the user."""

    def __init__(self, message: str, *, code: str = "skill_error", retryable: bool = True) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable


class LlmError(SkillError):
    """An LLM skill's call failed. `usage`: what it had spent before failing (kept on the
    run, since it is billed)."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        retryable: bool,
        usage: LlmUsage | None = None,
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(message, code=code, retryable=retryable)
        self.usage = usage
        self.retry_after_seconds = retry_after_seconds
