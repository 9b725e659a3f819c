"""sourcing-recap: candidates sourced in the last N days, by source and by job."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from skills.registry import register
from skills.rendering import plural, render_markdown
from skills.results import SkillContext, SkillResult


@register("sourcing-recap")
def sourcing_recap(ctx: SkillContext) -> SkillResult:
    days = ctx.params.get("days", 7)
    since = ctx.now - timedelta(days=days)
    candidates = ctx.client.list_candidates(created_since=since)
    applications = ctx.client.list_applications(applied_since=since)
    by_source = Counter(c.source or "Unknown" for c in candidates)
    by_job = Counter(a.job_name for a in applications)
    sources = [{"source": s, "count": n} for s, n in by_source.most_common()]
    jobs = [{"job": j, "count": n} for j, n in by_job.most_common()]
    summary = (
        f"{plural(len(candidates), 'candidate')} sourced in the last {days} days from "
        f"{plural(len(sources), 'source')}; {plural(len(applications), 'application')}."
    )
    body = render_markdown(
        "sourcing-recap.md",
        {
            "days": days,
            "total": len(candidates),
            "sources": sources,
            "jobs": jobs,
            "applications": len(applications),
        },
    )
    return SkillResult(
        title=f"Sourcing recap: last {days} days",
        body_markdown=body,
        data={"days": days, "candidates": len(candidates), "by_source": sources, "by_job": jobs},
        summary=summary,
    )
