"""What the four LLM skills gather: one candidate's interview (or stage) and what surrounds it,
from the run's trigger (the canonical event) and the ATS read interface.

Facts are JSON-able and hold no email address or phone number at all (the candidate's, the
panel's): nothing downstream can send what was never gathered. Times are shown in the
automation's zone. What the ATS could not give is named in `facts["missing"]`, so the model
(and the template) say it is not known instead of guessing.

Shape (every key present; "" / [] / None when not known):
    source          "event" (the trigger's candidate) | "picked" (no event: the org's next,
                    or last, interview, so "Run now" and dry runs show something real)
    time_zone, now_local
    organization    {name}
    recruiter       {name}           ctx.recruiter_name (the run's member, else the owner)
    event           {type, stage_from, stage_to, sample}
    candidate       {id, name, first_name, headline, profile_text}
    job             {id, name, department, stages}
    application     {id, stage, status}
    stages_passed   the job's stages before the application's current one
    next_stage      the stage after it ("" at the last one or when not known)
    interview       {id, title, stage, status, start_at, start_at_local, end_at_local,
                     duration_minutes, started, interviewers: [{name, feedback_submitted}],
                     feedback_in: [names], feedback_missing: [names]} or None
    notes           [{author, body, written_at_local}], newest first
    missing         [what the ATS could not give, in words]
    tone            the email draft's only: "warm" | "formal" | "brief" (its param)
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from skills.llm.spec import Facts
from skills.rendering import local
from skills.results import SkillContext, SkillError
from webhooks.ats_read import Application, Interview, Job, NotSupported

When = Literal["upcoming", "past"]

NOTES_LIMIT = 5
# The candidate's own words and colleagues' notes are clipped: enough for a prep pack, and a
# pasted 50-page resume does not become the whole prompt.
PROFILE_CHARS = 4000
NOTE_CHARS = 600
# An interview that started this long ago still counts as "the next one" (a briefing that runs
# a little late, a prep pack sent as it starts).
UPCOMING_GRACE = timedelta(hours=1)


def interview_facts(ctx: SkillContext, *, when: When, with_notes: bool = True) -> Facts:
    """The facts of the trigger's interview. `when`: which of the application's interviews a
    trigger without an interview id means, "upcoming" (prep, briefing) or "past" (follow-up).
    No event at all (a schedule, "Run now", a dry run): the org's soonest upcoming interview
    (or its latest past one), else SkillError("needs_interview")."""
    ids = _event_ids(ctx.trigger or {})
    facts = _base(ctx)
    picked: Interview | None = None
    if not (ids["candidate"] or ids["application"] or ids["interview"]):
        picked = _pick_interview(ctx, when=when)
        facts["source"] = "picked"
        ids = {
            "candidate": picked.candidate_id,
            "application": picked.application_id,
            "job": picked.job_id,
            "interview": picked.id,
            "start_at": None,
        }
    interview = picked or _find_interview(ctx, ids, when=when, missing=facts["missing"])
    _fill_subject(ctx, facts, ids, interview, with_notes=with_notes)
    facts["interview"] = _interview_facts(ctx, interview, ids)
    return facts


def candidate_facts(ctx: SkillContext) -> Facts:
    """The facts of the trigger's candidate and application (the email draft): no notes.
    No candidate in the trigger: SkillError("needs_candidate")."""
    trigger = ctx.trigger or {}
    ids = _event_ids(trigger)
    if not (ids["candidate"] or _event_name(trigger)):
        raise SkillError(
            "This skill drafts an email to the candidate of an ATS event (a stage change, an "
            "interview scheduled): this run has no event, so there is no one to write to. "
            "Trigger it on an event, or test it with one.",
            code="needs_candidate",
            retryable=False,
        )
    facts = _base(ctx)
    interview = None
    if ids["interview"]:
        interview = _find_interview(ctx, ids, when="upcoming", missing=facts["missing"])
    _fill_subject(ctx, facts, ids, interview, with_notes=False)
    facts["interview"] = _interview_facts(ctx, interview, ids) if ids["interview"] else None
    facts["tone"] = str(ctx.params.get("tone") or "warm")
    return facts


# -- the pieces -------------------------------------------------------------------------------


def _base(ctx: SkillContext) -> Facts:
    trigger = ctx.trigger or {}
    stage = trigger.get("stage") if isinstance(trigger.get("stage"), dict) else {}
    return {
        "source": "event",
        "time_zone": ctx.time_zone,
        "now_local": local(ctx.now, ctx.time_zone),
        "organization": {"name": ctx.org.name},
        "recruiter": {"name": ctx.recruiter_name or ctx.for_user_name or ""},
        "event": {
            "type": str(trigger.get("type") or ""),
            "stage_from": str(stage.get("from") or ""),
            "stage_to": str(stage.get("to") or ""),
            "sample": bool(trigger.get("sample")),
        },
        "missing": [],
    }


def _event_ids(trigger: dict[str, Any]) -> dict[str, str | None]:
    def part(name: str) -> dict:
        value = trigger.get(name)
        return value if isinstance(value, dict) else {}

    def text(value: Any) -> str | None:
        return str(value) if value not in (None, "") else None

    return {
        "candidate": text(part("candidate").get("id")),
        "application": text(part("application").get("id")),
        "job": text(part("application").get("job_id")) or text(part("job").get("id")),
        "interview": text(part("interview").get("id")),
        "start_at": text(part("interview").get("start_at")),
    }


def _event_name(trigger: dict[str, Any]) -> str:
    candidate = trigger.get("candidate")
    return str(candidate.get("name") or "") if isinstance(candidate, dict) else ""


def _event_job_name(trigger: dict[str, Any]) -> str:
    for key, field in (("application", "job_name"), ("job", "name")):
        part = trigger.get(key)
        if isinstance(part, dict) and part.get(field):
            return str(part[field])
    return ""


def _pick_interview(ctx: SkillContext, *, when: When) -> Interview:
    which = "latest past" if when == "past" else "next scheduled"
    needs = SkillError(
        "This skill runs on an interview: trigger it on an interview event (for example 30 "
        f"minutes before each interview). Run without one, it uses the organization's {which} "
        "interview, and the ATS has none to show"
        + (" (its client does not list interviews)." if not ctx.client.lists_interviews else "."),
        code="needs_interview",
        retryable=False,
    )
    if not ctx.client.lists_interviews:
        raise needs
    try:
        # A window around now, so an org with years of interviews still shows the right one.
        window = (
            {"starts_before": ctx.now}
            if when == "past"
            else {"starts_after": ctx.now - UPCOMING_GRACE}
        )
        interviews = [i for i in ctx.client.list_interviews(**window) if i.status != "cancelled"]
    except NotSupported:
        raise needs from None
    interviews = _members_own(ctx, interviews)
    chosen = _choose(interviews, now=ctx.now, when=when)
    if chosen is None:
        raise needs
    return chosen


def _members_own(ctx: SkillContext, interviews: list[Interview]) -> list[Interview]:
    """A member's run of an org-wide automation picks from their own jobs' interviews when
    the ATS says who owns the jobs (as skills/scoping.py does for reports)."""
    email = (ctx.for_user_email or "").strip().lower()
    if not email:
        return interviews
    owners = {job.id: job.owner_emails for job in ctx.client.list_jobs(status=None)}
    if not any(owners.values()):
        return interviews
    return [i for i in interviews if email in owners.get(i.job_id, ())]


def _choose(interviews: list[Interview], *, now: datetime, when: When) -> Interview | None:
    if when == "past":
        done = [i for i in interviews if i.start_at <= now]
        # The latest one still waiting for feedback, else simply the latest.
        waiting = [i for i in done if any(not p.feedback_submitted for p in i.interviewers)]
        pool = waiting or done
        return max(pool, key=lambda i: i.start_at) if pool else None
    upcoming = [i for i in interviews if i.start_at >= now - UPCOMING_GRACE]
    return min(upcoming, key=lambda i: i.start_at) if upcoming else None


def _find_interview(
    ctx: SkillContext, ids: dict[str, str | None], *, when: When, missing: list[str]
) -> Interview | None:
    if not ctx.client.lists_interviews:
        missing.append("interview details and the panel (this ATS's client does not list them)")
        return None
    try:
        if ids["application"]:
            rows = ctx.client.list_interviews(application_id=ids["application"])
        elif ids["candidate"]:
            rows = ctx.client.list_interviews(candidate_id=ids["candidate"])
        else:
            rows = ctx.client.list_interviews()
    except NotSupported:
        missing.append("interview details and the panel (this ATS's client does not list them)")
        return None
    if ids["interview"]:
        found = next((i for i in rows if i.id == ids["interview"]), None)
        if found is None:
            missing.append("interview details and the panel (the ATS did not find the interview)")
        return found
    rows = [i for i in rows if i.status != "cancelled"]
    # A stage change names the stage the candidate moved to: that stage's interview first.
    stage_to = (ctx.trigger or {}).get("stage") or {}
    at_stage = [i for i in rows if isinstance(stage_to, dict) and i.stage == stage_to.get("to")]
    chosen = _choose(at_stage, now=ctx.now, when=when) or _choose(rows, now=ctx.now, when=when)
    if chosen is None:
        missing.append(f"an interview (the ATS has no {when} interview for this candidate)")
    return chosen


def _fill_subject(
    ctx: SkillContext,
    facts: Facts,
    ids: dict[str, str | None],
    interview: Interview | None,
    *,
    with_notes: bool,
) -> None:
    """candidate, job, application, stages and notes, into `facts`."""
    trigger, missing = ctx.trigger or {}, facts["missing"]
    candidate_id = ids["candidate"] or (interview.candidate_id if interview else None)
    application_id = ids["application"] or (interview.application_id if interview else None)
    job_id = ids["job"] or (interview.job_id if interview else None)

    record, known = None, bool(candidate_id)
    if candidate_id:
        try:
            record = ctx.client.get_candidate(candidate_id)
        except NotSupported:
            missing.append("the candidate's profile (this ATS's client cannot fetch a candidate)")
        else:
            known = record is not None
            if record is None:
                missing.append("the candidate's profile (the ATS did not find the candidate)")
    name = record.name if record else _event_name(trigger)
    facts["candidate"] = {
        "id": candidate_id or "",
        "name": name,
        "first_name": name.split()[0] if name.split() else "",
        "headline": record.headline if record else "",
        "profile_text": _clip(record.profile_text, PROFILE_CHARS) if record else "",
    }

    # The job first: get_job answers None for an id that is not one (a sample event's), so
    # the applications are then searched without it.
    job = ctx.client.get_job(job_id) if job_id else None
    application = _find_application(
        ctx, application_id, candidate_id, job.id if job is not None else None
    )
    if job is None and application is not None:
        job = ctx.client.get_job(application.job_id)
    if job is None:
        missing.append("the job's details (the ATS did not find the job)")
    facts["job"] = _job_facts(job, application, trigger, job_id)

    stage = (
        application.stage
        if application
        else (facts["event"]["stage_to"] or (interview.stage if interview else ""))
    )
    if application is None:
        missing.append("the application (the ATS did not find it)")
    facts["application"] = {
        "id": application.id if application else (application_id or ""),
        "stage": stage,
        "status": application.status if application else "",
    }
    stages = facts["job"]["stages"]
    at = stages.index(stage) if stage in stages else -1
    facts["stages_passed"] = stages[:at] if at > 0 else []
    facts["next_stage"] = stages[at + 1] if 0 <= at < len(stages) - 1 else ""

    facts["notes"] = []
    if with_notes:
        # Notes by id even when the ATS cannot fetch the candidate; none for an unknown one.
        facts["notes"] = _notes(ctx, candidate_id if known else None, missing)


def _find_application(
    ctx: SkillContext, application_id: str | None, candidate_id: str | None, job_id: str | None
) -> Application | None:
    if not (application_id or candidate_id):
        return None
    rows = ctx.client.list_applications(job_id=job_id) if job_id else []
    if not rows:
        rows = ctx.client.list_applications()
    if application_id:
        return next((a for a in rows if a.id == application_id), None)
    mine = [a for a in rows if a.candidate_id == candidate_id]
    # The active one first, then the most recently touched.
    mine.sort(key=lambda a: (a.status == "active", a.last_activity_at), reverse=True)
    return mine[0] if mine else None


def _job_facts(
    job: Job | None, application: Application | None, trigger: dict, job_id: str | None
) -> dict[str, Any]:
    if job is not None:
        return {
            "id": job.id,
            "name": job.name,
            "department": job.department,
            "stages": list(job.stages),
        }
    name = application.job_name if application else _event_job_name(trigger)
    return {"id": job_id or "", "name": name, "department": "", "stages": []}


def _notes(ctx: SkillContext, candidate_id: str | None, missing: list[str]) -> list[dict]:
    if not candidate_id:
        return []
    if not ctx.client.lists_notes:
        missing.append("colleagues' notes (this ATS's client does not list them)")
        return []
    try:
        notes = ctx.client.list_notes(candidate_id=candidate_id, limit=NOTES_LIMIT)
    except NotSupported:
        missing.append("colleagues' notes (this ATS's client does not list them)")
        return []
    return [
        {
            "author": note.author,
            "body": _clip(note.body, NOTE_CHARS),
            "written_at_local": local(note.created_at, ctx.time_zone),
        }
        for note in notes[:NOTES_LIMIT]
    ]


def _interview_facts(
    ctx: SkillContext, interview: Interview | None, ids: dict[str, str | None]
) -> dict[str, Any] | None:
    if interview is None:
        start = _parse(ids["start_at"])
        if ids["interview"] is None and start is None:
            return None
        # The event's own word for the time, when the ATS did not give the interview.
        return {
            "id": ids["interview"] or "",
            "title": "",
            "stage": "",
            "status": "",
            "start_at": start.isoformat() if start else "",
            "start_at_local": local(start, ctx.time_zone),
            "end_at_local": "",
            "duration_minutes": None,
            "started": start <= ctx.now if start else None,
            "interviewers": [],
            "feedback_in": [],
            "feedback_missing": [],
        }
    duration = (
        int((interview.end_at - interview.start_at).total_seconds() // 60)
        if interview.end_at
        else None
    )
    panel = [
        {"name": p.name, "feedback_submitted": p.feedback_submitted}
        for p in interview.interviewers
        if p.name
    ]
    return {
        "id": interview.id,
        "title": interview.title,
        "stage": interview.stage,
        "status": interview.status,
        "start_at": interview.start_at.isoformat(),
        "start_at_local": local(interview.start_at, ctx.time_zone),
        "end_at_local": local(interview.end_at, ctx.time_zone),
        "duration_minutes": duration,
        "started": interview.start_at <= ctx.now,
        "interviewers": panel,
        "feedback_in": [p["name"] for p in panel if p["feedback_submitted"]],
        "feedback_missing": [p["name"] for p in panel if not p["feedback_submitted"]],
    }


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _clip(text: str, limit: int) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else text[:limit].rstrip() + " [...]"
