"""The skill catalog: every skill the product offers. Migrations call `catalog_sync` to
write it; a change here needs a new migration that calls it again. The LLM skills'
instructions are the same text their runs send (skills/llm/texts.py)."""

from skills.llm.texts import INSTRUCTIONS

DAYS = {"type": "integer", "minimum": 1, "maximum": 365}

CATALOG = [
    {
        "slug": "pipeline-report",
        "name": "Pipeline report",
        "description": "Every open job with how many active candidates sit in each stage, and how many are new.",
        "mode": "deterministic",
        "params_schema": {
            "type": "object",
            "properties": {
                "new_days": {**DAYS, "default": 7, "description": "What counts as new, in days."}
            },
            "additionalProperties": False,
        },
    },
    {
        "slug": "sourcing-recap",
        "name": "Sourcing recap",
        "description": "Candidates sourced in the last days, by source and by job.",
        "mode": "deterministic",
        "params_schema": {
            "type": "object",
            "properties": {"days": {**DAYS, "default": 7}},
            "additionalProperties": False,
        },
    },
    {
        "slug": "new-candidate-alert",
        "name": "New candidate alert",
        "description": "Who applied since the last run, or the candidate of an ATS event.",
        "mode": "deterministic",
        "params_schema": {
            "type": "object",
            "properties": {
                "lookback_hours": {"type": "integer", "minimum": 1, "maximum": 720, "default": 24}
            },
            "additionalProperties": False,
        },
    },
    {
        "slug": "stale-candidates",
        "name": "Stale candidates",
        "description": "Active candidates with no activity for more than the given number of days.",
        "mode": "deterministic",
        "params_schema": {
            "type": "object",
            "properties": {
                "days": {**DAYS, "default": 14, "description": "Idle for more than this many days."}
            },
            "additionalProperties": False,
        },
    },
    {
        "slug": "offer-accepted-alert",
        "name": "Offer accepted alert",
        "description": "Candidates who accepted an offer, from an ATS event or since the last run.",
        "mode": "deterministic",
        "params_schema": {
            "type": "object",
            "properties": {"lookback_days": {**DAYS, "default": 1}},
            "additionalProperties": False,
        },
    },
    {
        "slug": "interview-prep",
        "name": "Interview prep",
        "description": "A prep pack for the interviewers: the role, the candidate's background, focus areas and questions.",
        "mode": "llm",
        "instructions": INSTRUCTIONS["interview-prep"],
        "params_schema": {"type": "object", "additionalProperties": False},
    },
    {
        "slug": "interview-briefing",
        "name": "Interview briefing",
        "description": "A short briefing shortly before an interview: who, for which role, what happened so far.",
        "mode": "llm",
        "instructions": INSTRUCTIONS["interview-briefing"],
        "params_schema": {"type": "object", "additionalProperties": False},
    },
    {
        "slug": "interview-followup",
        "name": "Interview follow-up",
        "description": "After an interview: a reminder to submit feedback and a summary of what is still missing.",
        "mode": "llm",
        "instructions": INSTRUCTIONS["interview-followup"],
        "params_schema": {"type": "object", "additionalProperties": False},
    },
    {
        "slug": "candidate-email-draft",
        "name": "Candidate email draft",
        "description": "A draft email to the candidate for the recruiter to review and send.",
        "mode": "llm",
        "instructions": INSTRUCTIONS["candidate-email-draft"],
        "params_schema": {
            "type": "object",
            "properties": {
                "tone": {"type": "string", "enum": ["warm", "formal", "brief"], "default": "warm"}
            },
            "additionalProperties": False,
        },
    },
]


def catalog_sync(skill_model) -> None:
    """Create or update every catalog skill (by slug)."""
    for entry in CATALOG:
        fields = {k: v for k, v in entry.items() if k != "slug"}
        skill_model.objects.update_or_create(slug=entry["slug"], defaults=fields)
