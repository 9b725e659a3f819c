"""Skill slug -> implementation. Deterministic skills register here; LLM skills are declared in
skills/llm/skills.py and run through the LLM runner (skills/llm/runner.py), or their template
when the engine's gate (ctx.llm) says the model is not to be used."""

from __future__ import annotations

import importlib
from collections.abc import Callable

import jsonschema
from django.conf import settings

from skills.models import Skill
from skills.results import SkillContext, SkillError, SkillResult

SkillFn = Callable[[SkillContext], SkillResult]

_IMPLEMENTATIONS: dict[str, SkillFn] = {}
_MODULES = (
    "skills.implementations.pipeline_report",
    "skills.implementations.sourcing_recap",
    "skills.implementations.new_candidate_alert",
    "skills.implementations.stale_candidates",
    "skills.implementations.offer_accepted_alert",
)


def register(slug: str) -> Callable[[SkillFn], SkillFn]:
    def decorator(fn: SkillFn) -> SkillFn:
        _IMPLEMENTATIONS[slug] = fn
        return fn

    return decorator


def _load() -> None:
    # SKILL_PLUGIN_MODULES adds a deployment's own deterministic skills (each module calls
    # @register); the catalog row with the same slug makes them selectable.
    for module in (*_MODULES, *settings.SKILL_PLUGIN_MODULES):
        importlib.import_module(module)


def implementation_for(skill: Skill) -> SkillFn:
    if not skill.active:
        raise SkillError(
            f"The skill {skill.name!r} is switched off, so this automation cannot run.",
            code="skill_inactive",
            retryable=False,
        )
    if skill.mode == Skill.Mode.LLM:
        return _llm_implementation(skill)
    _load()
    try:
        return _IMPLEMENTATIONS[skill.slug]
    except KeyError:
        raise SkillError(
            f"No implementation is installed for the skill {skill.slug!r}.",
            code="skill_missing",
            retryable=False,
        ) from None


def _llm_implementation(skill: Skill) -> SkillFn:
    # Imported here: the runner pulls in the anthropic SDK, which deterministic runs never need.
    from skills.llm.runner import llm_skill_run
    from skills.llm.skills import LLM_SKILLS

    spec = LLM_SKILLS.get(skill.slug)
    if spec is None:
        raise SkillError(
            f"No LLM skill is installed for {skill.slug!r}; nothing was sent.",
            code="skill_missing",
            retryable=False,
        )

    def run(ctx: SkillContext) -> SkillResult:
        facts = spec.gather(ctx)
        gate = ctx.llm
        if gate is None or not gate.use_llm:
            return spec.fallback(ctx, facts, gate.reason if gate else "llm_off")
        return llm_skill_run(spec=spec, ctx=ctx, facts=facts)

    return run


def validate_params(*, skill: Skill, params: dict) -> dict:
    """Return params with the schema's defaults filled in, or raise ValueError saying what is
    wrong with them."""
    schema = skill.params_schema or {"type": "object"}
    try:
        jsonschema.validate(params, schema)
    except jsonschema.ValidationError as exc:
        where = ".".join(str(p) for p in exc.absolute_path) or "params"
        raise ValueError(f"{where}: {exc.message}") from None
    filled = dict(params)
    for name, prop in schema.get("properties", {}).items():
        if name not in filled and "default" in prop:
            filled[name] = prop["default"]
    return filled
