"""The four LLM skills: what each knows (gather), says (instructions), sends to the model
(sends) and may read further (tools), and its template result (fallback).

Facts are gathered by skills/llm/facts.py (its docstring gives their shape); they never hold
an email address or a phone number, the candidate's or the panel's. Of those facts, each skill
sends the model only the dotted paths below (spec.sent_facts), the least it needs:

| skill | fields sent | why |
| --- | --- | --- |
| interview-prep | candidate.name, candidate.headline, candidate.profile_text; job.name, job.department, job.stages; application.stage, stages_passed, next_stage; interview.title, .stage, .start_at_local, .duration_minutes, .interviewers.name; notes.author, notes.body; time_zone, missing | background and focus areas come from the candidate's own words and colleagues' notes; questions are tied to the job and stage; the panel splits the questions |
| interview-briefing | candidate.name, candidate.headline; job.name, job.department; application.stage, stages_passed; interview.title, .stage, .start_at_local, .duration_minutes, .interviewers.name; notes.author, notes.body, notes.written_at_local; time_zone, missing | under 200 words: who, the role, this interview, stages passed, the panel, what colleagues flagged; the headline, not the profile text |
| interview-followup | candidate.name; job.name, job.stages; application.stage, next_stage; interview.title, .stage, .status, .start_at_local, .interviewers.name, .interviewers.feedback_submitted; now_local, time_zone, missing | who still owes feedback and the next stage; no profile, no notes |
| candidate-email-draft | candidate.first_name; job.name; application.stage; event.type, event.stage_to; interview.title, interview.start_at_local; organization.name, recruiter.name, tone, time_zone, missing | a greeting by first name, the stage or the interview's time as the data gives them, the sign-off; nothing about notes, feedback or the panel |

Never sent by any skill: an email address, a phone number, the candidate's source, ids, other
candidates. Tools: prep may read the job, the candidate's interviews and notes; the briefing
and follow-up the candidate's interviews; the email draft nothing (all it may say is above).
"""  # noqa: E501 (the table's rows are one line each, as the README takes them)

from __future__ import annotations

from skills.llm.facts import candidate_facts, interview_facts
from skills.llm.fallbacks import (
    candidate_email_draft_fallback,
    interview_briefing_fallback,
    interview_followup_fallback,
    interview_prep_fallback,
)
from skills.llm.spec import Facts, LlmSkill
from skills.llm.texts import INSTRUCTIONS
from skills.results import SkillContext


def _upcoming(ctx: SkillContext) -> Facts:
    return interview_facts(ctx, when="upcoming")


def _past(ctx: SkillContext) -> Facts:
    return interview_facts(ctx, when="past", with_notes=False)


_INTERVIEW = (
    "interview.title",
    "interview.stage",
    "interview.start_at_local",
)

LLM_SKILLS: dict[str, LlmSkill] = {
    spec.slug: spec
    for spec in (
        LlmSkill(
            slug="interview-prep",
            instructions=INSTRUCTIONS["interview-prep"],
            sends=(
                "candidate.name",
                "candidate.headline",
                "candidate.profile_text",
                "job.name",
                "job.department",
                "job.stages",
                "application.stage",
                "stages_passed",
                "next_stage",
                *_INTERVIEW,
                "interview.duration_minutes",
                "interview.interviewers.name",
                "notes.author",
                "notes.body",
                "time_zone",
                "missing",
            ),
            gather=_upcoming,
            fallback=interview_prep_fallback,
            tools=("get_job", "list_interviews", "list_notes"),
            max_tokens=1500,
        ),
        LlmSkill(
            slug="interview-briefing",
            instructions=INSTRUCTIONS["interview-briefing"],
            sends=(
                "candidate.name",
                "candidate.headline",
                "job.name",
                "job.department",
                "application.stage",
                "stages_passed",
                *_INTERVIEW,
                "interview.duration_minutes",
                "interview.interviewers.name",
                "notes.author",
                "notes.body",
                "notes.written_at_local",
                "time_zone",
                "missing",
            ),
            gather=_upcoming,
            fallback=interview_briefing_fallback,
            tools=("list_interviews",),
            max_tokens=700,
        ),
        LlmSkill(
            slug="interview-followup",
            instructions=INSTRUCTIONS["interview-followup"],
            sends=(
                "candidate.name",
                "job.name",
                "job.stages",
                "application.stage",
                "next_stage",
                *_INTERVIEW,
                "interview.status",
                "interview.interviewers.name",
                "interview.interviewers.feedback_submitted",
                "now_local",
                "time_zone",
                "missing",
            ),
            gather=_past,
            fallback=interview_followup_fallback,
            tools=("list_interviews",),
            max_tokens=800,
        ),
        LlmSkill(
            slug="candidate-email-draft",
            instructions=INSTRUCTIONS["candidate-email-draft"],
            sends=(
                "candidate.first_name",
                "job.name",
                "application.stage",
                "event.type",
                "event.stage_to",
                "interview.title",
                "interview.start_at_local",
                "organization.name",
                "recruiter.name",
                "tone",
                "time_zone",
                "missing",
            ),
            gather=candidate_facts,
            fallback=candidate_email_draft_fallback,
            tools=(),
            max_tokens=900,
        ),
    )
}
