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


# The read tools an LLM skill may declare (tools.py implements each, scoped to the run's
# org through ctx.client).
TOOL_NAMES = (
    "get_candidate",
    "list_applications",
    "get_job",
    "list_interviews",
    "pipeline_counts",
    "list_notes",
)

_MISSING = object()


def sent_facts(spec: LlmSkill, facts: Facts) -> Facts:
    """The part of `facts` that goes to the model: only the dotted paths the skill declares
    in `sends` (a path naming a list keeps that field of each item), nested as in `facts`.
    A path with no value in these facts is left out, never sent as null."""
    out: Facts = {}
    for path in spec.sends:
        _copy_path(facts, out, path.split("."))
    return out


def _copy_path(source: Any, target: dict, parts: list[str]) -> None:
    head, rest = parts[0], parts[1:]
    if not isinstance(source, dict):
        return
    value = source.get(head, _MISSING)
    if value is _MISSING:
        return
    if not rest:
        target[head] = value
        return
    if isinstance(value, list):
        items = target.setdefault(head, [{} for _ in value])
        for item, into in zip(value, items, strict=False):
            _copy_path(item, into, rest)
        return
    _copy_path(value, target.setdefault(head, {}), rest)
