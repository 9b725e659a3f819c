"""new-candidate-alert: who applied since the last run (or the one candidate of an event)."""

from __future__ import annotations

from datetime import timedelta

from skills.registry import register
from skills.rendering import local, plural, render_markdown
from skills.results import SkillContext, SkillResult


@register("new-candidate-alert")
def new_candidate_alert(ctx: SkillContext) -> SkillResult:
    event_candidate = (ctx.trigger.get("candidate") or {}) if ctx.trigger else {}
    if event_candidate.get("name"):
        application = ctx.trigger.get("application") or {}
        rows = [
            {
                "name": event_candidate["name"],
                "job": application.get("job_name") or "",
                "source": "",
                "applied": "",
            }
        ]
    else:
        since = ctx.since or (ctx.now - timedelta(hours=ctx.params.get("lookback_hours", 24)))
        rows = [
            {
                "name": app.candidate_name,
                "job": app.job_name,
                "source": app.source,
                "applied": local(app.applied_at, ctx.time_zone),
            }
            for app in ctx.client.list_applications(applied_since=since)
        ]
    summary = f"{plural(len(rows), 'new candidate')}."
    return SkillResult(
        title=f"{plural(len(rows), 'new candidate')}",
        body_markdown=render_markdown("new-candidate-alert.md", {"rows": rows}),
        data={"count": len(rows), "candidates": rows},
        summary=summary,
        empty=not rows,
    )
