"""parse(): plain English -> a Draft or NotUnderstood. Deterministic and offline: the
grammar in this package only (stdlib, cronsim, zoneinfo; no Django), so every surface (the
dashboard, MCP, manage.py parse_automation) gets the same answer for the same words."""

from __future__ import annotations

import re
from collections.abc import Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from automations.plain_english import actions, events, schedule
from automations.plain_english.actions import SkillInfo
from automations.plain_english.draft import Draft, NotUnderstood
from automations.plain_english.times import find_zone
from automations.plain_english.vocabulary import clean

# Words that make an event the trigger even when a schedule word is also there
# ("each time", "every time" are not schedules).
_STRONG_EVENT_CUE = re.compile(
    r"\b(?:when|whenever|as soon as|each time|every time|any ?time|upon|the moment|right after"
    r"|immediately after|for (?:each|every|any) new|on (?:each|every|any) new|once)\b"
)
_MAX_TEXT = 2000


class _Refused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _skill_list(skills: Sequence[SkillInfo]) -> str:
    return ", ".join(f"'{s.name}'" for s in skills)


def parse(
    text: str, *, time_zone: str, skills: Sequence[SkillInfo] | None = None
) -> Draft | NotUnderstood:
    """The automation `text` describes. `time_zone` (IANA) is used unless the text names
    one; `skills` defaults to the catalog. Raises ValueError only for a bad `time_zone`."""
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"{time_zone!r} is not a known time zone") from None
    skills = tuple(skills) if skills is not None else actions.catalog_skills()
    if not isinstance(text, str) or not text.strip():
        return NotUnderstood("Say what should happen and when, for example one of these.")
    if len(text) > _MAX_TEXT:
        return NotUnderstood(
            f"That is too long to read as one automation (at most {_MAX_TEXT} characters)."
        )
    cleaned = clean(text)
    t = cleaned.text
    notes: list[str] = []
    questions: list[str] = []
    understood: list[str] = []
    refusal: str | None = None

    zone = find_zone(t, cleaned.zone_names)
    zone_name = zone.name or time_zone

    # What to run and where to: read first, so a refusal can still say what was understood.
    skill = actions.find_skill(t, skills)
    try:
        channel, channel_notes = actions.find_channel(
            t, urls=cleaned.urls, emails=cleaned.emails, slack_channels=cleaned.slack_channels
        )
        notes.extend(channel_notes)
    except actions.ChannelRefused as exc:
        refusal, channel = str(exc), None

    trigger: dict | None = None
    trigger_words = ""
    try:
        trigger, trigger_words, default_skill = _trigger(t, zone_name, notes, questions)
    except _Refused as exc:
        refusal = refusal or exc.message
        default_skill = None
    if trigger is not None and trigger["type"] == "cron" and zone.unknown:
        questions.append(
            f"I do not know the time zone '{zone.unknown.title()}': the draft uses {zone_name}. "
            "Which zone? (a city or an IANA name such as Europe/Madrid)"
        )
    if trigger is not None:
        understood.append(f"Trigger: {trigger_words}")

    if skill is None and default_skill:
        skill = next((s for s in skills if s.slug == default_skill), None)
        if skill is not None:
            notes.append(f"No skill named: '{skill.name}' suits this trigger.")
    params: dict = {}
    if skill is not None:
        try:
            params, param_notes = actions.find_params(t, skill)
            notes.extend(param_notes)
        except actions.ParamRefused as exc:
            refusal = refusal or str(exc)
        understood.append(f"Action: {_action_words(skill, params)}")
    if channel is not None and (channel.config or channel.kind != "email"):
        understood.append(f"Output: {channel.words}")

    if refusal:
        return NotUnderstood(refusal, tuple(understood))
    if trigger is None and skill is None:
        return NotUnderstood(
            "I could not tell when this should run or what it should do. Say when (a schedule, "
            "an ATS event, or a time before or after interviews) and what to send.",
            tuple(understood),
        )
    if trigger is None:
        return NotUnderstood(
            "When should it run? Say a schedule (every Monday at 9am), an ATS event (when a "
            "candidate moves to Onsite) or a time relative to interviews (30 minutes before each "
            "interview).",
            tuple(understood),
        )
    if skill is None:
        return NotUnderstood(
            f"What should it run? The skills are {_skill_list(skills)}.", tuple(understood)
        )
    if cleaned.corrections:
        fixed = ", ".join(f"'{a}' as '{b}'" for a, b in dict(cleaned.corrections).items())
        notes.insert(0, f"Read {fixed}.")
    assert channel is not None
    return Draft(
        trigger=trigger,
        skill=skill.slug,
        params=params,
        channel=channel.kind,
        channel_config=channel.config,
        trigger_words=trigger_words,
        action_words=_action_words(skill, params),
        output_words=channel.words,
        notes=tuple(dict.fromkeys(notes)),
        questions=tuple(dict.fromkeys(questions)),
    )


def _action_words(skill: SkillInfo, params: dict) -> str:
    if not params:
        return f"Run '{skill.name}'"
    shown = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in params.items())
    return f"Run '{skill.name}' ({shown})"


def _trigger(
    t: str, zone_name: str, notes: list[str], questions: list[str]
) -> tuple[dict | None, str, str | None]:
    """(trigger JSON, its words, the default skill for it) or (None, "", None)."""
    try:
        relative = events.find_relative(t)
    except events.RelativeRefused as exc:
        raise _Refused(str(exc)) from None
    if relative is not None and relative.question and events.find_event(t) is not None:
        relative = None  # "when X happens, ... before the interview": the event is the trigger
    if relative is not None and relative.question:
        questions.append(relative.question)
    if relative is not None:
        default = "interview-briefing" if relative.offset_minutes < 0 else "interview-followup"
        trigger = {
            "type": "relative",
            "event": events.INTERVIEW_SCHEDULED,
            "offset_minutes": relative.offset_minutes,
        }
        return trigger, relative.words, default
    try:
        poll = events.find_poll(t)
    except events.PollRefused as exc:
        raise _Refused(str(exc)) from None
    if poll is not None:
        return {"type": "poll", "every_minutes": poll.every_minutes}, poll.words, None
    event = events.find_event(t)
    scheduled = schedule.has_schedule(t)
    if event is not None and (not scheduled or _STRONG_EVENT_CUE.search(t)):
        trigger = {"type": "event", "event": event.event, "filter": event.filter}
        default = actions.EVENT_DEFAULT_SKILL.get(event.event, actions.OTHER_EVENT_DEFAULT_SKILL)
        return trigger, event.words, default
    if not scheduled:
        return None, "", None
    try:
        found = schedule.parse_schedule(t, zone_words=f"({zone_name})")
    except schedule.ScheduleRefused as exc:
        raise _Refused(str(exc)) from None
    assert found is not None
    notes.extend(found.notes)
    questions.extend(found.questions)
    return {"type": "cron", "cron": found.cron, "timezone": zone_name}, found.words, None
