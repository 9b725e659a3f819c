"""stale-candidates: active applications with no activity for `days` days, oldest first."""

from __future__ import annotations

from datetime import timedelta

from skills.registry import register
from skills.rendering import plural, render_markdown
from skills.results import SkillContext, SkillResult
from skills.scoping import scope_records


@register("stale-candidates")
def stale_candidates(ctx: SkillContext) -> SkillResult:
    days = ctx.params.get("days", 14)
    cutoff = ctx.now - timedelta(days=days)
    applications = ctx.client.list_applications(status="active")
    # A member's run of an org-wide automation: the applications of that member's jobs.
    jobs = ctx.client.list_jobs(status=None) if ctx.for_user_email else []
    _jobs, applications, scope = scope_records(ctx, jobs=jobs, applications=applications)
    stale = [app for app in applications if app.last_activity_at < cutoff]
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
        body_markdown=scope.note
        + render_markdown("stale-candidates.md", {"rows": rows, "days": days}),
        data={"days": days, "count": len(rows), "candidates": rows},
        summary=summary,
        empty=not rows,
    )
