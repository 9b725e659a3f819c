"""new-candidate-alert: who applied since the last run (or the one candidate of an event)."""

from __future__ import annotations

from datetime import timedelta

from skills.registry import register
from skills.rendering import local, plural, render_markdown
from skills.results import SkillContext, SkillResult
from skills.scoping import Scope, scope_records


@register("new-candidate-alert")
def new_candidate_alert(ctx: SkillContext) -> SkillResult:
    event_candidate = (ctx.trigger.get("candidate") or {}) if ctx.trigger else {}
    scope = Scope(email="", name="", scoped=False)
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
        applications = ctx.client.list_applications(applied_since=since)
        if ctx.for_user_email:  # a member's run of an org-wide automation: their jobs only
            jobs = ctx.client.list_jobs(status=None)
            _jobs, applications, scope = scope_records(ctx, jobs=jobs, applications=applications)
        rows = [
            {
                "name": app.candidate_name,
                "job": app.job_name,
                "source": app.source,
                "applied": local(app.applied_at, ctx.time_zone),
            }
            for app in applications
        ]
    summary = f"{plural(len(rows), 'new candidate')}."
    return SkillResult(
        title=f"{plural(len(rows), 'new candidate')}",
        body_markdown=scope.note + render_markdown("new-candidate-alert.md", {"rows": rows}),
        data={"count": len(rows), "candidates": rows},
        summary=summary,
        empty=not rows,
    )
