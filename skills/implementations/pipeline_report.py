"""pipeline-report: every open job, how many active candidates sit in each stage."""

from __future__ import annotations

from datetime import timedelta

from skills.registry import register
from skills.rendering import plural, render_markdown
from skills.results import SkillContext, SkillResult
from skills.scoping import scope_records


@register("pipeline-report")
def pipeline_report(ctx: SkillContext) -> SkillResult:
    new_since = ctx.now - timedelta(days=ctx.params.get("new_days", 7))
    jobs = ctx.client.list_jobs(status="open")
    active = ctx.client.list_applications(status="active")
    # A member's run of an org-wide automation: that member's jobs only, where the ATS says.
    jobs, active, scope = scope_records(ctx, jobs=jobs, applications=active)
    by_job: dict[str, list] = {job.id: [] for job in jobs}
    for app in active:
        if app.job_id in by_job:
            by_job[app.job_id].append(app)

    rows = []
    for job in jobs:
        apps = by_job[job.id]
        stage_counts = {stage: 0 for stage in job.stages}
        for app in apps:
            stage_counts[app.stage] = stage_counts.get(app.stage, 0) + 1
        rows.append(
            {
                "job": job.name,
                "department": job.department,
                "active": len(apps),
                "new": sum(1 for a in apps if a.applied_at >= new_since),
                "stages": [{"stage": s, "count": c} for s, c in stage_counts.items()],
            }
        )
    total = sum(r["active"] for r in rows)
    new = sum(r["new"] for r in rows)
    summary = (
        f"{plural(len(rows), 'open job')}, {plural(total, 'active application')}, "
        f"{new} new in the last {ctx.params.get('new_days', 7)} days."
    )
    body = render_markdown(
        "pipeline-report.md",
        {"rows": rows, "total": total, "new": new, "new_days": ctx.params.get("new_days", 7)},
    )
    return SkillResult(
        title="Pipeline report",
        body_markdown=scope.note + body,
        data={"jobs": rows, "total_active": total, "total_new": new, "scoped": scope.scoped},
        summary=summary,
        empty=False,
    )
