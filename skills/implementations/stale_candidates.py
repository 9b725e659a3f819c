"""stale-candidates: active applications with no activity for `days` days, oldest first."""

from __future__ import annotations

from datetime import timedelta

from skills.registry import register
from skills.rendering import plural, render_markdown
from skills.results import SkillContext, SkillResult


@register("stale-candidates")
def stale_candidates(ctx: SkillContext) -> SkillResult:
    days = ctx.params.get("days", 14)
    cutoff = ctx.now - timedelta(days=days)
    stale = [
        app
        for app in ctx.client.list_applications(status="active")
        if app.last_activity_at < cutoff
    ]
    stale.sort(key=lambda a: a.last_activity_at)
    rows = [
        {
            "name": app.candidate_name,
            "job": app.job_name,
            "stage": app.stage,
            "idle_days": (ctx.now - app.last_activity_at).days,
        }
        for app in stale
    ]
    jobs = len({r["job"] for r in rows})
    summary = (
        f"{plural(len(rows), 'candidate')} idle for over {days} days in {plural(jobs, 'job')}."
    )
    return SkillResult(
        title=f"{plural(len(rows), 'stale candidate')} (no activity for {days}+ days)",
        body_markdown=render_markdown("stale-candidates.md", {"rows": rows, "days": days}),
        data={"days": days, "count": len(rows), "candidates": rows},
        summary=summary,
        empty=not rows,
    )
