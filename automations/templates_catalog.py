"""One-click automations for the common cases: the templates gallery lists them and the
builder opens pre-filled from one (`/automations/new/?template=<key>`).

Pure data and one lookup, nothing here reads the database. Each template is a dict:

  key          stable slug used in the URL (`?template=weekly-pipeline-report`)
  title        the card's heading
  description  one or two sentences for the card
  fields       builder field values, the keys of `automations.validation.AutomationSpec`
               except that `skill` is the skill's SLUG (skills/catalog.py), not a Skill row;
               `channels` is a list of the shorthand specs the services accept
               ({"kind": "in_app"}, {"kind": "email", "to": []} = the owner's address);
               `time_zone` is left out so a new automation takes the org's zone
  needs_pro    True when the Free plan refuses it (it fires more than once a day)
  note         extra advice shown on the card, or ""

tests/dashboard/test_automation_list.py checks every template against
`automation_spec_clean` for a Pro org, and the ones without `needs_pro` for a Free org, so a
change to the validation path or the skill catalog that breaks one is caught here."""

from __future__ import annotations

import copy
from typing import Any

TEMPLATES: list[dict[str, Any]] = [
    {
        "key": "weekly-pipeline-report",
        "title": "Weekly pipeline report",
        "description": "Every Monday at 09:00: each open job with its active candidates per "
        "stage and how many are new this week.",
        "needs_pro": False,
        "note": "",
        "fields": {
            "name": "Weekly pipeline report",
            "skill": "pipeline-report",
            "params": {"new_days": 7},
            "trigger_type": "cron",
            "cron_expression": "0 9 * * 1",
            "channels": [{"kind": "in_app"}],
        },
    },
    {
        "key": "daily-sourcing-recap",
        "title": "Daily sourcing recap",
        "description": "Every weekday at 17:00: the candidates sourced today, by source and "
        "by job.",
        "needs_pro": False,
        "note": "",
        "fields": {
            "name": "Daily sourcing recap",
            "skill": "sourcing-recap",
            "params": {"days": 1},
            "trigger_type": "cron",
            "cron_expression": "0 17 * * 1-5",
            "channels": [{"kind": "in_app"}],
        },
    },
    {
        "key": "new-applicant-alert",
        "title": "New applicant alert every 15 minutes",
        "description": "Checks the ATS every 15 minutes and tells you who applied since the "
        "last check.",
        # Polling every 15 minutes fires many times a day: the Free plan runs each
        # automation at most once a day (accounts.plans.check_schedule_frequency).
        "needs_pro": True,
        "note": "Needs the ATS connection's API key for polling.",
        "fields": {
            "name": "New applicant alert",
            "skill": "new-candidate-alert",
            "params": {"lookback_hours": 24},
            "trigger_type": "poll",
            "poll_interval_seconds": 900,
            "channels": [{"kind": "in_app"}],
        },
    },
    {
        "key": "stale-candidate-sla",
        "title": "Stale-candidate SLA",
        "description": "Every weekday at 09:00: active candidates nobody has touched for more "
        "than 14 days.",
        "needs_pro": False,
        "note": "",
        "fields": {
            "name": "Stale candidates (14-day SLA)",
            "skill": "stale-candidates",
            "params": {"days": 14},
            "trigger_type": "cron",
            "cron_expression": "0 9 * * 1-5",
            "channels": [{"kind": "in_app"}],
        },
    },
    {
        "key": "interview-prep-on-stage-change",
        "title": "Interview prep when a candidate reaches Interview",
        "description": "When a candidate moves to the Interview stage: a prep pack for the "
        "panel with the role, the candidate's background, focus areas and questions.",
        "needs_pro": False,
        # interview-prep is an `llm` skill: its runs fail "not available" until the LLM
        # runner ships, but the automation can be set up now.
        "note": "Uses the LLM runner, which is not available yet: runs fail until it is.",
        "fields": {
            "name": "Interview prep",
            "skill": "interview-prep",
            "params": {},
            "trigger_type": "event",
            "event_type": "ats.candidate.stage_changed",
            "event_filter": {"stage.to": "Interview"},
            "channels": [{"kind": "in_app"}],
        },
    },
    {
        "key": "interview-briefing",
        "title": "Briefing 30 minutes before each interview",
        "description": "Thirty minutes before every scheduled interview: who the candidate "
        "is, the role, and what happened so far.",
        "needs_pro": False,
        "note": "Uses the LLM runner, which is not available yet: runs fail until it is.",
        "fields": {
            "name": "Interview briefing",
            "skill": "interview-briefing",
            "params": {},
            "trigger_type": "relative",
            "event_type": "ats.interview.scheduled",
            "offset_minutes": -30,
            "channels": [{"kind": "in_app"}],
        },
    },
    {
        "key": "offer-accepted-alert",
        "title": "Offer accepted: tell the hiring manager",
        "description": "As soon as a candidate accepts an offer, an email to the hiring manager.",
        "needs_pro": False,
        # The hiring manager's address is the org's own data: the template sends to the
        # owner until it is added, rather than shipping a made-up address.
        "note": "Add the hiring manager's email address to the email channel (empty sends "
        "it to you).",
        "fields": {
            "name": "Offer accepted alert",
            "skill": "offer-accepted-alert",
            "params": {"lookback_days": 1},
            "trigger_type": "event",
            "event_type": "ats.offer.accepted",
            "event_filter": {},
            "channels": [{"kind": "email", "to": []}],
        },
    },
]

_BY_KEY = {template["key"]: template for template in TEMPLATES}


def template_get(key: str) -> dict | None:
    """The template with this key (a deep copy: callers may fill it in), or None for an
    unknown or malformed key."""
    if not isinstance(key, str):
        return None
    template = _BY_KEY.get(key)
    return copy.deepcopy(template) if template is not None else None
