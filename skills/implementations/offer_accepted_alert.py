"""offer-accepted-alert: candidates who accepted an offer (the event's one, or since the last
run)."""

from __future__ import annotations

from datetime import timedelta

from skills.registry import register
from skills.rendering import local, plural, render_markdown
from skills.results import SkillContext, SkillResult


@register("offer-accepted-alert")
def offer_accepted_alert(ctx: SkillContext) -> SkillResult:
    event_candidate = (ctx.trigger.get("candidate") or {}) if ctx.trigger else {}
    if event_candidate.get("name"):
        application = ctx.trigger.get("application") or {}
        rows = [
            {"name": event_candidate["name"], "job": application.get("job_name") or "", "when": ""}
        ]
    else:
        since = ctx.since or (ctx.now - timedelta(days=ctx.params.get("lookback_days", 1)))
        rows = [
            {
                "name": app.candidate_name,
                "job": app.job_name,
                "when": local(app.last_activity_at, ctx.time_zone),
            }
            for app in ctx.client.list_applications(status="hired", updated_since=since)
        ]
    return SkillResult(
        title=f"{plural(len(rows), 'offer')} accepted",
        body_markdown=render_markdown("offer-accepted-alert.md", {"rows": rows}),
        data={"count": len(rows), "offers": rows},
        summary=f"{plural(len(rows), 'offer')} accepted.",
        empty=not rows,
    )
