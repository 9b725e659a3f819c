"""Skills that exist only for tests, loaded through SKILL_PLUGIN_MODULES (also by the worker
processes that integration tests start): one that fails, one that takes its time."""

from __future__ import annotations

import contextlib
import time

from skills.registry import register
from skills.results import SkillContext, SkillError, SkillResult


@register("test-fails")
def always_fails(ctx: SkillContext) -> SkillResult:
    raise SkillError("The ATS answered 503 Service Unavailable.", code="ats_unavailable")


@register("test-crashes")
def crashes(ctx: SkillContext) -> SkillResult:
    raise RuntimeError("boom")


@register("test-slow")
def slow(ctx: SkillContext) -> SkillResult:
    time.sleep(float(ctx.params.get("seconds", 30)))
    return SkillResult(title="Slow", body_markdown="done\n", data={}, summary="Slow done.")


@register("test-slow-swallows")
def slow_and_swallows(ctx: SkillContext) -> SkillResult:
    """Slow, and catches every Exception on the way (as careless skill code does)."""
    deadline = time.monotonic() + float(ctx.params.get("seconds", 30))
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):  # the point: a skill that swallows errors
            time.sleep(0.05)
    return SkillResult(title="Slow", body_markdown="done\n", data={}, summary="Slow done.")
