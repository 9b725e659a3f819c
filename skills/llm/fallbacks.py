"""The four LLM skills' template results: made from the same facts as the model's, without
it, when the organization turned AI off, no key is configured or the month's budget is spent.

Each result says so in its first line, carries `fallback_reason` and `data["llm"] = False`,
and is useful on its own (a real briefing from the facts). Summaries hold counts and stage
names only, never a person's name or an address. Values enter the templates as data
(skills/rendering.py escapes them); the few sentences built here escape theirs themselves."""

from __future__ import annotations

from typing import Any

from config.markdown_escape import escape_markdown
from skills.llm.spec import Facts
from skills.rendering import Markdown, plural, render_markdown
from skills.results import SkillContext, SkillResult

# LlmGate.reason -> the words shown at the top of the result.
REASONS = {
    "llm_off": "the organization turned AI off",
    "no_key": "no Anthropic API key is configured",
    "budget_spent": "this month's AI budget is spent",
}
PROFILE_QUOTE_CHARS = 500
NOTE_QUOTE_CHARS = 160
SIGN_OFF_PLACEHOLDER = "[Your name]"


def reason_words(reason: str) -> str:
    return REASONS.get(reason, "the AI model was not available")


def interview_prep_fallback(ctx: SkillContext, facts: Facts, reason: str) -> SkillResult:
    context = _common(facts, reason)
    job = facts["job"]["name"] or "this role"
    questions = [
        f"Walk us through the piece of work you are proudest of that is closest to what the "
        f"{job} role does. What was your own part in it?",
        f"Which parts of the {job} role would you expect to find hardest in the first six "
        "months, and how would you prepare for them?",
        "Tell us about a project that did not go to plan. What did you notice, and what did "
        "you change?",
        "How do you decide what to work on first when several things are urgent? Give a "
        "recent example.",
        "Describe a disagreement with a colleague about how to do the work. How was it resolved?",
        "What do you want to learn in your next role, and how would this one help?",
    ]
    if facts["candidate"]["headline"]:
        questions.insert(
            0,
            f"Your profile says “{facts['candidate']['headline']}”. Pick one example from that "
            "experience and take us through it in detail.",
        )
    context["questions"] = questions[:8]
    profile = facts["candidate"]["profile_text"]
    context["profile_quote"] = _clip(profile, PROFILE_QUOTE_CHARS)
    stage = _stage(facts)
    summary = (
        f"Interview prep for {_a(stage)} interview: "
        f"{plural(len(context['panel']), 'interviewer')}, "
        f"{plural(len(context['questions']), 'question')} (template)."
    )
    return _result(
        facts,
        reason,
        title=f"Interview prep: {facts['job']['name'] or 'interview'}",
        body=render_markdown("interview-prep.md", context),
        summary=summary,
        data={"questions": len(context["questions"])},
    )


def interview_briefing_fallback(ctx: SkillContext, facts: Facts, reason: str) -> SkillResult:
    context = _common(facts, reason)
    context["notes"] = [
        {**note, "body": _clip(note["body"], NOTE_QUOTE_CHARS)} for note in facts["notes"][:3]
    ]
    context["more_notes"] = max(0, len(facts["notes"]) - 3)
    stage = _stage(facts)
    return _result(
        facts,
        reason,
        title=f"Interview briefing: {facts['job']['name'] or 'interview'}",
        body=render_markdown("interview-briefing.md", context),
        summary=f"Briefing for {_a(stage)} interview (template).",
        data={"notes": len(facts["notes"])},
    )


def interview_followup_fallback(ctx: SkillContext, facts: Facts, reason: str) -> SkillResult:
    context = _common(facts, reason)
    interview = facts["interview"] or {}
    context["feedback_in"] = interview.get("feedback_in", [])
    context["feedback_missing"] = interview.get("feedback_missing", [])
    context["not_yet"] = interview.get("started") is False
    stage = _stage(facts)
    missing, panel = len(context["feedback_missing"]), len(context["panel"])
    summary = (
        f"Follow-up for {_a(stage)} interview: {missing} of {panel} feedback missing (template)."
        if panel
        else f"Follow-up for {_a(stage)} interview: the panel is not known (template)."
    )
    return _result(
        facts,
        reason,
        title=f"Interview follow-up: {facts['job']['name'] or 'interview'}",
        body=render_markdown("interview-followup.md", context),
        summary=summary,
        data={"feedback_missing": missing, "panel": panel},
    )


def candidate_email_draft_fallback(ctx: SkillContext, facts: Facts, reason: str) -> SkillResult:
    context = _common(facts, reason)
    tone = facts.get("tone") if facts.get("tone") in ("warm", "formal", "brief") else "warm"
    context["tone"] = tone
    context["first_name"] = facts["candidate"]["first_name"]
    context["signature"] = facts["recruiter"]["name"] or SIGN_OFF_PLACEHOLDER
    context["update"] = Markdown(_update_sentence(facts))
    stage = _stage(facts)
    return _result(
        facts,
        reason,
        title=f"Email draft: {facts['job']['name'] or 'your application'}",
        body=render_markdown("candidate-email-draft.md", context),
        summary=f"Candidate email draft ({tone}) for the {stage or 'current'} stage (template).",
        data={"tone": tone},
    )


# -- shared -----------------------------------------------------------------------------------


def _common(facts: Facts, reason: str) -> dict[str, Any]:
    interview = facts.get("interview") or {}
    return {
        "reason": reason_words(reason),
        "facts": facts,
        "interview": interview,
        "panel": [p["name"] for p in interview.get("interviewers", [])],
        "stage": _stage(facts),
        "missing": facts["missing"],
    }


def _result(
    facts: Facts, reason: str, *, title: str, body: str, summary: str, data: dict[str, Any]
) -> SkillResult:
    interview = facts.get("interview") or {}
    return SkillResult(
        title=title,
        body_markdown=body,
        data={
            "llm": False,
            "fallback_reason": reason,
            "candidate_id": facts["candidate"]["id"],
            "application_id": facts["application"]["id"],
            "job_id": facts["job"]["id"],
            "interview_id": interview.get("id", ""),
            "missing": list(facts["missing"]),
            **data,
        },
        summary=summary,
        fallback_reason=reason,
    )


def _stage(facts: Facts) -> str:
    interview = facts.get("interview") or {}
    return interview.get("stage") or facts["application"]["stage"] or ""


def _a(stage: str) -> str:
    """'an Onsite Interview', 'a Phone Screen'; 'an' alone for no stage."""
    if not stage:
        return "an"
    return f"{'an' if stage[0].lower() in 'aeiou' else 'a'} {stage}"


def _clip(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit].rstrip() + " …"


def _update_sentence(facts: Facts) -> str:
    """The email's news, in markdown of ours with each value escaped."""
    job = escape_markdown(facts["job"]["name"] or "the role")
    interview = facts.get("interview") or {}
    if interview.get("start_at_local"):
        what = escape_markdown(interview.get("title") or "interview")
        when = escape_markdown(f"{interview['start_at_local']} ({facts['time_zone']})")
        return f"your {what} for the {job} role is scheduled for {when}"
    stage_to = facts["event"]["stage_to"]
    if stage_to and facts["event"]["type"] == "ats.candidate.stage_changed":
        stage_to = escape_markdown(stage_to)
        return f"your application for the {job} role has moved to the {stage_to} stage"
    stage = facts["application"]["stage"]
    if stage:
        return f"your application for the {job} role is at the {escape_markdown(stage)} stage"
    return f"your application for the {job} role is with us"
