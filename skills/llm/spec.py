"""What an LLM skill declares. The runner (runner.py) and the engine read only this."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from skills.results import SkillContext, SkillResult

# The facts a skill gathers: {"candidate": {...}, "job": {...}, "interview": {...}, ...}.
Facts = dict[str, Any]


@dataclass(frozen=True)
class LlmSkill:
    slug: str
    # The skill's part of the system prompt: what a good result contains, tone, length,
    # what never to include. Static, so it is cached (cache_control) across runs.
    instructions: str
    # The context fields this skill sends to the model, as dotted paths into its facts
    # ("candidate.name", "job.name", "interview.start_at", ...). The runner sends these and
    # nothing else; a test holds each skill to its list.
    sends: tuple[str, ...]
    # Builds the facts from the run's trigger and the ATS read interface (ctx.client).
    gather: Callable[[SkillContext], Facts]
    # The deterministic template result from the same facts, used when the org turned LLM
    # off, no key is set or the budget is spent. `reason` is LlmGate.reason; the result
    # says it was made without the model.
    fallback: Callable[[SkillContext, Facts, str], SkillResult]
    # The read tools (tools.py names) the model may call for this skill.
    tools: tuple[str, ...] = ()
    # The most output tokens one round may produce.
    max_tokens: int = 1500
